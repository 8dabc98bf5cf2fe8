"""GitHub Copilot instructions: `.github/instructions/<id>.instructions.md` (scoped by
`applyTo` globs), and the rule `copilot-instructions` as `.github/copilot-instructions.md`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from promptbundle.formats.base import Format

__all__ = ["COPILOT_INSTRUCTIONS_RULE", "CopilotInstructionsFormat"]

# The rule that is the repository-wide `.github/copilot-instructions.md`.
COPILOT_INSTRUCTIONS_RULE = "copilot-instructions"


class CopilotInstructionsFormat(Format):
    name = "copilot-instructions"
    description = "GitHub Copilot instructions (.github/instructions/<id>.instructions.md)"
    kinds = frozenset({"rule"})
    kind_fields: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "rule": ("name", "description", "applyTo", "excludeAgent")
    }
    keep_unknown = False
    install_prefix = ".github"
    default_target = False
    detect_order = 12

    def rule_path(self, rule_id: str) -> str:
        if rule_id == COPILOT_INSTRUCTIONS_RULE:
            return "copilot-instructions.md"
        return f"instructions/{rule_id}.instructions.md"

    @classmethod
    def claims_name(cls, path: Path) -> bool:
        return path.name.lower().endswith(".instructions.md")
