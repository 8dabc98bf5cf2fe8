"""`promptbundle uninstall`: remove what installs of this bundle wrote into a folder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from promptbundle.build.pipeline import read_config
from promptbundle.commands.outcome import Outcome
from promptbundle.core.errors import UsageError
from promptbundle.release.install import uninstall

__all__ = ["run_uninstall"]


def run_uninstall(
    root: Path | None,
    *,
    targets: Sequence[str] = (),
    into: Path,
    dry_run: bool = False,
    force: bool = False,
) -> Outcome:
    """Remove the files installs of the bundle at `root` recorded in `into` (of `targets`, or
    of every target); a file changed since it was installed is kept unless `force`."""
    if not into.is_dir():
        raise UsageError(f"--into {into} is not a folder")
    name = read_config(root).name
    reports = uninstall(into, name, targets, dry_run=dry_run, force=force)
    removed = [rel for report in reports for rel in report.removed]
    verb = "would remove" if dry_run else "removed"
    done = ", ".join(report.target for report in reports)
    return Outcome(
        "uninstall",
        f"{verb} {len(removed)} file(s) of {name} ({done}) from {into}",
        lines=[line for report in reports for line in report.lines()],
        data={
            "into": str(into),
            "dry_run": dry_run,
            "targets": [
                {"target": report.target, "removed": report.removed, "forced": report.forced}
                for report in reports
            ],
        },
    )
