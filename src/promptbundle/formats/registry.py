"""The built-in target formats, by name, and how import recognises a file's format.

The one place that lists every format: nothing below it imports it (the loaders take the
known names as a parameter, see KNOWN_FORMATS). A custom target (`format = "custom"`) is
resolved here too, though it is not one of the built-in formats it lists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar, overload

from promptbundle.core.frontmatter import frontmatter_length, inner_yaml, read_metadata
from promptbundle.core.model import KnownFormats
from promptbundle.formats.agent_skill import AgentSkillFormat
from promptbundle.formats.agents_md import AgentsMdFormat
from promptbundle.formats.base import Format
from promptbundle.formats.claude_code import ClaudeCodeFormat
from promptbundle.formats.claude_plugin import ClaudePluginFormat
from promptbundle.formats.cline import ClineFormat
from promptbundle.formats.codex import CodexFormat
from promptbundle.formats.copilot import CopilotFormat
from promptbundle.formats.cursor import CursorFormat
from promptbundle.formats.custom import CUSTOM, CustomFormat
from promptbundle.formats.devin import DevinFormat
from promptbundle.formats.gemini import GeminiFormat
from promptbundle.formats.kiro import KiroFormat
from promptbundle.formats.layouts import TABLE
from promptbundle.formats.opencode import OpencodeFormat
from promptbundle.formats.roo import RooFormat
from promptbundle.formats.skill_table import SkillTableFormat

__all__ = ["FORMATS", "KNOWN_FORMATS", "TEXT_SUFFIXES", "Unsupported", "detect_format"]

_T = TypeVar("_T")


class _Registry(dict[str, type[Format]]):
    """The built-in formats by name. Iterating lists them only; looking up `custom` (the
    format of a target file with its own templates, formats/custom.py) finds CustomFormat
    too, so every caller resolves a target's format the same way."""

    def __missing__(self, key: str) -> type[Format]:
        if key == CUSTOM:
            return CustomFormat
        raise KeyError(key)

    @overload
    def get(self, key: str, default: None = None, /) -> type[Format] | None: ...
    @overload
    def get(self, key: str, default: type[Format], /) -> type[Format]: ...
    @overload
    def get(self, key: str, default: _T, /) -> type[Format] | _T: ...
    def get(self, key: str, default: Any = None, /) -> Any:
        if key == CUSTOM and key not in self:
            return CustomFormat
        return super().get(key, default)


FORMATS = _Registry(
    (cls.name, cls)
    for cls in (
        ClaudeCodeFormat,
        ClaudePluginFormat,
        OpencodeFormat,
        SkillTableFormat,
        AgentSkillFormat,
        CopilotFormat,
        CursorFormat,
        GeminiFormat,
        CodexFormat,
        ClineFormat,
        RooFormat,
        KiroFormat,
        DevinFormat,
        AgentsMdFormat,
    )
)

KNOWN_FORMATS = KnownFormats(
    names=frozenset({*FORMATS, CUSTOM}),
    defaults=tuple(sorted(name for name, cls in FORMATS.items() if cls.default_target)),
    convertible={name: cls.convertible for name, cls in FORMATS.items()},
)

TEXT_SUFFIXES = frozenset({".md", ".mdc", ".markdown", ".txt"})
# Formats that claim a file from its fields before a file under commands/ is refused.
_BEFORE_COMMANDS = 50


class Unsupported(Exception):
    """A file no format claims; the message says why."""


def detect_format(path: Path, text: str) -> str:
    """The native format of a file: by its name, then its header's layout and fields."""
    ordered = sorted(FORMATS.values(), key=lambda cls: (cls.detect_order, cls.name))
    for cls in ordered:
        if cls.claims_name(path):
            return cls.name
    if path.suffix.lower() not in TEXT_SUFFIXES:
        raise Unsupported(f"unsupported format ({path.suffix or 'no'} file extension)")
    body = text.removeprefix("\ufeff")
    for cls in ordered:
        if cls.layout is TABLE and TABLE.header_length(body):
            return cls.name
    length = frontmatter_length(body)
    if length is None:
        return _plain_markdown(path, ordered)
    meta, _ = read_metadata(inner_yaml(body[:length]))
    parts = {part.lower() for part in path.parts[:-1]}
    for cls in ordered:
        if cls.detect_order >= _BEFORE_COMMANDS and parts & {"commands", "command"}:
            raise Unsupported("unsupported format (a command, not an agent)")
        if cls.claims(path, meta):
            return cls.name
    raise Unsupported("unsupported format (frontmatter has no name and description)")


def _plain_markdown(path: Path, ordered: list[type[Format]]) -> str:
    """The format of a Markdown file without a header: a command or a rule of the first
    format that claims its place (`.kiro/steering/`, `.clinerules/`, AGENTS.md, ...)."""
    for cls in ordered:
        if cls.claims(path, {}) and cls.kind_of_file(path) in ("command", "rule"):
            return cls.name
    raise Unsupported("unsupported format (no frontmatter and no skill table)")
