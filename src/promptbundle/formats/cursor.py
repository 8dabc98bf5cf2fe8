"""Cursor, every kind it reads under `.cursor/`: agents `agents/<id>.md`, commands
`commands/<id>.md`, skills `skills/<id>/SKILL.md` and project rules `rules/<id>.mdc`
(`description`, `globs`, `alwaysApply`).

Cursor has no offline client: its files are checked against the documented fields only, and
keys it does not document are left out and reported as lossy. A rule's file name is its
name, so dropping a rule's `name` loses nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from promptbundle.formats.base import Format, Mapped
from promptbundle.render.environment import RenderedPrompt

__all__ = ["CURSOR_MODELS", "CursorFormat"]

# Cursor's agent `model`: `inherit` (the chat's model), `fast`, or a model id Cursor offers.
CURSOR_MODELS = {"opus": "", "sonnet": "", "haiku": "fast", "inherit": "inherit"}
_RULE_SUFFIX = ".mdc"
# Canonical tools that change files or run commands: an agent with none of them is readonly.
WRITING_TOOLS = frozenset({"Write", "Edit", "MultiEdit", "NotebookEdit", "Bash"})


class CursorFormat(Format):
    name = "cursor"
    description = "Cursor: agents, commands, skills and rules (.cursor/)"
    kinds = frozenset({"agent", "command", "skill", "rule"})
    fields = ("name", "description", "model", "readonly", "is_background")
    kind_fields: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "command": ("description",),
        "skill": ("name", "description"),
        "rule": ("description", "globs", "alwaysApply"),
    }
    keep_unknown = False
    default_models: ClassVar[Mapping[str, str]] = CURSOR_MODELS
    install_prefix = ".cursor"
    default_target = False
    detect_order = 30
    checked_by = "schemas and checks only (Cursor has no offline client)"
    project_files: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("agent", ".cursor/agents", ".md"),
        ("command", ".cursor/commands", ".md"),
        ("rule", ".cursor/rules", _RULE_SUFFIX),
        ("skill", ".cursor/skills", "/SKILL.md"),
    )

    def agent_path(self, agent_id: str) -> str:
        return f"agents/{agent_id}.md"

    def command_path(self, command_id: str) -> str:
        return f"commands/{command_id}.md"

    def skill_path(self, skill_id: str) -> str:
        return f"skills/{skill_id}/SKILL.md"

    def rule_path(self, rule_id: str) -> str:
        return f"rules/{rule_id}{_RULE_SUFFIX}"

    def canonical_values(self, rendered: RenderedPrompt, kind: str) -> dict[str, Any]:
        """An agent takes no tool list: one whose tools neither edit nor run commands is
        `readonly`."""
        values = super().canonical_values(rendered, kind)
        tools = rendered.prompt.tools
        if kind == "agent" and tools is not None:
            values.pop(self.tools_field, None)
            if not WRITING_TOOLS & set(tools):
                values["readonly"] = True
        return values

    def map_fields(self, rendered: RenderedPrompt) -> Mapped:
        mapped = super().map_fields(rendered)
        prompt = rendered.prompt
        kind = self.built_kind(prompt)
        if kind == "rule":
            mapped.lossy = [item for item in mapped.lossy if item.field != "name"]
        if kind != "agent":
            return mapped
        if prompt.model is not None and self.model_id(prompt.model) is None:
            reason = f"Cursor has no model for the tier {prompt.model!r} (its agents inherit)"
            mapped.lossy.append(self.lossy(prompt.label, "model", reason))
        if prompt.tools is not None:
            reason = "Cursor agents take no tool list (readonly when none edits or runs commands)"
            mapped.lossy.append(self.lossy(prompt.label, "tools", reason))
        return mapped

    @classmethod
    def claims_name(cls, path: Path) -> bool:
        return path.name.lower().endswith(_RULE_SUFFIX)

    @classmethod
    def claims(cls, path: Path, meta: Mapping[str, Any]) -> bool:
        parts = {part.lower() for part in path.parts[:-1]}
        return "globs" in meta or "alwaysApply" in meta or ".cursor" in parts

    @classmethod
    def kind_of_file(cls, path: Path) -> str | None:
        parts = [part.lower() for part in path.parts[:-1]]
        if path.name.lower().endswith(_RULE_SUFFIX) or "rules" in parts:
            return "rule"
        if path.name.lower() == "skill.md":
            return "skill"
        if "commands" in parts:
            return "command"
        return "agent"
