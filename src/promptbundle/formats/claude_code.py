"""Claude Code subagents: `.claude/agents/<id>.md` with YAML frontmatter."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from promptbundle.formats.base import Format

CLAUDE_AGENT_FIELDS = (
    "name",
    "description",
    "tools",
    "disallowedTools",
    "model",
    "permissionMode",
    "maxTurns",
    "skills",
    "mcpServers",
    "hooks",
    "memory",
    "background",
    "effort",
    "isolation",
    "color",
)


class ClaudeCodeFormat(Format):
    name = "claude-code"
    description = "Claude Code subagent (.claude/agents/<id>.md)"
    fields = CLAUDE_AGENT_FIELDS
    install_prefix = ".claude"
    detect_order = 80

    def agent_path(self, agent_id: str) -> str:
        return f"agents/{agent_id}.md"

    @classmethod
    def claims(cls, path: Path, meta: Mapping[str, Any]) -> bool:
        return "name" in meta and "description" in meta
