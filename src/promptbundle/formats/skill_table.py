"""Skill table: `| key | value |` rows, then the Markdown body."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from promptbundle.formats.base import Format
from promptbundle.formats.layouts import TABLE


class SkillTableFormat(Format):
    name = "skill-table"
    description = "Markdown skill with a | key | value | table header (<id>.md)"
    kinds = frozenset({"skill"})
    convertible = frozenset({"agent"})
    kind_fields: ClassVar[Mapping[str, tuple[str, ...]]] = {"skill": ("name", "description")}
    keep_unknown = False
    layout = TABLE
    carries_resources = False
    # Import takes any file that opens with `| key | value |` rows as a skill table.
    detect_order = 5

    def skill_path(self, skill_id: str) -> str:
        return f"{skill_id}.md"
