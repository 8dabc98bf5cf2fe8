"""The canonical tool names a prompt's `tools` list may use: Claude Code's, which every
format maps from (formats/*.py `native_tools`), plus MCP tools and a bundle's own."""

from __future__ import annotations

import re
from collections.abc import Iterable

from promptbundle.core.suggest import did_you_mean

__all__ = ["CANONICAL_TOOLS", "unknown_tool"]

CANONICAL_TOOLS = frozenset(
    {
        "Agent",
        "AskUserQuestion",
        "Bash",
        "BashOutput",
        "Edit",
        "ExitPlanMode",
        "Glob",
        "Grep",
        "KillShell",
        "LS",
        "ListMcpResourcesTool",
        "MultiEdit",
        "NotebookEdit",
        "NotebookRead",
        "Read",
        "ReadMcpResourceTool",
        "SlashCommand",
        "Skill",
        "Task",
        "TodoRead",
        "TodoWrite",
        "WebFetch",
        "WebSearch",
        "Write",
    }
)
# `Bash(git diff:*)`: a tool limited to some uses; the name before the parenthesis counts.
_SCOPED = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9_]*)\(.*\)$", re.DOTALL)


def unknown_tool(name: str, extra: Iterable[str] = ()) -> str | None:
    """Why `name` is not a tool a prompt may list (None when it is one).

    Known: a canonical tool, one scoped like `Bash(git:*)`, an MCP tool (`mcp__server__tool`)
    and the names in `extra` (the bundle's `tools` and its targets' `[tools]` tables)."""
    known = CANONICAL_TOOLS | set(extra)
    scoped = _SCOPED.match(name)
    if name in known or name.startswith("mcp__") or (scoped and scoped["name"] in known):
        return None
    return (
        f"unknown tool {name!r}{did_you_mean(name, known)}: not a Claude Code tool name, an MCP"
        " tool (mcp__server__tool), or a name in the bundle's `tools` list (promptbundle.toml)"
    )
