"""`promptbundle check`: lint the sources and validate every output; write nothing."""

from __future__ import annotations

from pathlib import Path

from promptbundle.commands.outcome import Outcome
from promptbundle.review.check import run_checks

__all__ = ["run_check"]


def run_check(root: Path | None = None, *, strict: bool = False) -> Outcome:
    """Every diagnostic of the bundle; exit 1 on errors (and on warnings with `strict`)."""
    report = run_checks(root)
    return Outcome(
        "check",
        report.summary(),
        lines=report.text_lines(),
        diagnostics=report.diagnostics,
        data={
            "lossy": [
                {"agent": x.agent, "target": x.target, "field": x.field, "reason": x.reason}
                for x in report.lossy
            ],
            "summary": {
                "outputs": report.outputs,
                "errors": len(report.errors),
                "warnings": len(report.warnings),
                "suppressed": report.suppressed,
            },
        },
        exit_code=report.exit_code(strict=strict),
        summary_stream="stderr",
    )
