"""Where a build may write: never through a symbolic link out of the bundle, and never into
an output folder that a reader would take for a whole build while it is half written.

An output folder is normally switched in whole (build/switch.py). Where it cannot be (it is on
another filesystem than the cache folder), the build writes it file by file and marks it
incomplete for that time: `INCOMPLETE` is written first and removed last, and every reader of
the folder calls `refuse_incomplete()` first.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from promptbundle.core.errors import BundleError, Location, display_path

__all__ = [
    "ESCAPE_CODE",
    "INCOMPLETE",
    "INCOMPLETE_CODE",
    "refuse_escapes",
    "refuse_escapes_within",
    "refuse_incomplete",
]

# The file a build writing an output folder file by file keeps in it until it is done.
INCOMPLETE = ".promptbundle-incomplete"
ESCAPE_CODE = "PB310"
INCOMPLETE_CODE = "PB311"


def refuse_escapes(root: Path, paths: Iterable[Path]) -> None:
    """Raise, located at the link, when a folder on the way from `root` to any of `paths`
    (each inside `root`), or the path itself, is a symbolic link leading out of `root`."""
    base = Path(os.path.realpath(root))
    for path in paths:
        current = root
        for part in path.relative_to(root).parts:
            current = current / part
            _refuse_link(base, current)


def _refuse_link(base: Path, path: Path) -> None:
    if not os.path.islink(path):
        return
    target = Path(os.path.realpath(path))
    if target == base or target.is_relative_to(base):
        return
    raise BundleError(
        f"{display_path(path)} is a symbolic link to {target}, outside the bundle: a build "
        "writes nothing through it; remove the link",
        Location(path),
        code=ESCAPE_CODE,
    )


def refuse_escapes_within(root: Path, folder: Path, *, skip: tuple[str, ...] = ()) -> None:
    """Like `refuse_escapes` for `folder`, and for every link anywhere under it (not looking
    inside entries whose name starts with one of `skip`)."""
    refuse_escapes(root, [folder])
    base = Path(os.path.realpath(root))
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return  # not there yet: nothing to write through
    for entry in entries:
        if entry.name.startswith(skip) and not entry.is_symlink():
            continue
        if entry.is_symlink():
            _refuse_link(base, Path(entry.path))
        elif entry.is_dir(follow_symlinks=False):
            refuse_escapes_within(root, Path(entry.path), skip=skip)


def refuse_incomplete(folder: Path) -> None:
    """Raise, located at the marker, when `folder` is an output folder a build was writing
    file by file and did not finish: it holds a mix of two builds."""
    marker = folder / INCOMPLETE
    if os.path.lexists(marker):
        raise BundleError(
            f"{display_path(folder)} is incomplete: a build was interrupted while writing it, "
            "so it holds parts of two builds; run promptbundle build",
            Location(marker),
            code=INCOMPLETE_CODE,
        )
