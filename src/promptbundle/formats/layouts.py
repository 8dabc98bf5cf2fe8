"""How a format lays out a file: the fields and the body, written and read back.

A format picks one layout; validation, `check` and `import` read files through it, so a new
format with a new file shape adds a layout here rather than branches elsewhere.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from promptbundle.core.frontmatter import (
    frontmatter_length,
    inner_yaml,
    read_metadata,
    split_frontmatter,
    table_length,
    table_rows,
)
from promptbundle.core.yamlio import YamlError, dump_frontmatter, load_yaml

__all__ = ["FRONTMATTER", "JSON", "TABLE", "Layout", "Unparsable"]


class Unparsable(Exception):
    """A file whose fields cannot be read; `line` is 1-based."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class Layout:
    """YAML frontmatter between `---` lines, then the Markdown body."""

    name: ClassVar[str] = "frontmatter"
    # The key style `key_line()` looks for in this layout.
    key_style: ClassVar[str] = "yaml"

    def write(self, fields: Mapping[str, Any], body: str) -> str:
        return "---\n" + dump_frontmatter(fields) + "---\n" + body

    def read(self, text: str, *, strict_yaml: bool = False) -> tuple[dict[str, Any], str, int]:
        """(fields, body, first line of the body); raises Unparsable.

        YAML PyYAML rejects but the real clients read (verbatim imported frontmatter) is read
        tolerantly, unless `strict_yaml` (the client reads strictly too)."""
        frontmatter, body, body_line = split_frontmatter(text)
        if frontmatter is None:
            raise Unparsable("no YAML frontmatter ('---' block) at the start", 1)
        try:
            data = load_yaml(frontmatter)
        except YamlError as err:
            if not strict_yaml:
                return read_metadata(frontmatter)[0], body, body_line
            mark = getattr(err, "problem_mark", None)
            raise Unparsable(
                f"frontmatter is not valid YAML: {getattr(err, 'problem', None) or err}",
                mark.line + 2 if mark is not None else 2,
            ) from err
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise Unparsable("frontmatter must be a mapping", 2)
        return data, body, body_line

    def header_length(self, text: str) -> int | None:
        """Characters before the body (None: the text has no header of this layout)."""
        return frontmatter_length(text)

    def header_fields(self, header: str) -> tuple[dict[str, Any], bool]:
        """The fields of a header, and whether they were read strictly (as YAML)."""
        return read_metadata(inner_yaml(header))


_TABLE_ROW = re.compile(r"^\|\s*(?P<key>[^|]*?)\s*\|\s*(?P<value>(?:[^|\\]|\\.)*?)\s*\|\s*$")


def _cell(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    elif isinstance(value, bool):
        value = "true" if value else "false"
    text = " ".join(str(value).split())
    return text.replace("|", "\\|")


class TableLayout(Layout):
    """`| key | value |` rows, then the Markdown body."""

    name = "table"
    key_style = "table"

    def write(self, fields: Mapping[str, Any], body: str) -> str:
        return "".join(f"| {key} | {_cell(value)} |\n" for key, value in fields.items()) + body

    def read(self, text: str, *, strict_yaml: bool = False) -> tuple[dict[str, Any], str, int]:
        fields: dict[str, Any] = {}
        lines = text.splitlines(keepends=True)
        count = 0
        for line in lines:
            match = _TABLE_ROW.match(line.rstrip("\r\n"))
            if match is None:
                break
            fields[match["key"]] = match["value"].replace("\\|", "|")
            count += 1
        return fields, "".join(lines[count:]), count + 1

    def header_length(self, text: str) -> int | None:
        return table_length(text) or None

    def header_fields(self, header: str) -> tuple[dict[str, Any], bool]:
        return table_rows(header), True


def json_bytes(data: Any) -> bytes:
    """Stable, readable JSON: two-space indent, UTF-8, final newline."""
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


class JsonLayout(Layout):
    """A JSON object (manifests); no body."""

    name = "json"
    key_style = "json"

    def write(self, fields: Mapping[str, Any], body: str) -> str:
        return json_bytes(dict(fields)).decode("utf-8")

    def read(self, text: str, *, strict_yaml: bool = False) -> tuple[dict[str, Any], str, int]:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise Unparsable(f"invalid JSON: {err.msg}", err.lineno) from err
        if not isinstance(data, dict):
            raise Unparsable("must be a JSON object", 1)
        return data, "", 1

    def header_length(self, text: str) -> int | None:
        return None


FRONTMATTER = Layout()
TABLE = TableLayout()
JSON = JsonLayout()
