"""opencode agents: `.opencode/agent/<id>.md`; unknown keys are stripped (opencode would
forward them to the model provider as options)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from promptbundle.core.diagnostics import Diagnostic
from promptbundle.core.model import PROJECT_FOLDER, OutputFile, Prompt
from promptbundle.formats.base import Format, Mapped
from promptbundle.render.environment import RenderedPrompt

OPENCODE_FIELDS = (
    "name",
    "description",
    "mode",
    "model",
    "temperature",
    "top_p",
    "tools",
    "permission",
    "steps",
    "maxSteps",
    "disable",
    "hidden",
    "color",
)

# Canonical (Claude Code) tool names and the opencode tool each enables.
OPENCODE_TOOLS = {
    "Read": "read",
    "Write": "write",
    "Edit": "edit",
    "MultiEdit": "edit",
    "Bash": "bash",
    "Grep": "grep",
    "Glob": "glob",
    "LS": "list",
    "WebFetch": "webfetch",
    "WebSearch": "websearch",
    "TodoWrite": "todowrite",
    "TodoRead": "todoread",
    "Task": "task",
    "Skill": "skill",
}
_ALL_NATIVE = sorted(set(OPENCODE_TOOLS.values()))
# The rule that is the project's AGENTS.md.
AGENTS_MD_RULE = "AGENTS"
# Frontmatter keys only opencode agents have.
_OPENCODE_KEYS = frozenset({"mode", "temperature", "top_p", "permission", "steps", "maxSteps"})


class OpencodeFormat(Format):
    name = "opencode"
    description = "opencode agent (.opencode/agent/<id>.md)"
    fields = OPENCODE_FIELDS
    keep_unknown = False
    install_prefix = ".opencode"
    kinds = frozenset({"agent", "command", "skill", "rule"})
    kind_fields: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "command": ("description", "agent", "model", "subtask"),
        "skill": ("name", "description", "license", "compatibility", "metadata"),
        "rule": (),
    }
    detect_order = 60
    default_models: ClassVar[Mapping[str, str]] = {
        "opus": "anthropic/claude-opus-4-1",
        "sonnet": "anthropic/claude-sonnet-4-5",
        "haiku": "anthropic/claude-haiku-4-5",
        "inherit": "",
    }

    def agent_path(self, agent_id: str) -> str:
        return f"agent/{agent_id}.md"

    def command_path(self, command_id: str) -> str:
        return f"command/{command_id}.md"

    def skill_path(self, skill_id: str) -> str:
        return f"skill/{skill_id}/SKILL.md"

    def rule_path(self, rule_id: str) -> str:
        return f"{PROJECT_FOLDER}/{rule_id}.md"

    def carries(self, prompt: Prompt) -> bool:
        """opencode reads one rule file, the project's AGENTS.md (the rule `AGENTS`); a rule
        imported from an opencode project is written back where it came from."""
        if prompt.kind == "rule":
            return prompt.id == AGENTS_MD_RULE or bool(prompt.imported.get("format") == self.name)
        return super().carries(prompt)

    def map_tools(self, tools: Sequence[str]) -> Any:
        """A map of every opencode tool to whether the agent may use it."""
        allowed = {self.target.tools.get(t) or OPENCODE_TOOLS.get(t) or t.lower() for t in tools}
        return {tool: tool in allowed for tool in sorted(set(_ALL_NATIVE) | allowed)}

    def map_fields(self, rendered: RenderedPrompt) -> Mapped:
        mapped = super().map_fields(rendered)
        prompt = rendered.prompt
        if self.built_kind(prompt) != "agent":
            return mapped
        # The file name is the agent's name in opencode; keep `name` only when set on purpose.
        if "name" not in prompt.blocks.get(self.target.name, prompt.blocks.get(self.name, {})):
            mapped.fields.pop("name", None)
        unknown = [
            t for t in prompt.tools or () if t not in OPENCODE_TOOLS and t not in self.target.tools
        ]
        for tool in unknown:
            mapped.lossy.append(self.lossy(prompt.label, f"tools.{tool}", "no opencode equivalent"))
        return mapped

    def checks(self, output: OutputFile, fields: Mapping[str, Any]) -> list[Diagnostic]:
        if output.kind != "agent":
            return []
        stem = PurePosixPath(output.path).stem
        if "name" not in fields or fields["name"] == stem:
            return []
        message = (
            f"opencode knows this agent as {fields['name']!r}, not by its file name "
            f"{stem!r} (leave 'name' out of the opencode block or make it equal)"
        )
        return [self.diagnostic(output, "warning", "PB123", message, "name")]

    @classmethod
    def claims(cls, path: Path, meta: Mapping[str, Any]) -> bool:
        parts = {part.lower() for part in path.parts[:-1]}
        return (
            ".opencode" in parts
            or bool(_OPENCODE_KEYS & set(meta))
            or isinstance(meta.get("tools"), dict)
        )
