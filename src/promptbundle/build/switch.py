"""Switch the output folder in whole: a reader sees the previous build or the new one.

The staging folder holds every output the build made. `switch_folder()` completes it into the
new output folder: files whose bytes did not change, what a partial build keeps and what the
build never owns (`release/`) are hard-linked from the current folder (copied where links
cannot be made), so their bytes and times stay as they were; then the manifest. When nothing
differs, the output folder is left untouched. Otherwise the two folders trade places in one
`renameat2(RENAME_EXCHANGE)` on Linux, or in two renames elsewhere (for that moment the output
folder is absent, never mixed); the old tree, now in the cache folder, is deleted with the
staging folder. A build killed at any moment leaves either folder whole, and its leftovers
in the cache folder are removed by the next build (build/staging.py).

Renames work only within one filesystem: `can_switch()` says whether they do, and otherwise
the build updates the folder file by file (emit.sync_folder), marked incomplete meanwhile.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import shutil
import stat
import sys
from collections.abc import Sequence
from pathlib import Path

from promptbundle.build.emit import RESERVED, EmitReport, plan
from promptbundle.build.manifest import MANIFEST, Built, manifest_entry
from promptbundle.core.errors import BundleError, Location, display_path
from promptbundle.core.model import BundleConfig
from promptbundle.core.writes import INCOMPLETE

__all__ = ["can_switch", "switch_folder"]

# Why a hard link may fail where a copy works: another filesystem, no links there, too many.
_NO_LINK = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP}
# What renaming across mount points fails with (bind mounts share a device number).
_ACROSS_MOUNTS = {errno.EXDEV, errno.EBUSY}
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def can_switch(staged: Path, out_dir: Path) -> bool:
    """Whether `staged` can be renamed onto `out_dir`: one filesystem, and the output folder
    is not a mount point of its own."""
    try:
        device = _device(staged)
        parent = out_dir.parent
        while not parent.exists():
            parent = parent.parent
        if _device(parent) != device:
            return False
        if not out_dir.exists():
            return True
        return _device(out_dir) == device and not os.path.ismount(out_dir)
    except OSError:
        return False


def _device(path: Path) -> int:
    return os.stat(path).st_dev


def switch_folder(
    config: BundleConfig,
    outputs: Sequence[Built],
    staged: Path,
    out_dir: Path,
    *,
    partial: bool,
) -> EmitReport | None:
    """Make `out_dir` the staged outputs plus what it keeps, and the manifest, in one switch.

    Checks first, like sync_folder. `staged` holds the outputs; after a switch it holds the
    previous tree (the caller deletes it). Raises a located error, with the output folder
    unchanged, when anything fails; returns None, the output folder unchanged and the staged
    outputs still in `staged`, when the system refuses to rename across mounts after all.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise BundleError(f"{display_path(out_dir)} is a file, not a folder", Location(out_dir))
    entries = [manifest_entry(o) for o in outputs]
    existing, manifest = plan(config, out_dir, entries, partial=partial)
    report, kept = _compare(out_dir, outputs, existing, partial=partial)
    same_manifest = _same_bytes(out_dir / MANIFEST, manifest)
    if not (report.written or report.removed or not same_manifest or _unfinished(out_dir)):
        return report  # nothing differs: the folder stays as it is, not even rewritten
    try:
        _complete(out_dir, staged, report.unchanged, kept)
        _put_manifest(out_dir / MANIFEST, staged / MANIFEST, manifest, same=same_manifest)
        _switch(staged, out_dir)
    except OSError as err:
        if err.errno in _ACROSS_MOUNTS:
            return None

        raise BundleError(
            f"cannot write the output: {err}; {display_path(out_dir)} is unchanged",
            Location(out_dir),
        ) from err
    return report


