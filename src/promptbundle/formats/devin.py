"""Devin Desktop (formerly Windsurf), every kind it reads under `.devin/`: agents
`agents/<id>/AGENT.md`, rules `rules/<id>.md` with `trigger` (and `globs` or `description`
as the trigger needs), and skills `skills/<id>/SKILL.md`. Devin has no commands.

A nested agent id is written flat, one folder under `agents/`: `review/security` becomes
`agents/review_security/AGENT.md`, named `review_security`. Devin has no offline client:
its files are checked against the documented fields only.
A rule holds at most 12,000 characters; an agent's `name` is its folder's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from promptbundle.core.diagnostics import Diagnostic
from promptbundle.core.model import OutputFile
from promptbundle.formats.base import Format, Mapped
from promptbundle.render.environment import RenderedPrompt

__all__ = ["DEVIN_RULE_LIMIT", "DevinFormat"]

# Devin (as Windsurf did) reads at most 12,000 characters of a rule file.
DEVIN_RULE_LIMIT = 12_000
AGENT_FILE = "AGENT.md"
# A nested agent id's `/`, in the flat folder name and name (ids never hold `_`).
NESTED_JOINER = "_"
# Rule `trigger` modes and the field each needs.
TRIGGER_NEEDS = {"glob": "globs", "model_decision": "description"}


class DevinFormat(Format):
    name = "devin"
    description = "Devin Desktop (was Windsurf): agents, rules and skills (.devin/)"
    kinds = frozenset({"agent", "skill", "rule"})
    fields = ("name", "description", "model", "allowed-tools", "permissions")
    kind_fields: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "skill": ("name", "description"),
        "rule": ("trigger", "description", "globs"),
    }
    tools_field = "allowed-tools"
    kind_tools_fields: ClassVar[Mapping[str, str]] = {"skill": "tools", "rule": "tools"}
    keep_unknown = False
    install_prefix = ".devin"
    default_target = False
    detect_order = 59
    checked_by = "schemas and checks only (Devin has no offline client)"
    project_files: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("agent", ".devin/agents", f"/{AGENT_FILE}"),
        ("rule", ".devin/rules", ".md"),
        ("skill", ".devin/skills", "/SKILL.md"),
    )

    def agent_path(self, agent_id: str) -> str:
        return f"agents/{agent_id.replace('/', NESTED_JOINER)}/{AGENT_FILE}"

    def skill_path(self, skill_id: str) -> str:
        return f"skills/{skill_id}/SKILL.md"

    def rule_path(self, rule_id: str) -> str:
        return f"rules/{rule_id}.md"

    def map_fields(self, rendered: RenderedPrompt) -> Mapped:
        """A rule's file name is its name, so dropping a rule's `name` loses nothing; a
        nested agent's name is its flat folder name."""
        mapped = super().map_fields(rendered)
        prompt = rendered.prompt
        kind = self.built_kind(prompt)
        if kind == "rule":
            mapped.lossy = [item for item in mapped.lossy if item.field != "name"]
        last = prompt.id.rsplit("/", 1)[-1]
        if kind == "agent" and "/" in prompt.id and mapped.fields.get("name") == last:
            mapped.fields["name"] = prompt.id.replace("/", NESTED_JOINER)
        return mapped

    def checks(self, output: OutputFile, fields: Mapping[str, Any]) -> list[Diagnostic]:
        if output.kind == "rule":
            return self._rule_checks(output, fields)
        if output.kind != "agent":
            return []
        folder = PurePosixPath(output.path).parent.name
        if fields.get("name") in (None, folder):
            return []
        message = f"agent name {fields.get('name')!r} must equal its folder name {folder!r}"
        return [self.diagnostic(output, "error", "PB126", message, "name")]

    def _rule_checks(self, output: OutputFile, fields: Mapping[str, Any]) -> list[Diagnostic]:
        """At most 12,000 characters; `glob` needs `globs`, `model_decision` a description."""
        found = []
        text = output.content.decode("utf-8", errors="replace")
        if len(text) > DEVIN_RULE_LIMIT:
            message = (
                f"rule is {len(text)} characters; Devin reads at most {DEVIN_RULE_LIMIT} "
                "(split it into several rules)"
            )
            found.append(self.diagnostic(output, "error", "PB125", message))
        mode = fields.get("trigger")
        needed = TRIGGER_NEEDS.get(mode) if isinstance(mode, str) else None
        if needed is not None and needed not in fields:
            message = f"a rule with 'trigger: {mode}' needs '{needed}'"
            found.append(self.diagnostic(output, "error", "PB101", message, "trigger"))
        return found

    @classmethod
    def claims(cls, path: Path, meta: Mapping[str, Any]) -> bool:
        return ".devin" in {part.lower() for part in path.parts[:-1]}

    @classmethod
    def kind_of_file(cls, path: Path) -> str | None:
        parts = [part.lower() for part in path.parts[:-1]]
        if "rules" in parts:
            return "rule"
        if path.name.lower() == "skill.md":
            return "skill"
        return "agent"
