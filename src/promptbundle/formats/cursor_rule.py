"""Cursor project rules: `.cursor/rules/<id>.mdc` with description, globs and alwaysApply."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from promptbundle.formats.base import Format, Mapped
from promptbundle.render.environment import RenderedPrompt

__all__ = ["CursorRuleFormat"]


class CursorRuleFormat(Format):
    name = "cursor-rule"
    description = "Cursor project rule (.cursor/rules/<id>.mdc)"
    kinds = frozenset({"rule"})
    convertible = frozenset({"agent"})
    kind_fields: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "rule": ("description", "globs", "alwaysApply")
    }
    keep_unknown = False
    install_prefix = ".cursor"
    default_target = False
    detect_order = 30

    @classmethod
    def claims_name(cls, path: Path) -> bool:
        return path.name.lower().endswith(".mdc")

    @classmethod
    def claims(cls, path: Path, meta: Mapping[str, Any]) -> bool:
        parts = {part.lower() for part in path.parts[:-1]}
        return "globs" in meta or "alwaysApply" in meta or {".cursor", "rules"} <= parts

    def rule_path(self, rule_id: str) -> str:
        return f"rules/{rule_id}.mdc"

    def map_fields(self, rendered: RenderedPrompt) -> Mapped:
        """The file name is the rule's name, so dropping `name` loses nothing."""
        mapped = super().map_fields(rendered)
        mapped.lossy = [item for item in mapped.lossy if item.field != "name"]
        return mapped
