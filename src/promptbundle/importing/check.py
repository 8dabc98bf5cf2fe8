"""`promptbundle import --check`: import into a temporary bundle, build, compare bytes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promptbundle.core.errors import PromptBundleError
from promptbundle.formats.registry import Unsupported
from promptbundle.importing.convert import convert_file
from promptbundle.importing.importer import collect_files
from promptbundle.importing.targets import LAID_OUT_OTHERWISE, Narrowing, build_native

__all__ = ["FileVerdict", "RoundTripReport", "check_import", "first_difference"]


@dataclass(frozen=True)
class FileVerdict:
    """How one file fared: exact, failed (with the reason) or unsupported."""

    path: str
    format: str | None
    status: str  # "exact" | "failed" | "unsupported"
    reason: str = ""
    offset: int | None = None
    # Targets the import would leave out of the agent (their output fails validation).
    narrowed: Narrowing | None = None


@dataclass
class RoundTripReport:
    """Every file's verdict, with the summary line and the JSON form."""

    files: list[FileVerdict] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for item in self.files if item.status == status)

    @property
    def supported(self) -> int:
        return len(self.files) - self.count("unsupported")

    @property
    def narrowed(self) -> list[FileVerdict]:
        return [item for item in self.files if item.narrowed is not None]

    @property
    def exit_code(self) -> int:
        return 1 if self.count("failed") else 0

    @property
    def summary(self) -> str:
        return (
            f"exact {self.count('exact')}/{self.supported} supported, "
            f"{self.count('unsupported')} unsupported, {len(self.narrowed)} narrowed"
        )

    def lines(self) -> list[str]:
        """One line per file that is not exact or whose agent would be narrowed."""
        out = []
        for item in self.files:
            if item.narrowed is not None:
                n = item.narrowed
                out.append(
                    f"{item.path}: narrowed: left out {', '.join(n.left_out)} "
                    f"(first error: {n.reason.line()})"
                )
            if item.status == "failed":
                out.append(f"{item.path}: {item.format}: {item.reason}")
            elif item.status == "unsupported":
                out.append(f"{item.path}: {item.reason}")
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "files": len(self.files),
            "supported": self.supported,
            "exact": self.count("exact"),
            "unsupported": self.count("unsupported"),
            "narrowed": len(self.narrowed),
            "failures": [
                {"path": i.path, "format": i.format, "reason": i.reason, "offset": i.offset}
                for i in self.files
                if i.status == "failed"
            ],
            "unsupported_files": [
                {"path": i.path, "reason": i.reason}
                for i in self.files
                if i.status == "unsupported"
            ],
            "narrowed_files": [
                {
                    "path": i.path,
                    "kept": list(i.narrowed.kept),
                    "left_out": list(i.narrowed.left_out),
                    "reason": i.narrowed.reason.line(),
                }
                for i in self.files
                if i.narrowed is not None
            ],
        }


def first_difference(expected: bytes, actual: bytes) -> int | None:
    """Offset of the first differing byte (None when equal)."""
    if expected == actual:
        return None
    for offset, (a, b) in enumerate(zip(expected, actual, strict=False)):
        if a != b:
            return offset
    return min(len(expected), len(actual))


def check_import(paths: Sequence[Path], *, format_name: str | None = None) -> RoundTripReport:
    """Round-trip every file through a temporary bundle; nothing is written elsewhere."""
    report = RoundTripReport()
    for path in collect_files(paths):
        report.files.append(_check_file(path, format_name))
    return report


def _check_file(path: Path, format_name: str | None) -> FileVerdict:
    label = path.as_posix()
    data = path.read_bytes()
    try:
        agent = convert_file(path, data, format_name=format_name)
    except Unsupported as verdict:
        return FileVerdict(label, None, "unsupported", str(verdict))
    try:
        output, narrowed = build_native(agent)
    except PromptBundleError as err:
        return FileVerdict(
            label, agent.format, "failed", "build failed: " + " / ".join(err.lines())
        )
    offset = first_difference(data, output)
    if offset is None:
        return FileVerdict(label, agent.format, "exact", narrowed=narrowed)
    if agent.structured:  # import leaves it out: see importer._convert_all
        return FileVerdict(label, None, "unsupported", f"{LAID_OUT_OTHERWISE} (byte {offset})")
    reason = (
        f"output differs at byte {offset}: expected {data[offset : offset + 12]!r}, "
        f"got {output[offset : offset + 12]!r} ({len(data)} vs {len(output)} bytes)"
    )
    return FileVerdict(label, agent.format, "failed", reason, offset, narrowed)
