"""GitHub Copilot prompt files: `.github/prompts/<id>.prompt.md` with YAML frontmatter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from promptbundle.formats.base import Format

__all__ = ["CopilotPromptFormat"]


class CopilotPromptFormat(Format):
    name = "copilot-prompt"
    description = "GitHub Copilot prompt file (.github/prompts/<id>.prompt.md)"
    fields = ("name", "description", "argument-hint", "agent", "mode", "model", "tools", "applyTo")
    install_prefix = ".github"
    default_target = False
    detect_order = 40

    @classmethod
    def claims_name(cls, path: Path) -> bool:
        return path.name.lower().endswith((".prompt.md", ".instructions.md"))

    @classmethod
    def claims(cls, path: Path, meta: Mapping[str, Any]) -> bool:
        return "applyTo" in meta

    def agent_path(self, agent_id: str) -> str:
        return f"prompts/{agent_id}.prompt.md"

    def map_tools(self, tools: Sequence[str]) -> Any:
        """Copilot takes a YAML list of tool names."""
        return [self.target.tools.get(t, t) for t in tools if self.target.tools.get(t, t)]
