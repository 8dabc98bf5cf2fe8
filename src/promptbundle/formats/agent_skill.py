"""Agent Skills (agentskills.io): `<id>/SKILL.md` with a small, strict frontmatter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from promptbundle.formats.base import Format


class AgentSkillFormat(Format):
    name = "agent-skill"
    description = "Agent Skill folder (<id>/SKILL.md, agentskills.io)"
    fields = ("name", "description", "license", "compatibility", "metadata", "allowed-tools")
    keep_unknown = False
    tools_field = "allowed-tools"
    install_prefix = ".claude/skills"

    def agent_path(self, agent_id: str) -> str:
        return f"{agent_id}/SKILL.md"

    def map_tools(self, tools: Sequence[str]) -> Any:
        return " ".join(self.target.tools.get(t, t) for t in tools)
