"""Diagnostics: problems found in sources and outputs, each with a stable code and a place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from promptbundle.core.errors import Location

__all__ = ["Diagnostic", "LossyField", "Severity", "lossiness_lines"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class LossyField:
    """A canonical or per-target field a format cannot carry, so the output drops it."""

    agent: str
    target: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.agent}: {self.target} drops '{self.field}' ({self.reason})"


def lossiness_lines(items: Sequence[LossyField], prefix: str, *, shown: int = 3) -> list[str]:
    """One line per dropped field and target, naming the agents it affects.

    `lossy: agent-skill drops 'model' (agent-skill has no such field): a, b and 998 more`
    """
    agents: dict[tuple[str, str, str], list[str]] = {}
    for item in items:
        agents.setdefault((item.target, item.field, item.reason), []).append(item.agent)
    lines = []
    for (target, name, reason), ids in sorted(agents.items()):
        ids = sorted(set(ids))
        listed = ", ".join(ids[:shown]) + (
            f" and {len(ids) - shown} more" if len(ids) > shown else ""
        )
        lines.append(f"{prefix}: {target} drops '{name}' ({reason}): {listed}")
    return lines


@dataclass(frozen=True)
class Diagnostic:
    """A problem found in an output or a source, with a stable code."""

    severity: Severity
    code: str
    message: str
    # Where the cause is: the source line, or the output line for a rule of the format.
    location: Location
    # The output it concerns (a path under the output folder), when it concerns one.
    output: str | None = None

    def line(self) -> str:
        return f"{self.location}: {self.severity}: {self.message} [{self.code}]"

    def to_json(self) -> dict[str, Any]:
        """Where (the file, line and column of the cause), what, and the output concerned."""
        return {
            "path": str(self.location.path),
            "line": max(self.location.line, 1),
            "column": max(self.location.column, 1),
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "output": self.output,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Diagnostic:
        location = Location(str(data["path"]), int(data["line"]), int(data["column"]))
        severity: Severity = "error" if data["severity"] == "error" else "warning"
        return cls(severity, str(data["code"]), str(data["message"]), location, data.get("output"))
