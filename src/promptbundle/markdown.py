"""Markdown-aware rewrites, driven by markdown-it-py tokens (never regexes over raw text)."""

from __future__ import annotations

import hashlib
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


def _headings(text: str) -> list[Heading]:
    """(first line, last line, level, markup) of every heading, lines 0-based, end exclusive."""
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
