"""Markdown-aware rewrites, driven by markdown-it-py tokens (never regexes over raw text)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache

from markdown_it import MarkdownIt

__all__ = [
    "Heading",
    "HeadingMemo",
    "fences",
    "heading_levels",
    "paragraphs",
    "shift_headings",
    "use_heading_memo",
]

# (first line, end line, level, markup) of a heading, lines 0-based, end exclusive.
Heading = tuple[int, int, int, str]


@dataclass
class HeadingMemo:
    """Headings found in texts, by a digest of the text: a build can keep them for the next."""

    known: dict[str, list[Heading]] = field(default_factory=dict)
    used: dict[str, list[Heading]] = field(default_factory=dict)


_memo: HeadingMemo | None = None


def use_heading_memo(memo: HeadingMemo | None) -> None:
    """Look headings up in `memo` (and record every text seen) until called with None."""
    global _memo
    _memo = memo


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # Headings are block tokens: skip the inline pass (half the parse time).
    return MarkdownIt("commonmark").disable("inline")


# A line that might be a heading to markdown-it, found without parsing (a superset: container
# markers, list markers and indentation of any depth may come first). An ATX heading is a run
# of 1 to 6 `#` then a space, a tab or the line's end; a setext underline is a run of `=` or
# `-`. These decide only when a parse can be skipped; headings always come from tokens.
_CONTAINER = r"^[ \t>*+\-0-9.)]*"
_ATX_CANDIDATE = re.compile(_CONTAINER + r"(#{1,6})(?:[ \t]|$)", re.MULTILINE)
_SETEXT_CANDIDATE = re.compile(_CONTAINER + r"(=+|-+)[ \t]*$", re.MULTILINE)


def _lines_as_markdown_it(text: str) -> str:
    # markdown-it ends a line at \n, \r\n and \r alike.
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _may_have_headings(text: str) -> bool:
    """False only when no line of `text` can be a heading (so a parse would find none)."""
    text = _lines_as_markdown_it(text)
    return bool(_ATX_CANDIDATE.search(text) or _SETEXT_CANDIDATE.search(text))


def _shallowest_is(text: str, level: int) -> bool:
    """True only when markdown-it's shallowest heading in `text` is certainly `level`.

    The first line of a document is a heading when it is `level` `#`s then a space, a tab or
    the line's end: nothing before it can open a container, a fence or an HTML block. When
    no line could be a shallower heading (no shorter `#` run after container markers, no
    setext underline of a shallower level: `=` is 1, `-` is 2), that heading is the
    shallowest. Anything else returns False, and the caller parses.
    """
    text = _lines_as_markdown_it(text)
    rest = text[level : level + 1]
    if not text.startswith("#" * level) or rest not in ("", " ", "\t", "\n"):
        return False
    for match in _ATX_CANDIDATE.finditer(text):
        if len(match.group(1)) < level:
            return False
    if level > 1:
        for match in _SETEXT_CANDIDATE.finditer(text):
            if match.group(1)[0] == "=" or level > 2:
                return False
    return True


def _headings(text: str) -> list[Heading]:
    """(first line, last line, level, markup) of every heading, lines 0-based, end exclusive."""
    if not _may_have_headings(text):
        return []
    if _memo is None:
        return _parse_headings(text)
    key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    found = _memo.used.get(key)
    if found is None:
        found = _memo.known.get(key)
        if found is None:
            found = _parse_headings(text)
        _memo.used[key] = found
    return found


def _parse_headings(text: str) -> list[Heading]:
    found = []
    for token in _parser().parse(text):
        if token.type == "heading_open" and token.map is not None:
            start, end = token.map
            found.append((start, end, int(token.tag[1]), token.markup))
    return found


def heading_levels(text: str) -> list[tuple[int, int]]:
    """(1-based line, level) of every heading in `text`."""
    return [(start + 1, level) for start, _, level, _ in _headings(text)]


def shift_headings(text: str, level: int) -> str:
    """Shift every heading so the shallowest becomes `level`; levels stay relative.

    ATX headings keep their text; setext headings become ATX. Lines in code fences, HTML
    blocks and inline code are not headings to markdown-it, so they are untouched.
    """
    if _shallowest_is(text, level):
        return text  # every heading is already where it belongs
    headings = _headings(text)
    if not headings:
        return text
    delta = level - min(h[2] for h in headings)
    if delta == 0:
        return text
    lines = text.splitlines(keepends=True)
    for start, end, old, markup in reversed(headings):
        new = max(1, min(6, old + delta))
        if markup.startswith("#"):
            # The line is a heading line; only container syntax (indentation, `>`, list
            # markers) can come before its `#` run, and none of it contains a `#`.
            line = lines[start]
            at = line.index("#")
            hashes = len(line[at:]) - len(line[at:].lstrip("#"))
            lines[start] = line[:at] + "#" * new + line[at + hashes :]
        else:  # setext: text lines then an underline of = or -
            content = " ".join(line.strip() for line in lines[start : end - 1])
            newline = lines[end - 1][len(lines[end - 1].rstrip("\r\n")) :] or "\n"
            lines[start:end] = ["#" * new + " " + content + newline]
    return "".join(lines)


def fences(text: str) -> list[tuple[int, int, str]]:
    """(first line, end line, markup) of every fenced code block, lines 0-based, end exclusive.

    An unclosed fence runs to the end of the text (CommonMark), so its last line is not a
    closing fence."""
    return [
        (token.map[0], token.map[1], token.markup)
        for token in _parser().parse(text)
        if token.type == "fence" and token.map is not None
    ]


def paragraphs(text: str) -> list[tuple[int, int]]:
    """(first line, end line) of every paragraph, lines 0-based, end exclusive."""
    return [
        (token.map[0], token.map[1])
        for token in _parser().parse(text)
        if token.type == "paragraph_open" and token.map is not None
    ]
