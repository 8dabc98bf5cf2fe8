"""GitHub Copilot prompt files: `.github/prompts/<id>.prompt.md` with YAML frontmatter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from promptbundle.formats.base import Format

__all__ = ["CopilotPromptFormat"]


class CopilotPromptFormat(Format):
    name = "copilot-prompt"
    description = "GitHub Copilot prompt file (.github/prompts/<id>.prompt.md)"
    kinds = frozenset({"command"})
    convertible = frozenset({"agent"})
    kind_fields: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "command": ("name", "description", "argument-hint", "agent", "mode", "model", "tools")
    }
    install_prefix = ".github"
    default_target = False
    detect_order = 40

    @classmethod
    def claims_name(cls, path: Path) -> bool:
        return path.name.lower().endswith(".prompt.md")

    def command_path(self, command_id: str) -> str:
        return f"prompts/{command_id}.prompt.md"

    def map_tools(self, tools: Sequence[str]) -> Any:
        """Copilot takes a YAML list of tool names."""
        return [self.target.tools.get(t, t) for t in tools if self.target.tools.get(t, t)]
