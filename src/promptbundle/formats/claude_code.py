"""Claude Code subagents: `.claude/agents/<id>.md` with YAML frontmatter."""

from __future__ import annotations

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

    def agent_path(self, agent_id: str) -> str:
        return f"agents/{agent_id}.md"
