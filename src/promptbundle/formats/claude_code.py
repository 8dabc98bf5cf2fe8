"""Claude Code subagents: `.claude/agents/<id>.md` with YAML frontmatter."""

from __future__ import annotations

from promptbundle.errors import Location
from promptbundle.formats.base import NAME_RULE, Diagnostic, Format, OutputFile, frontmatter_of

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

    def validate(self, output: OutputFile) -> list[Diagnostic]:
        fields = frontmatter_of(output)
        where = Location(output.path, 2, 1)
        problems = []
        name = fields.get("name")
        if not isinstance(name, str) or not NAME_RULE.match(name):
            problems.append(
                Diagnostic(
                    "error",
                    "PB101",
                    f"agent name {name!r} must be lowercase letters, digits and hyphens",
                    where,
                )
            )
        if not isinstance(fields.get("description"), str) or not fields["description"].strip():
            problems.append(Diagnostic("error", "PB102", "agent description is required", where))
        return problems
