"""GitHub Copilot (VS Code and the CLI), every kind it reads under `.github/`: custom agents
`agents/<id>.agent.md`, VS Code prompt files (commands) `prompts/<id>.prompt.md`,
instructions (rules) `instructions/<id>.instructions.md` scoped by `applyTo` globs, the rule
`copilot-instructions` as the repository-wide `copilot-instructions.md`, and skills
`skills/<id>/SKILL.md`.

Copilot drops an agent without a `description` silently (the schema requires it). Its CLI
does not read prompt files; VS Code does. An agent keeps per-target keys Copilot may add
later (a warning names them); an instructions file keeps only the keys it reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from promptbundle.core.diagnostics import Diagnostic
from promptbundle.core.model import OutputFile
from promptbundle.formats.base import Format

__all__ = ["COPILOT_AGENT_BODY_LIMIT", "COPILOT_INSTRUCTIONS_RULE", "CopilotFormat"]

# GitHub documents a 30,000 character limit on a custom agent's prompt (the body).
COPILOT_AGENT_BODY_LIMIT = 30_000
# The rule that is the repository-wide `.github/copilot-instructions.md`.
COPILOT_INSTRUCTIONS_RULE = "copilot-instructions"
COPILOT_AGENT_FIELDS = (
    "name",
    "description",
    "target",
    "tools",
    "model",
    "argument-hint",
    "handoffs",
    "mcp-servers",
    "infer",
)
_AGENT_ENDINGS = (".agent.md", ".chatmode.md")
_PROMPT_ENDING = ".prompt.md"
_INSTRUCTIONS_ENDING = ".instructions.md"


class CopilotFormat(Format):
    name = "copilot"
    description = "GitHub Copilot: agents, prompt files, instructions and skills (.github/)"
    kinds = frozenset({"agent", "command", "skill", "rule"})
    fields = COPILOT_AGENT_FIELDS
    kind_fields: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "command": ("name", "description", "argument-hint", "agent", "mode", "model", "tools"),
        "skill": ("name", "description", "license"),
        "rule": ("name", "description", "applyTo", "excludeAgent"),
    }
    kind_keep_unknown: ClassVar[Mapping[str, bool]] = {"skill": False, "rule": False}
    install_prefix = ".github"
    default_target = False
    body_limit: ClassVar[int | None] = COPILOT_AGENT_BODY_LIMIT
    detect_order = 12
    checked_by = (
        "Copilot CLI 1.0.102 in `make conformance` (agents, skills, instructions); prompt "
        "files are VS Code's, which has no offline client: schemas and checks only"
    )
    project_files: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("agent", ".github/agents", ".agent.md"),
        ("agent", ".github/agents", ".chatmode.md"),
        ("command", ".github/prompts", ".prompt.md"),
        ("rule", ".github/instructions", ".instructions.md"),
        ("skill", ".github/skills", "/SKILL.md"),
    )

    def agent_path(self, agent_id: str) -> str:
        return f"agents/{agent_id}.agent.md"

    def command_path(self, command_id: str) -> str:
        return f"prompts/{command_id}.prompt.md"

    def skill_path(self, skill_id: str) -> str:
        return f"skills/{skill_id}/SKILL.md"

    def rule_path(self, rule_id: str) -> str:
        if rule_id == COPILOT_INSTRUCTIONS_RULE:
            return "copilot-instructions.md"
        return f"instructions/{rule_id}.instructions.md"

    def map_tools(self, tools: Sequence[str]) -> Any:
        """Copilot takes a YAML list of tool names."""
        return [self.target.tools.get(t, t) for t in tools if self.target.tools.get(t, t)]

    def _budget_problems(self, output: OutputFile, body: str) -> list[Diagnostic]:
        """The 30,000 character limit is an agent's."""
        if output.kind not in (None, "agent"):
            return []
        return super()._budget_problems(output, body)

    @classmethod
    def claims_name(cls, path: Path) -> bool:
        name = path.name.lower()
        return (
            name.endswith((*_AGENT_ENDINGS, _PROMPT_ENDING, _INSTRUCTIONS_ENDING))
            or name == f"{COPILOT_INSTRUCTIONS_RULE}.md"
        )

    @classmethod
    def claims(cls, path: Path, meta: Mapping[str, Any]) -> bool:
        parts = [part.lower() for part in path.parts[:-1]]
        return ".github" in parts and bool({"agents", "skills"} & set(parts))

    @classmethod
    def project_file(cls, rel: str) -> tuple[str, str] | None:
        if rel == f".github/{COPILOT_INSTRUCTIONS_RULE}.md":
            return "rule", COPILOT_INSTRUCTIONS_RULE
        return super().project_file(rel)

    @classmethod
    def kind_of_file(cls, path: Path) -> str | None:
        name = path.name.lower()
        if name.endswith(_PROMPT_ENDING):
            return "command"
        if name.endswith(_INSTRUCTIONS_ENDING) or name == f"{COPILOT_INSTRUCTIONS_RULE}.md":
            return "rule"
        if name == "skill.md":
            return "skill"
        return "agent"
