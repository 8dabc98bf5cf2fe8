"""Kiro, every kind its CLI reads under `.kiro/`: agents `agents/<id>.json` (JSON, the body
is `prompt`), steering (rules) `steering/<id>.md` with `inclusion` and `fileMatchPattern`,
prompts (commands) `prompts/<id>.md` as plain Markdown, and skills `skills/<id>/SKILL.md`.

Kiro reads agents from the top of `.kiro/agents/` only, so a nested agent id is written
flat, as Gemini's are: `review/security` becomes `agents/review_security.json`, named
`review_security`. Kiro has no offline client: its files are checked against the
documented fields only. An
agent's JSON is written with its keys in the order of `KIRO_AGENT_FIELDS` and two-space
indent, so the same sources always give the same bytes. Keys Kiro does not document are
left out and reported as lossy; so are tools without a Kiro equivalent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from promptbundle.core.diagnostics import Diagnostic
from promptbundle.core.model import OutputFile
from promptbundle.formats.base import Format, Mapped
from promptbundle.formats.layouts import JSON, Unparsable
from promptbundle.render.environment import RenderedPrompt

__all__ = ["KIRO_AGENT_FIELDS", "KIRO_MODELS", "KIRO_TOOLS", "KiroFormat"]

BODY_KEY = "prompt"
KIRO_AGENT_FIELDS = (
    "name",
    "description",
    BODY_KEY,
    "mcpServers",
    "tools",
    "toolAliases",
    "allowedTools",
    "toolsSettings",
    "resources",
    "hooks",
    "includeMcpJson",
    "model",
    "keyboardShortcut",
    "welcomeMessage",
)
# Canonical (Claude Code) tool names and the Kiro CLI built-in tool for each.
KIRO_TOOLS = {
    "Read": "fs_read",
    "LS": "fs_read",
    "Write": "fs_write",
    "Edit": "fs_write",
    "MultiEdit": "fs_write",
    "Bash": "execute_bash",
    "Grep": "grep",
    "Glob": "glob",
    "WebFetch": "web_fetch",
    "WebSearch": "web_search",
}
KIRO_MODELS = {
    "opus": "claude-opus-4.1",
    "sonnet": "claude-sonnet-4",
    "haiku": "claude-haiku-4.5",
    "inherit": "",
}
# A nested agent id's `/`, in the flat file name and name Kiro reads (ids never hold `_`).
NESTED_JOINER = "_"
# The `tools` entry that gives an agent every tool.
EVERY_TOOL = "*"
# Steering `inclusion` modes and the field each needs.
INCLUSION_NEEDS = {"fileMatch": "fileMatchPattern", "auto": "description"}


class KiroFormat(Format):
    name = "kiro"
    description = "Kiro: JSON agents, steering, prompts and skills (.kiro/)"
    kinds = frozenset({"agent", "command", "skill", "rule"})
    fields = KIRO_AGENT_FIELDS
    kind_fields: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "command": (),  # prompts are plain Markdown
        "skill": ("name", "description"),
        "rule": ("name", "description", "inclusion", "fileMatchPattern"),
    }
    keep_unknown = False
    default_models: ClassVar[Mapping[str, str]] = KIRO_MODELS
    native_tools: ClassVar[Mapping[str, str]] = KIRO_TOOLS
    install_prefix = ".kiro"
    default_target = False
    detect_order = 58
    checked_by = "schemas and checks only (Kiro has no offline client)"
    project_files: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("agent", ".kiro/agents", ".json"),
        ("command", ".kiro/prompts", ".md"),
        ("rule", ".kiro/steering", ".md"),
        ("skill", ".kiro/skills", "/SKILL.md"),
    )

    def agent_path(self, agent_id: str) -> str:
        return f"agents/{agent_id.replace('/', NESTED_JOINER)}.json"

    def command_path(self, command_id: str) -> str:
        return f"prompts/{command_id}.md"

    def skill_path(self, skill_id: str) -> str:
        return f"skills/{skill_id}/SKILL.md"

    def rule_path(self, rule_id: str) -> str:
        return f"steering/{rule_id}.md"

    def map_tools(self, tools: Sequence[str]) -> Any:
        """A JSON list of Kiro tool names (each once)."""
        return self.native_tool_list(tools)

    def map_fields(self, rendered: RenderedPrompt) -> Mapped:
        mapped = super().map_fields(rendered)
        prompt = rendered.prompt
        kind = self.built_kind(prompt)
        if kind != "agent":
            return mapped
        if BODY_KEY in mapped.fields:
            reason = "the agent's body is its prompt"
            mapped.lossy.append(self.lossy(prompt.label, BODY_KEY, reason))
        if "/" in prompt.id and mapped.fields.get("name") == prompt.id.rsplit("/", 1)[-1]:
            mapped.fields["name"] = prompt.id.replace("/", NESTED_JOINER)
        values = {**mapped.fields, BODY_KEY: rendered.body}
        if prompt.tools is None and prompt.imported.get("format") != self.name:
            values.setdefault("tools", [EVERY_TOOL])  # no list: every tool, as in Claude Code
        mapped.fields = {k: values[k] for k in KIRO_AGENT_FIELDS if k in values}
        mapped.lossy += self.unmapped_tools(prompt, "Kiro")
        return mapped

    def render_file(self, fields: Mapping[str, Any], body: str) -> str:
        """Agents (the only files with a `prompt`) are JSON; the rest YAML frontmatter."""
        if BODY_KEY in fields:
            return JSON.write(fields, body)
        return super().render_file(fields, body)

    def read(self, output: OutputFile) -> tuple[dict[str, Any], str, int]:
        fields, body, line = super().read(output)
        if output.path.endswith(".json") and isinstance(fields.get(BODY_KEY), str):
            body = fields[BODY_KEY]
        return fields, body, line

    def schema_name(self, output: OutputFile) -> str:
        return self.schema_of(output.kind or "agent")

    def checks(self, output: OutputFile, fields: Mapping[str, Any]) -> list[Diagnostic]:
        """A steering file's `inclusion` mode needs its field: `fileMatch` a
        `fileMatchPattern`, `auto` a `description`."""
        if output.kind != "rule":
            return []
        mode = fields.get("inclusion")
        needed = INCLUSION_NEEDS.get(mode) if isinstance(mode, str) else None
        if needed is None or needed in fields:
            return []
        message = f"steering with 'inclusion: {mode}' needs '{needed}'"
        return [self.diagnostic(output, "error", "PB101", message, "inclusion")]

    @classmethod
    def claims_name(cls, path: Path) -> bool:
        return path.suffix.lower() == ".json" and "agents" in {p.lower() for p in path.parts}

    @classmethod
    def read_structured(cls, path: Path, text: str) -> tuple[dict[str, Any], str] | None:
        if path.suffix.lower() != ".json":
            return None
        fields, _, _ = JSON.read(text)
        body = fields.pop(BODY_KEY, "")
        if not isinstance(body, str):
            raise Unparsable(f"'{BODY_KEY}' must be a string", 1)
        return fields, body

    @classmethod
    def claims(cls, path: Path, meta: Mapping[str, Any]) -> bool:
        return ".kiro" in {part.lower() for part in path.parts[:-1]}

    @classmethod
    def kind_of_file(cls, path: Path) -> str | None:
        parts = [part.lower() for part in path.parts[:-1]]
        if "steering" in parts:
            return "rule"
        if "prompts" in parts:
            return "command"
        if path.name.lower() == "skill.md":
            return "skill"
        return "agent"