def _compare(
    out_dir: Path, outputs: Sequence[Built], existing: set[str], *, partial: bool
) -> tuple[EmitReport, list[str]]:
    """What the build writes, leaves unchanged and removes, and the files a partial build
    keeps without making them."""
    report = EmitReport()
    for output in sorted(outputs, key=lambda o: o.path):
        # A reused output was found with these bytes before the render (incremental.py).
        reused = getattr(output, "reused", False)
        same = output.path in existing and (reused or _holds(out_dir / output.path, output))
        (report.unchanged if same else report.written).append(output.path)
    others = sorted(existing - {o.path for o in outputs} - {MANIFEST})
    if partial:
        return report, others
    report.removed += others
    return report, []


def _unfinished(out_dir: Path) -> bool:
    """Whether there is no output folder yet, or one marked incomplete."""
    return not out_dir.exists() or os.path.lexists(out_dir / INCOMPLETE)


def _complete(out_dir: Path, staged: Path, unchanged: list[str], kept: list[str]) -> None:
    """Complete `staged` into the new output folder: the unchanged files and those a partial
    build keeps, as they are in `out_dir`, and what the build does not own."""
    for rel in unchanged:
        _carry(out_dir / rel, staged / rel, replace=True)
    for rel in kept:
        _carry(out_dir / rel, staged / rel)
    for folder in RESERVED:
        _carry_tree(out_dir / folder.rstrip("/"), staged / folder.rstrip("/"))
    os.chmod(staged, _folder_mode(out_dir))


def _put_manifest(old: Path, new: Path, manifest: bytes, *, same: bool) -> None:
    """Put the manifest in the new tree (the old file when it has the same bytes)."""
    if same:
        _carry(old, new)
        return
    new.write_bytes(manifest)
    os.chmod(new, 0o644)


def _holds(path: Path, output: Built) -> bool:
    """Whether `path` is a regular file with exactly the output's bytes."""
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size != output.size:
            return False
        return hashlib.sha256(path.read_bytes()).hexdigest() == output.sha256
    except OSError:
        return False


def _same_bytes(path: Path, content: bytes) -> bool:
    try:
        return not path.is_symlink() and path.read_bytes() == content
    except OSError:
        return False


def _carry(source: Path, target: Path, *, replace: bool = False) -> None:
    """Put `source` (a file, or a link kept as a link) at `target` in the new tree."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if replace:
        target.unlink(missing_ok=True)  # an output reused, not staged, has no file there
    if source.is_symlink():
        os.symlink(os.readlink(source), target)
        return
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError as err:
        if err.errno not in _NO_LINK:
            raise
        shutil.copy2(source, target)


def _carry_tree(source: Path, target: Path) -> None:
    """Carry a folder the build does not own (its files, links and empty folders)."""
    if source.is_symlink() or source.is_file():
        _carry(source, target)
        return
    if not source.is_dir():
        return
    for folder, dirs, files in os.walk(source):
        here = Path(folder)
        into = target / here.relative_to(source)
        into.mkdir(parents=True, exist_ok=True)
        for name in sorted(files) + sorted(d for d in dirs if (here / d).is_symlink()):
            _carry(here / name, into / name)


def _folder_mode(out_dir: Path) -> int:
    """The permissions of the output folder now, or those a new folder gets."""
    try:
        return stat.S_IMODE(os.stat(out_dir).st_mode)
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o777 & ~mask


def _switch(staged: Path, out_dir: Path) -> None:
    """Put the staged tree at `out_dir`; the previous one ends up at `staged` (or is deleted)."""
    if not os.path.lexists(out_dir):
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staged, out_dir)
        return
    if exchange(staged, out_dir):
        return
    aside = staged.with_name(staged.name + "-previous")
    os.rename(out_dir, aside)
    try:
        os.rename(staged, out_dir)
    except OSError:
        os.rename(aside, out_dir)
        raise
    # Switched: the previous tree goes (a staging-* name, so the next build removes what is
    # left of it if this one is killed now).
    shutil.rmtree(aside, ignore_errors=True)


def exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one step (Linux `renameat2(RENAME_EXCHANGE)`); False where the
    system or the filesystem cannot."""
    if sys.platform != "linux":
        return False
    call = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if call is None:
        return False
    done = call(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    if done == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(second))
