"""Cursor project rules: `.cursor/rules/<id>.mdc` with description, globs and alwaysApply."""

from __future__ import annotations

from promptbundle.formats.base import Format, Mapped
from promptbundle.render.environment import RenderedAgent

__all__ = ["CursorRuleFormat"]


class CursorRuleFormat(Format):
    name = "cursor-rule"
    description = "Cursor project rule (.cursor/rules/<id>.mdc)"
    fields = ("description", "globs", "alwaysApply")
    keep_unknown = False
    install_prefix = ".cursor"
    default_target = False

    def agent_path(self, agent_id: str) -> str:
        return f"rules/{agent_id}.mdc"

    def map_fields(self, rendered: RenderedAgent) -> Mapped:
        """The file name is the rule's name, so dropping `name` loses nothing."""
        mapped = super().map_fields(rendered)
        mapped.lossy = [item for item in mapped.lossy if item.field != "name"]
        return mapped
