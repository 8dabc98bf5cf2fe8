"""Cline: agents `.cline/agents/<id>.yaml`, skills `.cline/skills/<id>/SKILL.md`, and at the
project's root workflows (commands) `.clinerules/workflows/<id>.md` and rules
`.clinerules/<id>.md`.

Cline reads agents from the top of `.cline/agents/` only, and only files named `.yaml` or
`.yml` (its loader skips `.md` files without a word); an agent file is still YAML frontmatter
and a Markdown body (the system prompt). A nested agent id is written flat, as Gemini's are:
`review/security` becomes `agents/review_security.yaml`, named `review_security` (ids never
hold `_`). Cline drops frontmatter keys it does not know, so
they are left out and reported as lossy; the canonical model becomes `modelId`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from promptbundle.core.diagnostics import Diagnostic
from promptbundle.core.model import PROJECT_FOLDER, OutputFile
from promptbundle.formats.base import Format, Mapped
from promptbundle.render.environment import RenderedPrompt

__all__ = ["CLINE_AGENT_FIELDS", "CLINE_MODELS", "CLINE_TOOLS", "ClineFormat"]

CLINE_AGENT_FIELDS = (
    "name",
    "description",
    "tools",
    "skills",
    "providerId",
    "modelId",
    "maxIterations",
)
# Canonical (Claude Code) tool names and the Cline tool each enables.
CLINE_TOOLS = {
    "Read": "read_file",
    "Write": "write_to_file",
    "Edit": "replace_in_file",
    "MultiEdit": "replace_in_file",
    "Bash": "execute_command",
    "Grep": "search_files",
    "Glob": "list_files",
    "LS": "list_files",
    "WebFetch": "web_fetch",
}
CLINE_MODELS = {
    "opus": "claude-opus-4-1",
    "sonnet": "claude-sonnet-4-5",
    "haiku": "claude-haiku-4-5",
    "inherit": "",
}
# The field the canonical model maps onto.
MODEL_FIELD = "modelId"
# A nested agent id's `/`, in the flat file name and name Cline reads.
NESTED_JOINER = "_"
# Cline loads agent files with these endings only (the first is written).
AGENT_ENDINGS = (".yaml", ".yml")


class ClineFormat(Format):
    name = "cline"
    description = "Cline: agents and skills (.cline/), workflows and rules (.clinerules/)"
    kinds = frozenset({"agent", "command", "skill", "rule"})
    fields = CLINE_AGENT_FIELDS
    kind_fields: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "command": (),  # workflows are plain Markdown
        "skill": ("name", "description"),
        "rule": ("paths",),
    }
    keep_unknown = False
    default_models: ClassVar[Mapping[str, str]] = CLINE_MODELS
    install_prefix = ".cline"
    native_tools: ClassVar[Mapping[str, str]] = CLINE_TOOLS
    default_target = False
    detect_order = 56
    checked_by = "Cline 3.0.65 loaders in `make conformance` (agents, skills, rules, workflows)"
    project_files: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("agent", ".cline/agents", AGENT_ENDINGS[0]),
        ("agent", ".cline/agents", AGENT_ENDINGS[1]),
        ("skill", ".cline/skills", "/SKILL.md"),
        ("command", ".clinerules/workflows", ".md"),
        ("rule", ".clinerules", ".md"),
    )

    def agent_path(self, agent_id: str) -> str:
        return f"agents/{agent_id.replace('/', NESTED_JOINER)}{AGENT_ENDINGS[0]}"

    def command_path(self, command_id: str) -> str:
        return f"{PROJECT_FOLDER}/.clinerules/workflows/{command_id}.md"

    def skill_path(self, skill_id: str) -> str:
        return f"skills/{skill_id}/SKILL.md"

    def rule_path(self, rule_id: str) -> str:
        return f"{PROJECT_FOLDER}/.clinerules/{rule_id}.md"

    def canonical_values(self, rendered: RenderedPrompt, kind: str) -> dict[str, Any]:
        values = super().canonical_values(rendered, kind)
        if kind == "agent" and "model" in values:
            values[MODEL_FIELD] = values.pop("model")
        return values

    def map_tools(self, tools: Sequence[str]) -> Any:
        """A YAML list of Cline tool names (each once)."""
        return self.native_tool_list(tools)

    def map_fields(self, rendered: RenderedPrompt) -> Mapped:
        mapped = super().map_fields(rendered)
        prompt = rendered.prompt
        if self.built_kind(prompt) != "agent":
            return mapped
        if "/" in prompt.id and mapped.fields.get("name") == prompt.id.rsplit("/", 1)[-1]:
            mapped.fields["name"] = prompt.id.replace("/", NESTED_JOINER)
        mapped.lossy += self.unmapped_tools(prompt, "Cline")
        return mapped

    def checks(self, output: OutputFile, fields: Mapping[str, Any]) -> list[Diagnostic]:
        """Cline refuses an agent whose body (its system prompt) is empty."""
        if output.kind != "agent":
            return []
        _, body, _ = self.read(output)
        if body.strip():
            return []
        message = "the agent's body is empty; Cline needs it as the agent's system prompt"
        return [self.diagnostic(output, "error", "PB106", message)]

    @classmethod
    def claims_name(cls, path: Path) -> bool:
        """An agent file in an `agents/` folder (`.cline/agents/`, or a build's
        `cline/agents/`), named for YAML though it holds Markdown."""
        return path.suffix.lower() in AGENT_ENDINGS and path.parent.name.lower() == "agents"

    @classmethod
    def claims(cls, path: Path, meta: Mapping[str, Any]) -> bool:
        return bool({".cline", ".clinerules"} & {part.lower() for part in path.parts[:-1]})

    @classmethod
    def kind_of_file(cls, path: Path) -> str | None:
        parts = [part.lower() for part in path.parts[:-1]]
        if path.name.lower() == "skill.md":
            return "skill"
        if ".clinerules" in parts:
            return "command" if "workflows" in parts else "rule"
        return "agent"
