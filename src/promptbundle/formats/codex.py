"""OpenAI Codex CLI: agents `.codex/agents/<id>.toml` (TOML, the body is
`developer_instructions`), skills `.agents/skills/<id>/SKILL.md` at the project's root and the
project's `AGENTS.md` (the rule `AGENTS`).

Codex has no commands (its custom prompts were removed), so commands are not built. It
rejects an agent file with a key it does not know, so every other field is dropped and
reported as lossy.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from promptbundle.core.lines import key_line as find_key_line
from promptbundle.core.model import PROJECT_FOLDER, OutputFile
from promptbundle.formats.base import Format, Mapped
from promptbundle.formats.layouts import TomlLayout
from promptbundle.formats.opencode import AGENTS_MD_RULE
from promptbundle.render.environment import RenderedPrompt

__all__ = ["CODEX_AGENT_TOML", "CODEX_MODELS", "CodexFormat"]

BODY_KEY = "developer_instructions"
CODEX_AGENT_FIELDS = (
    "name",
    "description",
    "nickname_candidates",
    "model",
    "model_reasoning_effort",
    "sandbox_mode",
    BODY_KEY,
    "mcp_servers",
)
CODEX_AGENT_TOML = TomlLayout(body_key=BODY_KEY)
CODEX_MODELS = {
    "opus": "gpt-5-codex",
    "sonnet": "gpt-5-codex",
    "haiku": "gpt-5-codex-mini",
    "inherit": "",
}


class CodexFormat(Format):
    name = "codex"
    description = "OpenAI Codex CLI: TOML agents (.codex/agents/), skills and AGENTS.md"
    kinds = frozenset({"agent", "skill", "rule"})
    fields = CODEX_AGENT_FIELDS
    kind_fields: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "skill": ("name", "description", "metadata"),
        "rule": (),
    }
    keep_unknown = False
    default_models: ClassVar[Mapping[str, str]] = CODEX_MODELS
    install_prefix = ".codex"
    rule_ids = frozenset({AGENTS_MD_RULE})
    default_target = False
    checked_by = "Codex 0.169.0 in `make conformance` (agents, skills, AGENTS.md)"
    project_files: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("agent", ".codex/agents", ".toml"),
    )

    def agent_path(self, agent_id: str) -> str:
        return f"agents/{agent_id}.toml"

    def skill_path(self, skill_id: str) -> str:
        # Codex reads project skills from `.agents/skills/`, outside its own `.codex/`.
        return f"{PROJECT_FOLDER}/.agents/skills/{skill_id}/SKILL.md"

    def rule_path(self, rule_id: str) -> str:
        return f"{PROJECT_FOLDER}/{rule_id}.md"

    def map_fields(self, rendered: RenderedPrompt) -> Mapped:
        mapped = super().map_fields(rendered)
        prompt = rendered.prompt
        if self.built_kind(prompt) != "agent":
            return mapped
        if BODY_KEY in mapped.fields:
            reason = "the agent's body is its developer_instructions"
            mapped.lossy.append(self.lossy(prompt.label, BODY_KEY, reason))
        values = {**mapped.fields, BODY_KEY: rendered.body}
        mapped.fields = {k: values[k] for k in CODEX_AGENT_FIELDS if k in values}
        return mapped

    def render_file(self, fields: Mapping[str, Any], body: str) -> str:
        """Agents (the only files with developer_instructions) are TOML; skills YAML
        frontmatter."""
        if BODY_KEY in fields:
            return CODEX_AGENT_TOML.write(fields, body)
        return super().render_file(fields, body)

    def read(self, output: OutputFile) -> tuple[dict[str, Any], str, int]:
        if _is_agent_file(output):
            return CODEX_AGENT_TOML.read(output.content.decode("utf-8", errors="replace"))
        return super().read(output)

    def key_line(self, output: OutputFile, key: str) -> int:
        if _is_agent_file(output):
            text = output.content.decode("utf-8", errors="replace")
            return find_key_line(text, key, style=CODEX_AGENT_TOML.key_style) or 1
        return super().key_line(output, key)

    @classmethod
    def claims_name(cls, path: Path) -> bool:
        return path.suffix.lower() == ".toml" and "agents" in {p.lower() for p in path.parts}

    @classmethod
    def read_structured(cls, path: Path, text: str) -> tuple[dict[str, Any], str] | None:
        if path.suffix.lower() != ".toml":
            return None
        fields, body, _ = CODEX_AGENT_TOML.read(text)
        return {k: v for k, v in fields.items() if k != BODY_KEY}, body


def _is_agent_file(output: OutputFile) -> bool:
    return output.kind == "agent" and output.path.endswith(".toml")
