"""Gemini CLI: agents `.gemini/agents/<id>.md` (strict YAML frontmatter), commands
`.gemini/commands/<id>.toml` (TOML), skills `.gemini/skills/<id>/SKILL.md` and the project's
`GEMINI.md` (the rule `GEMINI`).

Gemini reads agents from the top of `.gemini/agents/` only, so a nested agent id is written
flat: `review/security` becomes `agents/review_security.md`, named `review_security` (ids
never hold `_`, so no two agents get one file). Gemini rejects an agent with a key it does
not know, so every other field is dropped and reported as lossy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from promptbundle.core.lines import key_line as find_key_line
from promptbundle.core.model import PROJECT_FOLDER, OutputFile
from promptbundle.formats.base import Format, Mapped
from promptbundle.formats.layouts import TomlLayout
from promptbundle.render.environment import RenderedPrompt

__all__ = ["GEMINI_COMMAND_TOML", "GEMINI_MODELS", "GEMINI_TOOLS", "GeminiFormat"]

GEMINI_AGENT_FIELDS = (
    "name",
    "display_name",
    "description",
    "kind",
    "tools",
    "mcp_servers",
    "model",
    "temperature",
    "max_turns",
    "timeout_mins",
)
# A command's file: `prompt` (the rendered body) is required.
GEMINI_COMMAND_FIELDS = ("description", "prompt")
GEMINI_COMMAND_TOML = TomlLayout(body_key="prompt")
# Canonical (Claude Code) tool names and Gemini CLI's built-in tool for each.
GEMINI_TOOLS = {
    "Read": "read_file",
    "Write": "write_file",
    "Edit": "replace",
    "MultiEdit": "replace",
    "Bash": "run_shell_command",
    "Grep": "search_file_content",
    "Glob": "glob",
    "LS": "list_directory",
    "WebFetch": "web_fetch",
    "WebSearch": "google_web_search",
}
GEMINI_MODELS = {
    "opus": "gemini-2.5-pro",
    "sonnet": "gemini-2.5-pro",
    "haiku": "gemini-2.5-flash",
    "inherit": "",
}
# The rule that is the project's GEMINI.md.
GEMINI_MD_RULE = "GEMINI"
# A nested agent id's `/`, in the flat file name and name Gemini reads.
NESTED_JOINER = "_"


class GeminiFormat(Format):
    name = "gemini"
    description = "Gemini CLI: agents, TOML commands, skills and GEMINI.md (.gemini/)"
    kinds = frozenset({"agent", "command", "skill", "rule"})
    fields = GEMINI_AGENT_FIELDS
    kind_fields: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "command": GEMINI_COMMAND_FIELDS,
        "skill": ("name", "description"),
        "rule": (),
    }
    keep_unknown = False
    default_models: ClassVar[Mapping[str, str]] = GEMINI_MODELS
    install_prefix = ".gemini"
    user_install_prefix = ".gemini"
    rule_ids = frozenset({GEMINI_MD_RULE})
    native_tools: ClassVar[Mapping[str, str]] = GEMINI_TOOLS
    default_target = False
    detect_order = 55
    checked_by = (
        "Gemini CLI 0.61.0 loaders in `make conformance` (agents, skills, commands); "
        "GEMINI.md: schemas and checks only"
    )
    project_files: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("agent", ".gemini/agents", ".md"),
        ("command", ".gemini/commands", ".toml"),
        ("skill", ".gemini/skills", "/SKILL.md"),
    )

    def agent_path(self, agent_id: str) -> str:
        return f"agents/{agent_id.replace('/', NESTED_JOINER)}.md"

    def command_path(self, command_id: str) -> str:
        # Gemini names `git/commit.toml` `/git:commit`: the folder stays.
        return f"commands/{command_id}.toml"

    def skill_path(self, skill_id: str) -> str:
        return f"skills/{skill_id}/SKILL.md"

    def rule_path(self, rule_id: str) -> str:
        return f"{PROJECT_FOLDER}/{rule_id}.md"

    def map_tools(self, tools: Sequence[str]) -> Any:
        """A YAML list of Gemini tool names (each once)."""
        return self.native_tool_list(tools)

    def map_fields(self, rendered: RenderedPrompt) -> Mapped:
        mapped = super().map_fields(rendered)
        prompt = rendered.prompt
        kind = self.built_kind(prompt)
        if kind == "command":
            if "prompt" in mapped.fields:
                reason = "the command's body is its prompt"
                mapped.lossy.append(self.lossy(prompt.label, "prompt", reason))
            # The body is the command's `prompt`, after its description.
            values = {**mapped.fields, "prompt": rendered.body}
            mapped.fields = {k: values[k] for k in GEMINI_COMMAND_FIELDS if k in values}
        if kind != "agent":
            return mapped
        if "/" in prompt.id and mapped.fields.get("name") == prompt.id.rsplit("/", 1)[-1]:
            mapped.fields["name"] = prompt.id.replace("/", NESTED_JOINER)
        mapped.lossy += self.unmapped_tools(prompt, "Gemini CLI")
        return mapped

    def render_file(self, fields: Mapping[str, Any], body: str) -> str:
        """Commands (the only files with a `prompt`) are TOML; the rest YAML frontmatter."""
        if "prompt" in fields:
            return GEMINI_COMMAND_TOML.write(fields, body)
        return super().render_file(fields, body)

    def read(self, output: OutputFile) -> tuple[dict[str, Any], str, int]:
        if _is_command_file(output):
            return GEMINI_COMMAND_TOML.read(output.content.decode("utf-8", errors="replace"))
        return super().read(output)

    def key_line(self, output: OutputFile, key: str) -> int:
        if _is_command_file(output):
            text = output.content.decode("utf-8", errors="replace")
            return find_key_line(text, key, style=GEMINI_COMMAND_TOML.key_style) or 1
        return super().key_line(output, key)

    @classmethod
    def project_file(cls, rel: str) -> tuple[str, str] | None:
        if rel == f"{GEMINI_MD_RULE}.md":
            return "rule", GEMINI_MD_RULE
        return super().project_file(rel)

    @classmethod
    def claims_name(cls, path: Path) -> bool:
        return path.suffix.lower() == ".toml" and "commands" in {p.lower() for p in path.parts}

    @classmethod
    def kind_of_file(cls, path: Path) -> str | None:
        if path.suffix.lower() == ".toml":
            return "command"
        if path.name.lower() == "skill.md":
            return "skill"
        if path.name == f"{GEMINI_MD_RULE}.md":
            return "rule"
        return "agent"

    @classmethod
    def read_structured(cls, path: Path, text: str) -> tuple[dict[str, Any], str] | None:
        if path.suffix.lower() != ".toml":
            return None
        fields, body, _ = GEMINI_COMMAND_TOML.read(text)
        return {k: v for k, v in fields.items() if k != "prompt"}, body

    @classmethod
    def claims(cls, path: Path, meta: Mapping[str, Any]) -> bool:
        return ".gemini" in {part.lower() for part in path.parts[:-1]}


def _is_command_file(output: OutputFile) -> bool:
    return output.kind == "command" and output.path.endswith(".toml")
