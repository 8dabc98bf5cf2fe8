"""Skill table: `| key | value |` rows, then the Markdown body."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promptbundle.formats.base import Format


def _cell(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    elif isinstance(value, bool):
        value = "true" if value else "false"
    text = " ".join(str(value).split())
    return text.replace("|", "\\|")


class SkillTableFormat(Format):
    name = "skill-table"
    description = "Markdown skill with a | key | value | table header (<id>.md)"
    fields = ("name", "description")
    keep_unknown = False
    layout = "table"

    def agent_path(self, agent_id: str) -> str:
        return f"{agent_id}.md"

    def render_file(self, fields: Mapping[str, Any], body: str) -> str:
        rows = "".join(f"| {key} | {_cell(value)} |\n" for key, value in fields.items())
        return rows + body
