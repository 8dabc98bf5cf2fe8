"""The one result shape every command returns; the CLI prints it as text or as JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from promptbundle.core.diagnostics import Diagnostic

__all__ = ["Outcome"]


@dataclass
class Outcome:
    """What a command did: lines for a person, data for a tool, and an exit code.

    As text: `messages` (problems) and `notes` (hidden by --quiet) go to stderr; `document`
    (a whole report, printed as is) or `lines` go to stdout; `summary` comes last. As JSON:
    the command, exit code, summary and diagnostics, with the command's `data` beside them.
    """

    command: str
    summary: str = ""
    lines: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    document: str | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    exit_code: int = 0
    summary_stream: Literal["stdout", "stderr"] = "stdout"

    def to_record(self) -> dict[str, Any]:
        """What a later run needs to give the same outcome again (see build/cache.py)."""
        return {
            "summary": self.summary,
            "messages": self.messages,
            "notes": self.notes,
            "diagnostics": [d.to_json() for d in self.diagnostics],
            "data": self.data,
        }

    @classmethod
    def from_record(cls, command: str, record: dict[str, Any]) -> Outcome:
        return cls(
            command,
            record["summary"],
            messages=record["messages"],
            notes=record.get("notes", []),
            diagnostics=[Diagnostic.from_json(d) for d in record.get("diagnostics", [])],
            data=record.get("data", {}),
        )

    def to_json(self) -> dict[str, Any]:
        envelope: dict[str, Any] = {
            "command": self.command,
            "exit_code": self.exit_code,
            "message": self.summary,
            "diagnostics": [d.to_json() for d in self.diagnostics],
        }
        clash = sorted(set(envelope) & set(self.data))
        if clash:  # pragma: no cover - a command's data never names these
            raise AssertionError(f"outcome data may not set {clash}")
        return {**envelope, **self.data}
