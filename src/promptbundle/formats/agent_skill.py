"""Prompt Skills (agentskills.io): `<id>/SKILL.md` with a small, strict frontmatter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from promptbundle.core.diagnostics import Diagnostic
from promptbundle.core.model import OutputFile
from promptbundle.formats.base import Format


class AgentSkillFormat(Format):
    name = "agent-skill"
    description = "Prompt Skill folder (<id>/SKILL.md, agentskills.io)"
    fields = ("name", "description", "license", "compatibility", "metadata", "allowed-tools")
    keep_unknown = False
    tools_field = "allowed-tools"
    kinds = frozenset({"skill"})
    convertible = frozenset({"agent"})
    kind_fields: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "skill": ("name", "description", "license", "compatibility", "metadata", "allowed-tools")
    }
    # Where every Agent Skills reader looks (Codex, Gemini CLI, Copilot); Claude Code's own
    # .claude/skills/ is the claude-code target's.
    install_prefix = ".agents/skills"
    user_install_prefix = ".agents/skills"
    strict_yaml = True
    detect_order = 20
    checked_by = "skills-ref 0.1.1 in `make conformance` (`agentskills validate`)"

    def skill_path(self, skill_id: str) -> str:
        return f"{skill_id}/SKILL.md"

    def map_tools(self, tools: Sequence[str]) -> Any:
        return " ".join(self.target.tools.get(t, t) for t in tools)

    def checks(self, output: OutputFile, fields: Mapping[str, Any]) -> list[Diagnostic]:
        if output.kind != "skill":
            return []
        folder = PurePosixPath(output.path).parent.name
        if fields.get("name") == folder:
            return []
        message = f"skill name {fields.get('name')!r} must equal its folder name {folder!r}"
        return [self.diagnostic(output, "error", "PB120", message, "name")]

    @classmethod
    def claims(cls, path: Path, meta: Mapping[str, Any]) -> bool:
        return path.name.lower().endswith("skill.md")
