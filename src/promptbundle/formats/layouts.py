"""How a format lays out a file: the fields and the body, written and read back.

A format picks one layout; validation, `check` and `import` read files through it, so a new
format with a new file shape adds a layout here rather than branches elsewhere.
"""

from __future__ import annotations

import datetime
import json
import re
import tomllib
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
from promptbundle.core.lines import key_line
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


# -- TOML -------------------------------------------------------------------------------------
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_TOML_LINE = re.compile(r"at line (\d+)")
# Characters a TOML basic string must escape (quotes and backslashes aside).
_TOML_SHORT_ESCAPES = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _toml_char(char: str) -> str:
    if char in _TOML_SHORT_ESCAPES:
        return _TOML_SHORT_ESCAPES[char]
    if char < " " or char == "\x7f":
        return f"\\u{ord(char):04X}"
    return char


def _toml_basic(text: str) -> str:
    """`text` as a one-line TOML basic string, escaped."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(_toml_char(c) for c in escaped) + '"'


def _multiline_safe(text: str) -> bool:
    """Whether `text` reads well as a multi-line basic string: it has a line break and no
    control character but line feeds and tabs (a carriage return would be normalised away by
    some readers, so it is escaped in a one-line string instead)."""
    return "\n" in text and not any((c < " " and c not in "\n\t") or c == "\x7f" for c in text)


def _toml_multiline(text: str) -> str:
    """`text` as a TOML multi-line basic string (`_multiline_safe` texts only).

    Backslashes are escaped, every third quote of a run is escaped so no `\"\"\"` closes the
    string early, and a final quote is escaped so it cannot merge with the delimiter."""
    out: list[str] = []
    run = 0
    for char in text:
        if char == '"':
            run += 1
            if run == 3:
                char, run = '\\"', 0
        else:
            run = 0
            if char == "\\":
                char = "\\\\"
        out.append(char)
    if out and out[-1] == '"':
        out[-1] = '\\"'
    body = "".join(out)
    return '"""\n' + body + '"""'


def _toml_key(key: Any) -> str:
    key = str(key)
    return key if _BARE_KEY.match(key) else _toml_basic(key)


def _toml_value(value: Any, *, multiline: bool = False) -> str:
    """One TOML value (tables inline): strings, booleans, numbers, dates, lists, mappings."""
    if isinstance(value, str):
        if multiline and _multiline_safe(value):
            return _toml_multiline(value)
        return _toml_basic(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _toml_number(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        pairs = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items() if v is not None]
        return "{ " + ", ".join(pairs) + " }" if pairs else "{}"
    raise TypeError(f"TOML has no value for {type(value).__name__} ({value!r})")


def _toml_number(value: float) -> str:
    """An integer or a float as TOML writes it (nan and inf included)."""
    if isinstance(value, int):
        return str(value)
    if value != value:
        return "nan"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    return repr(value)


def _toml_table(fields: Mapping[str, Any], prefix: tuple[str, ...], multiline: str) -> list[str]:
    """Lines of one table: its plain keys in order, then its sub-tables in order."""
    lines: list[str] = []
    tables: list[tuple[str, Mapping[str, Any]]] = []
    for key, value in fields.items():
        if value is None:
            continue
        if isinstance(value, Mapping) and value:
            tables.append((key, value))
            continue
        lines.append(f"{_toml_key(key)} = {_toml_value(value, multiline=key == multiline)}")
    for key, table in tables:
        path = (*prefix, _toml_key(key))
        if any(not isinstance(v, Mapping) for v in table.values() if v is not None):
            lines += ["", f"[{'.'.join(path)}]"]
        lines += _toml_table(table, path, "")
    return lines


class TomlLayout(Layout):
    """A TOML document whose `body_key` holds the body (Gemini CLI commands, Codex agents).

    Written deterministically: top-level keys in the order the fields come (the format's
    field order), tables (`[key]`) after them; strings escaped as TOML basic strings, the
    body as a multi-line basic string when it has line breaks and no other control
    characters. Read with `tomllib`, for validation and checks.

    `header_length` is None: a TOML file has no header before a body, so this layout does
    not import files byte for byte (import reads YAML frontmatter and tables only)."""

    name = "toml"
    key_style = "toml"

    def __init__(self, body_key: str) -> None:
        self.body_key = body_key

    def write(self, fields: Mapping[str, Any], body: str) -> str:
        """The document: `fields` with `body_key` set to `body` (where the fields place it,
        else after them)."""
        document = {**fields, self.body_key: body}
        return "\n".join(_toml_table(document, (), self.body_key)) + "\n"

    def read(self, text: str, *, strict_yaml: bool = False) -> tuple[dict[str, Any], str, int]:
        """(every key, the body, the line after `body_key =`); raises Unparsable."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            match = _TOML_LINE.search(str(err))
            line = int(match[1]) if match else max(1, len(text.splitlines()))
            raise Unparsable(f"invalid TOML: {str(err).split(' (at ', 1)[0]}", line) from err
        body = data.get(self.body_key)
        line = key_line(text, self.body_key, style=self.key_style)
        return data, body if isinstance(body, str) else "", line + 1 if line else 1

    def header_length(self, text: str) -> int | None:
        return None


__all__ += ["TomlLayout"]
