"""Reading the head of a prompt file: `---` YAML frontmatter or `| key | value |` rows.

Every layer that reads a prompt or an output splits it here, so line numbers and bytes agree
everywhere: the loader, the validators, import and check.
"""

from __future__ import annotations

import re
from typing import Any

from promptbundle.core.yamlio import YamlError, load_yaml

__all__ = [
    "frontmatter_length",
    "inner_yaml",
    "read_metadata",
    "split_frontmatter",
    "split_lf",
    "table_length",
    "table_rows",
]

DELIMITER = re.compile(r"^---[ \t]*\r?$")
_TABLE_ROW = re.compile(r"^\|.*\|[ \t]*\r?$")
_KEY_LINE = re.compile(r"^([A-Za-z0-9_][\w.-]*)[ \t]*:(?:[ \t]+(.*)|[ \t]*)$")


def split_frontmatter(text: str) -> tuple[str | None, str, int]:
    """Split `---` frontmatter from the body: (yaml or None, body, body's first line)."""
    lines = text.splitlines(keepends=True)
    if not lines or not DELIMITER.match(lines[0].lstrip("\ufeff").rstrip("\n")):
        return None, text, 1
    for i in range(1, len(lines)):
        if DELIMITER.match(lines[i].rstrip("\n")):
            return "".join(lines[1:i]), "".join(lines[i + 1 :]), i + 2
    return None, text, 1


def split_lf(text: str) -> list[str]:
    """Lines split on LF only, each keeping its line break (a CR stays part of the line)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    return [*lines, parts[-1]] if parts[-1] else lines


def frontmatter_length(text: str) -> int | None:
    """Characters of the `---` block (both delimiter lines included), or None without one."""
    lines = split_lf(text)
    if not lines or not DELIMITER.match(lines[0].rstrip("\n")):
        return None
    for i in range(1, len(lines)):
        if DELIMITER.match(lines[i].rstrip("\n")):
            return sum(len(line) for line in lines[: i + 1])
    return None


def inner_yaml(header: str) -> str:
    """The YAML between the delimiter lines of a frontmatter block."""
    return "".join(split_lf(header)[1:-1])


def table_length(text: str) -> int:
    """Characters of the `| key | value |` rows that open a skill-table file (0: none)."""
    length = 0
    for line in split_lf(text):
        if not _TABLE_ROW.match(line.rstrip("\n")):
            break
        length += len(line)
    return length


def table_rows(header: str) -> dict[str, Any]:
    """The fields of `| key | value |` rows (the first row of a key wins)."""
    rows: dict[str, Any] = {}
    for line in split_lf(header):
        cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
        if len(cells) >= 2:
            key = cells[0].strip()
            value = "|".join(cells[1:]).strip().replace("\\|", "|")
            if key and key not in rows:
                rows[key] = value
    return rows


def read_metadata(frontmatter: str) -> tuple[dict[str, Any], bool]:
    """(fields, strict): PyYAML's reading, or a tolerant `key: value` reading when PyYAML
    rejects text the real tools accept (`globs: **/*`, an unquoted `: `)."""
    try:
        data = load_yaml(frontmatter)
    except YamlError:
        return _tolerant(frontmatter), False
    return (data if isinstance(data, dict) else {}), True


def _tolerant(frontmatter: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    current: str | None = None
    head = ""
    rest: list[str] = []

    def close() -> None:
        if current is not None and current not in fields:
            fields[current] = _tolerant_value(head, rest)

    for raw in frontmatter.replace("\r\n", "\n").split("\n"):
        match = _KEY_LINE.match(raw)
        if match and not raw[:1].isspace():
            close()
            current, head, rest = match.group(1), (match.group(2) or "").strip(), []
        elif current is not None and raw.strip() and not raw.lstrip().startswith("#"):
            rest.append(raw)
    close()
    return fields


def _tolerant_value(head: str, rest: list[str]) -> Any:
    if head[:1] in (">", "|") and len(head) <= 2:
        lines = [line.strip() for line in rest]
        return ("\n" if head[0] == "|" else " ").join(lines)
    if not head and rest and all(line.lstrip().startswith("- ") for line in rest):
        return [_unquote(line.lstrip()[2:].strip()) for line in rest]
    text = " ".join([head, *(line.strip() for line in rest)]).strip()
    try:
        value = load_yaml(f"k: {text}\n")
    except YamlError:
        return _unquote(text)
    return value.get("k") if isinstance(value, dict) else _unquote(text)


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text
