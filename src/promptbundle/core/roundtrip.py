"""Byte-exact round trip of imported files: escape a body for Jinja, restore the native bytes.

An imported agent records in its `import:` mapping what Jinja cannot carry:

- `format`: the native format; that target writes the file verbatim instead of mapping fields.
- `header`: the exact text before the body (frontmatter with its `---` lines, or the skill
  table), BOM excluded.
- `newline: crlf`: every line ended in CRLF; the source stores LF and the output restores CRLF.
- `bom: true`: the file started with a UTF-8 byte order mark.
- `trailing-newlines: N`: how many newlines end the file (default 1). The rendered body's
  trailing newlines are replaced by exactly N, so moving the body into a fragment or an
  editor adding a final newline does not change the output.

The body is wrapped in `{% raw %}`; Jinja turns every CR, CRLF and LF of template text into
LF, so each CR left after CRLF folding becomes the expression `{{ "\\r" }}`, and any `{%`
that would end the raw block becomes `{{ "{%" }}`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CR_EXPRESSION",
    "NativeLayout",
    "escape_body",
    "restore_native",
    "split_layout",
]

CR_EXPRESSION = '{{ "\\r" }}'
_OPEN_EXPRESSION = '{{ "{%" }}'
_RAW_OPEN = "{% raw %}"
_RAW_CLOSE = "{% endraw %}"
# Where Jinja's lexer would end a raw block: `{%`, optional -/+, spaces, `endraw`.
_ENDS_RAW = re.compile(r"\{%(?=[-+]?\s*endraw)")
_SPECIAL = re.compile(r"\r|\{%(?=[-+]?\s*endraw)")


@dataclass(frozen=True)
class NativeLayout:
    """How a native file's text splits into what the `import:` record keeps and the body."""

    header: str
    body: str
    newline: str  # "lf" | "crlf"
    bom: bool
    trailing_newlines: int

    def record(self) -> dict[str, Any]:
        """The `import:` keys for this layout (defaults left out)."""
        out: dict[str, Any] = {"header": self.header}
        if self.newline != "lf":
            out["newline"] = self.newline
        if self.bom:
            out["bom"] = True
        if self.trailing_newlines != 1:
            out["trailing-newlines"] = self.trailing_newlines
        return out


def _is_uniform_crlf(text: str) -> bool:
    return "\r\n" in text and text.count("\n") == text.count("\r\n")


def split_layout(text: str, header_length: int) -> NativeLayout:
    """Record `text` (decoded file, BOM included) whose body starts at `header_length`
    characters after the BOM."""
    bom = text.startswith("\ufeff")
    if bom:
        text = text[1:]
    crlf = _is_uniform_crlf(text)
    header, body = text[:header_length], text[header_length:]
    if crlf:
        header, body = header.replace("\r\n", "\n"), body.replace("\r\n", "\n")
    stripped = body.rstrip("\n")
    return NativeLayout(
        header=header,
        body=stripped,
        newline="crlf" if crlf else "lf",
        bom=bom,
        trailing_newlines=len(body) - len(stripped),
    )


def escape_body(body: str) -> str:
    """Jinja source that renders exactly `body` (LF newlines; CRs become expressions)."""
    if not body:
        return ""
    pieces: list[str] = []
    position = 0
    for match in _SPECIAL.finditer(body):
        if match.start() > position:
            pieces.append(_RAW_OPEN + body[position : match.start()] + _RAW_CLOSE)
        pieces.append(CR_EXPRESSION if match.group() == "\r" else _OPEN_EXPRESSION)
        position = match.end()
    if position < len(body):
        pieces.append(_RAW_OPEN + body[position:] + _RAW_CLOSE)
    return "".join(pieces)


def restore_native(record: Mapping[str, Any], body: str) -> str:
    """The native file's text from its `import:` record and the rendered body."""
    header = str(record.get("header", ""))
    count = record.get("trailing-newlines", 1)
    trailing = count if isinstance(count, int) and count >= 0 else 1
    text = header + body.rstrip("\n") + "\n" * trailing
    if record.get("newline") == "crlf":
        text = text.replace("\n", "\r\n")
    if record.get("bom") is True:
        text = "\ufeff" + text
    return text
