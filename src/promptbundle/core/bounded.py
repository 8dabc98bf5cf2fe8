"""Bounded JSON and TOML reading: nesting is measured before the recursive parsers see it.

`json` and `tomllib` recurse once per nested array or table, so a 100,000-deep file ends in
a RecursionError (a traceback) or worse. A cheap scan over the brackets outside strings
refuses such a file first, at the bracket that goes too deep; whatever else nests (TOML's
dotted keys) is measured on the parsed data, without recursion.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

__all__ = ["MAX_DEPTH", "DepthError", "load_json", "load_toml"]

# Deepest nesting of collections any reader here accepts (YAML, TOML, JSON): prompt
# frontmatter, configuration and the files a build writes nest a few levels, and every
# recursive consumer of the data stays far from Python's recursion limit.
MAX_DEPTH = 100

_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_TOML_TOKENS = re.compile(
    r'"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*|[\[\]{}]',
    re.DOTALL,
)


class DepthError(ValueError):
    """Nesting deeper than MAX_DEPTH, found at `line` and `column` (1-based)."""

    def __init__(self, language: str, line: int, column: int) -> None:
        self.problem = f"{language} nested deeper than {MAX_DEPTH} levels"
        super().__init__(f"{self.problem} (line {line}, column {column})")
        self.line = line
        self.column = column


def load_json(text: str) -> Any:
    """`json.loads`, refusing nesting deeper than MAX_DEPTH (DepthError, a ValueError)."""
    _check_brackets(text, _JSON_TOKENS, "JSON")
    return json.loads(text)


def load_toml(text: str) -> dict[str, Any]:
    """`tomllib.loads`, refusing nesting deeper than MAX_DEPTH (DepthError, a ValueError)."""
    _check_brackets(text, _TOML_TOKENS, "TOML")
    data = tomllib.loads(text)
    if _depth(data) > MAX_DEPTH:
        line = _most_dotted_line(text)
        raise DepthError("TOML", line, 1)
    return data


def _check_brackets(text: str, tokens: re.Pattern[str], language: str) -> None:
    """Refuse the first opening bracket, outside strings and comments, past MAX_DEPTH."""
    depth = 0
    for match in tokens.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                start = match.start()
                line_start = text.rfind("\n", 0, start) + 1
                raise DepthError(language, text.count("\n", 0, start) + 1, start - line_start + 1)
        elif token in "]}":
            depth = max(depth - 1, 0)


def _depth(data: Any) -> int:
    """How deeply lists and tables nest below the document's own table (as the bracket
    scan counts them), measured without recursion."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(data, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            break
        pending.extend((child, depth + 1) for child in children)
    return deepest


def _most_dotted_line(text: str) -> int:
    """The line with the most dots: where dotted keys or a table header nest too deep."""
    lines = text.split("\n")
    counts = [line.count(".") for line in lines]
    return counts.index(max(counts)) + 1
