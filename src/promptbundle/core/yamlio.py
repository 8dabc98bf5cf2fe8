"""The one YAML reader and writer used for every frontmatter.

The writer emits block style only and quotes a scalar unless every client reads the
plain form back as the same string (PyYAML is YAML 1.1, opencode's parser is YAML 1.2).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import yaml

from promptbundle.core.bounded import MAX_DEPTH

__all__ = [
    "YamlError",
    "YamlStructureError",
    "check_structure",
    "dump_frontmatter",
    "is_plain_safe",
    "load_yaml",
    "quote",
]

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BOOL = "tag:yaml.org,2002:bool"


class _Loader(_BaseLoader):  # type: ignore[misc]
    """The safe loader with YAML 1.2 booleans: only true/false are booleans, so a key or a
    value `on`, `off`, `yes`, `no`, `y`, `n` stays a string, as the tools that read
    frontmatter with a YAML 1.2 parser (opencode, Gemini CLI) see it. A key twice in one
    mapping is an error at the second, not a silent last-one-wins."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
        seen: set[tuple[str, str]] = set()
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode):
                continue
            if (key.tag, key.value) in seen:
                raise YamlStructureError(
                    f"duplicate key {key.value!r} (each key may appear once in a mapping)",
                    key.start_mark,
                )
            seen.add((key.tag, key.value))
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)

YamlError = yaml.YAMLError


class YamlStructureError(yaml.MarkedYAMLError):
    """YAML refused: an anchor or alias, a duplicate key or too deep a nesting (PB005)."""

    code = "PB005"

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem=problem, problem_mark=mark)


def load_yaml(text: str) -> Any:
    """Parse YAML safely (C loader when available), with YAML 1.2 booleans.

    Anchors, aliases and deep nesting are refused before anything is built (so no alias
    bomb expands and no deep nesting reaches the recursive composer); a duplicate key is
    refused as its mapping is built."""
    if _may_hold_anchors_or_depth(text):
        check_structure(text)
    return yaml.load(text, Loader=_Loader)


# Every level of nesting opens with one of these: a line break (block collections), a flow
# bracket, or an indicator (`- `, `? `, `: `) that starts a compact collection on a line.
_LEVEL_OPENERS = "\n\r\x85\u2028\u2029[{-?:"


def _may_hold_anchors_or_depth(text: str) -> bool:
    """Whether `text` could hold an anchor, an alias or nesting past MAX_DEPTH. Without
    `&` and `*`, and with fewer places a level can open than MAX_DEPTH, it cannot: most
    frontmatter skips the event scan."""
    if "&" in text or "*" in text:
        return True
    return sum(text.count(ch) for ch in _LEVEL_OPENERS) + 1 >= MAX_DEPTH


_COLLECTION_START = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_COLLECTION_END = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def check_structure(text: str) -> None:
    """Refuse YAML with an anchor, an alias or nesting past MAX_DEPTH, at the event that
    shows it. libyaml produces events without recursion, and reading stops at the first
    problem, so an alias bomb or 100,000 nested brackets cost no more than reading up to
    it."""
    loader = _Loader(text)
    depth = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            _refuse_anchor(event)
            if isinstance(event, _COLLECTION_END):
                depth -= 1
            elif isinstance(event, _COLLECTION_START):
                depth += 1
                if depth > MAX_DEPTH:
                    raise YamlStructureError(
                        f"YAML nested deeper than {MAX_DEPTH} levels", event.start_mark
                    )
    finally:
        loader.dispose()


def _refuse_anchor(event: Any) -> None:
    if isinstance(event, yaml.AliasEvent):
        raise YamlStructureError(
            f"YAML alias *{event.anchor} is not allowed (anchors and aliases are refused)",
            event.start_mark,
        )
    anchor = getattr(event, "anchor", None)
    if anchor is not None:
        raise YamlStructureError(
            f"YAML anchor &{anchor} is not allowed (anchors and aliases are refused)",
            event.start_mark,
        )


# Plain scalars that some YAML reader turns into something other than the same string.
_SPECIAL = re.compile(
    r"""^(?:
        ~|null|Null|NULL|
        y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|
        [-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?|
        [-+]?0[box][0-9a-fA-F_]+|
        [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?|
        [-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|
        [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt\s].*)?|
        <<|=|\.[A-Za-z_]?
    )$""",
    re.VERBOSE,
)
_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")
# Characters never written as they are: everything outside YAML's printable set (controls,
# U+FFFE, U+FFFF, surrogates), which PyYAML and YAML 1.2 readers refuse in a stream, and the
# line separators and byte order mark, which some readers take for a line break or strip.
_UNSAFE_CHARS = re.compile(
    "[^\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029\ufeff]"
)


