"""`promptbundle diff`: the rendered change between two revisions, grouped by its cause."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from promptbundle.commands.outcome import Outcome
from promptbundle.core.errors import PromptBundleError, UsageError
from promptbundle.review.diff import DiffError, diff_revisions
from promptbundle.review.report import DIFF_FORMATS, diff_json, format_markdown, format_text

__all__ = ["run_diff"]


def run_diff(
    root: Path | None,
    base: str | None = None,
    head: str | None = None,
    *,
    fmt: str = "text",
    stat: bool = False,
    targets: Iterable[str] = (),
    agents: Iterable[str] = (),
) -> Outcome:
    """Build both revisions in memory and compare; exit 0 when nothing changed, 1 when
    something did. Every failure raises DiffError (exit code 2)."""
    if fmt not in DIFF_FORMATS:
        raise UsageError(f"unknown format {fmt!r} (formats: {', '.join(DIFF_FORMATS)})")
    try:
        diff = diff_revisions(root, base, head, targets=targets, agents=agents)
    except PromptBundleError as err:
        raise DiffError(err) from err
    data = diff_json(diff, stat=stat)
    if fmt == "markdown":
        document = format_markdown(diff, stat=stat)
    elif fmt == "json":
        document = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        document = format_text(diff, stat=stat)
    return Outcome("diff", document=document, data=data, exit_code=1 if diff.changed else 0)
