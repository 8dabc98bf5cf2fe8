"""Skill table: `| key | value |` rows, then the Markdown body."""

from __future__ import annotations

from promptbundle.formats.base import Format
from promptbundle.formats.layouts import TABLE


class SkillTableFormat(Format):
    name = "skill-table"
    description = "Markdown skill with a | key | value | table header (<id>.md)"
    fields = ("name", "description")
    keep_unknown = False
    layout = TABLE
    # Import takes any file that opens with `| key | value |` rows as a skill table.
    detect_order = 5

    def agent_path(self, agent_id: str) -> str:
        return f"{agent_id}.md"