@lru_cache(maxsize=8192)
def is_plain_safe(text: str) -> bool:
    """Whether `text` can be written as a plain scalar and read back as the same string."""
    if _has_unsafe_characters(text) or _has_unsafe_start(text) or _has_unsafe_inside(text):
        return False
    if _SPECIAL.match(text):
        return False
    return _round_trips(text)


def _has_unsafe_characters(text: str) -> bool:
    """Empty, padded with whitespace, or holding a control or line-separator character."""
    return not text or text != text.strip() or _UNSAFE_CHARS.search(text) is not None


def _has_unsafe_start(text: str) -> bool:
    """Begins like a YAML indicator, a block entry, a document marker or a flow collection."""
    first = text[0]
    if first in _INDICATORS and not _is_plain_indicator_start(text):
        return True
    if first in "-?" and text[:2] in ("- ", "? "):
        return True
    if text.startswith("---") or text.startswith("..."):
        return True
    return any(ch in text for ch in "[]{},") and first in "[{"


def _is_plain_indicator_start(text: str) -> bool:
    """A leading `-` or `?` followed by a non-blank character starts a plain scalar."""
    return text[0] in "-?:" and len(text) > 1 and text[1] not in " \t" and text[0] != ":"


def _has_unsafe_inside(text: str) -> bool:
    """Holds a mapping separator, a comment start or a tab, or ends with a colon."""
    return ": " in text or " #" in text or text.endswith(":") or "\t" in text


def _round_trips(text: str) -> bool:
    """Whether the YAML reader gives back `text` unchanged as a mapping value."""
    try:  # one line that starts like no indicator: no alias, no nesting to check first
        return bool(yaml.load(f"k: {text}\n", Loader=_Loader) == {"k": text})
    except yaml.YAMLError:
        return False


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\x00": "\\0"}


def quote(text: str) -> str:
    """A double-quoted YAML scalar for `text`; every character outside YAML's printable set
    is escaped, so PyYAML and YAML 1.2 readers read back the same string. A lone surrogate
    is no character at all: ValueError."""
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif _UNSAFE_CHARS.match(ch):
            code = ord(ch)
            if 0xD800 <= code <= 0xDFFF:
                raise ValueError(f"a lone surrogate (U+{code:04X}) cannot be written as text")
            out.append(f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise TypeError(f"cannot write {value!r} as YAML for every client")
        return repr(value)
    if isinstance(value, str):
        return value if is_plain_safe(value) else quote(value)
    raise TypeError(f"cannot write a {type(value).__name__} as YAML")


def _key(key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError(f"frontmatter keys must be strings, got {key!r}")
    return key if is_plain_safe(key) else quote(key)


def _emit(value: Any, indent: int, lines: list[str], prefix: str) -> None:
    pad = " " * indent
    if isinstance(value, Mapping):
        for i, (key, item) in enumerate(value.items()):
            head = prefix if i == 0 else pad
            _emit_entry(f"{head}{_key(key)}:", item, indent, lines)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            head = prefix if i == 0 else pad
            if isinstance(item, Mapping) and item:
                _emit(item, indent + 2, lines, f"{head}- ")
            elif isinstance(item, (list, tuple)) and item:
                lines.append(f"{head}-")
                _emit(item, indent + 2, lines, " " * (indent + 2))
            else:
                lines.append(f"{head}- {_scalar_or_empty(item)}")
    else:  # pragma: no cover - callers pass collections
        lines.append(prefix + _scalar(value))


def _scalar_or_empty(value: Any) -> str:
    if isinstance(value, (Mapping, list, tuple)):
        raise TypeError("empty collections cannot be written in block style")
    return _scalar(value)


def _emit_entry(head: str, value: Any, indent: int, lines: list[str]) -> None:
    if (isinstance(value, Mapping) and value) or (isinstance(value, (list, tuple)) and value):
        lines.append(head)
        _emit(value, indent + 2, lines, " " * (indent + 2))
    else:
        lines.append(f"{head} {_scalar_or_empty(value)}")


def dump_frontmatter(data: Mapping[str, Any]) -> str:
    """Block-style YAML for a mapping, one line per scalar, ending with a newline."""
    lines: list[str] = []
    _emit({k: v for k, v in data.items() if not _is_empty(v)}, 0, lines, "")
    return "".join(line + "\n" for line in lines)


def _is_empty(value: Any) -> bool:
    return isinstance(value, (Mapping, list, tuple)) and not value
