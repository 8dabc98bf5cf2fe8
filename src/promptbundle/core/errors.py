"""One exception hierarchy; every user error knows where it happened."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BuildFailedError",
    "BundleError",
    "ConfigError",
    "ErrorGroup",
    "Location",
    "PromptBundleError",
    "RenderError",
    "SourceError",
    "UsageError",
]


@dataclass(frozen=True)
class Location:
    """A place in a source file; line and column are 1-based, 0 means unknown."""

    path: Path | str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        return f"{display_path(self.path)}:{max(self.line, 1)}:{max(self.column, 1)}"


def display_path(path: Path | str) -> str:
    """A path as a user should read it: relative to the current folder when inside it."""
    text = str(path)
    if not os.path.isabs(text):
        return text
    try:
        relative = Path(text).relative_to(Path.cwd())
    except (ValueError, OSError):
        return text
    return relative.as_posix() if relative.parts else text


class PromptBundleError(Exception):
    """Base class of every error a user can cause; the CLI prints it without a traceback."""

    exit_code = 1
    # The code of an error of this class that has no rule of its own (docs/checks.md).
    default_code: str | None = None

    def __init__(
        self, message: str, location: Location | None = None, *, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        # The check code of the rule it breaks (docs/checks.md).
        self.code = code or self.default_code

    def lines(self) -> list[str]:
        """The error as compiler-style lines: `path:line:col: error: message [CODE]`."""
        prefix = f"{self.location}: " if self.location else ""
        suffix = f" [{self.code}]" if self.code else ""
        return [f"{prefix}error: {self.message}{suffix}"]

    def __str__(self) -> str:
        return "\n".join(self.lines())


class UsageError(PromptBundleError):
    """The command line was wrong (exit code 2)."""

    exit_code = 2


class ConfigError(PromptBundleError):
    """The bundle configuration is invalid."""

    default_code = "PB001"


class SourceError(PromptBundleError):
    """An agent, fragment or target file is invalid."""

    default_code = "PB001"


class RenderError(SourceError):
    """A template failed to render."""

    default_code = "PB003"


class BundleError(PromptBundleError):
    """An error about the bundle as a whole (e.g. a failed build of a git revision)."""

    default_code = "PB300"


class BuildFailedError(BundleError):
    """A build had errors (each already a compiler-style line); nothing was written."""

    def __init__(self, messages: list[str], summary: str) -> None:
        super().__init__(summary)
        self.messages = messages

    def lines(self) -> list[str]:
        return [*self.messages, f"error: {self.message}"]


class ErrorGroup(PromptBundleError):
    """Several errors collected before aborting once."""

    def __init__(self, errors: Sequence[PromptBundleError]) -> None:
        flat: list[PromptBundleError] = []
        for item in errors:
            flat.extend(item.errors if isinstance(item, ErrorGroup) else [item])
        self.errors: list[PromptBundleError] = sorted(flat, key=_sort_key)
        super().__init__(f"{len(self.errors)} errors")

    def lines(self) -> list[str]:
        return [line for err in self.errors for line in err.lines()]


def _sort_key(err: PromptBundleError) -> tuple[str, int, int, str]:
    loc = err.location
    if loc is None:
        return ("", 0, 0, err.message)
    return (str(loc.path), loc.line, loc.column, err.message)


def raise_collected(errors: Iterable[PromptBundleError]) -> None:
    """Raise the errors as one: nothing if empty, the error itself if alone."""
    found = list(errors)
    if len(found) == 1:
        raise found[0]
    if found:
        raise ErrorGroup(found)
