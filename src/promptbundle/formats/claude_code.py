"""Claude Code subagents: `.claude/agents/<id>.md` with YAML frontmatter."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from promptbundle.core.model import PROJECT_FOLDER
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


CLAUDE_COMMAND_FIELDS = (
    "description",
    "argument-hint",
    "allowed-tools",
    "model",
    "disable-model-invocation",
)
CLAUDE_SKILL_FIELDS = (
    "name",
    "description",
    "license",
    "compatibility",
    "metadata",
    "allowed-tools",
    "model",
    "disable-model-invocation",
    "user-invocable",
    "context",
    "agent",
)
CLAUDE_RULE_FIELDS = ("paths",)
CLAUDE_KIND_FIELDS = {
    "command": CLAUDE_COMMAND_FIELDS,
    "skill": CLAUDE_SKILL_FIELDS,
    "rule": CLAUDE_RULE_FIELDS,
}
# The rule that is the project's CLAUDE.md (every other rule goes to .claude/rules/).
CLAUDE_MD_RULE = "CLAUDE"


class ClaudeCodeFormat(Format):
    name = "claude-code"
    description = "Claude Code: subagents, slash commands, skills and rules (.claude/)"
    kinds = frozenset({"agent", "command", "skill", "rule"})
    fields = CLAUDE_AGENT_FIELDS
    kind_fields = CLAUDE_KIND_FIELDS
    kind_tools_fields: ClassVar[Mapping[str, str]] = {
        "command": "allowed-tools",
        "skill": "allowed-tools",
    }
    install_prefix = ".claude"
    user_install_prefix = ".claude"
    detect_order = 80
    checked_by = "Claude Code 2.1.330 in `make conformance` (agents)"

    def agent_path(self, agent_id: str) -> str:
        return f"agents/{agent_id}.md"

    def command_path(self, command_id: str) -> str:
        return f"commands/{command_id}.md"

    def skill_path(self, skill_id: str) -> str:
        return f"skills/{skill_id}/SKILL.md"

    def rule_path(self, rule_id: str) -> str:
        if rule_id == CLAUDE_MD_RULE:
            return f"{PROJECT_FOLDER}/CLAUDE.md"
        return f"rules/{rule_id}.md"

    @classmethod
    def claims(cls, path: Path, meta: Mapping[str, Any]) -> bool:
        return "name" in meta and "description" in meta
