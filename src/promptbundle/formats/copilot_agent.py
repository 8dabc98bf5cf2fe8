"""GitHub Copilot custom agents: `.github/agents/<id>.agent.md` with YAML frontmatter."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from promptbundle.formats.base import Format

__all__ = ["COPILOT_AGENT_BODY_LIMIT", "CopilotAgentFormat"]

# GitHub documents a 30,000 character limit on a custom agent's prompt (the body).
COPILOT_AGENT_BODY_LIMIT = 30_000


class CopilotAgentFormat(Format):
    name = "copilot-agent"
    description = "GitHub Copilot custom agent (.github/agents/<id>.agent.md)"
    fields = (
        "name",
        "description",
        "target",
        "tools",
        "model",
        "argument-hint",
        "handoffs",
        "mcp-servers",
        "infer",
    )
    install_prefix = ".github"
    default_target = False
    body_limit: ClassVar[int | None] = COPILOT_AGENT_BODY_LIMIT

    @classmethod
    def claims_name(cls, path: Path) -> bool:
        return path.name.lower().endswith((".agent.md", ".chatmode.md"))

    def agent_path(self, agent_id: str) -> str:
        return f"agents/{agent_id}.agent.md"

    def map_tools(self, tools: Sequence[str]) -> Any:
        """Copilot takes a YAML list of tool names."""
        return [self.target.tools.get(t, t) for t in tools if self.target.tools.get(t, t)]
