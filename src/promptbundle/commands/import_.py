"""`promptbundle import`: adopt existing prompt files as sources, or check the round trip."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from promptbundle.build.pipeline import read_config
from promptbundle.commands.outcome import Outcome
from promptbundle.core.errors import ConfigError, UsageError
from promptbundle.formats.registry import FORMATS
from promptbundle.importing.check import check_import
from promptbundle.importing.importer import run_import

__all__ = ["run_import_command"]


def run_import_command(
    paths: Sequence[Path],
    *,
    root: Path | None = None,
    into: Path | None = None,
    format_name: str | None = None,
    check: bool = False,
    force: bool = False,
) -> Outcome:
    """Check the round trip of `paths` (`check`), or write an agent source for each file."""
    if not paths:
        raise UsageError("give at least one file or folder to import")
    if format_name is not None and format_name not in FORMATS:
        raise UsageError(f"unknown format {format_name!r} (formats: {', '.join(sorted(FORMATS))})")
    if check:
        report = check_import(paths, format_name=format_name)
        return Outcome(
            "import",
            report.summary,
            messages=report.lines(),
            data=report.as_json(),
            exit_code=report.exit_code,
        )
    targets: list[str] | None = None
    try:
        config = read_config(root)
    except ConfigError:
        if root is not None:
            raise
        config = None
    if config is not None:
        targets = [t.format for t in config.targets]
        into = into if into is not None else config.root / "agents"
    result = run_import(
        paths,
        into=into if into is not None else Path("agents"),
        format_name=format_name,
        targets=targets,
        force=force,
        config=config,
    )
    return Outcome(
        "import",
        result.summary,
        messages=result.messages,
        data={
            "written": [str(path) for path in result.written],
            "unsupported": [
                {"path": str(path), "reason": reason} for path, reason in result.unsupported
            ],
            "narrowed": result.narrowed,
        },
    )
