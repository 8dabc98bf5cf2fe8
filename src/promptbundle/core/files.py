"""File helpers every layer shares: digests, atomic writes, and paths kept inside a folder."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from promptbundle.core.errors import BundleError, Location, PromptBundleError, raise_collected

__all__ = [
    "ESCAPE_CODE",
    "atomic_write",
    "check_no_symlink_escape",
    "check_paths_inside",
    "file_sha256",
    "is_plain_relative",
    "resolve_inside",
    "sha256",
]

# The check code of a write, delete or read that would leave its folder (docs/checks.md).
ESCAPE_CODE = "PB307"
_CHUNK = 1 << 16


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read in chunks (never the whole file in memory)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write(path: Path, content: bytes) -> None:
    """Replace `path` with `content` in one rename: a reader sees the old file or the new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise BundleError(f"cannot write {path}: a folder is in the way")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".pb-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def is_plain_relative(rel: object) -> bool:
    """Whether `rel` is a relative POSIX path that stays where it is put: no empty, `.` or
    `..` component, no leading `/`, no backslash, no NUL and no drive letter (`C:`); a colon
    elsewhere is a file name's (`svelte:a11y.md`)."""
    if not isinstance(rel, str) or not rel or "\\" in rel or "\0" in rel:
        return False
    if len(rel) >= 2 and rel[1] == ":" and rel[0].isalpha():
        return False
    parts = rel.split("/")
    return not PurePosixPath(rel).is_absolute() and all(p not in ("", ".", "..") for p in parts)


def resolve_inside(root: Path, relative: str) -> Path:
    """`root / relative`, refusing (PB307, located at `root`) a path that is not plain and
    relative, or that goes through a symbolic link leading outside `root`."""
    if not is_plain_relative(relative):
        raise BundleError(
            f"{relative!r} is not a relative path inside {root}", Location(root), code=ESCAPE_CODE
        )
    path = root / relative
    check_no_symlink_escape(root, path)
    return path


def check_no_symlink_escape(root: Path, path: Path) -> None:
    """Raise (PB307, located at the link) when `path` lies outside `root`, or when `path` or a
    folder between `root` and it is a symbolic link that resolves outside `root`. A link that
    stays inside `root` is allowed; `root` itself may be reached through links."""
    try:
        rel = path.relative_to(root)
    except ValueError:
        raise BundleError(f"{path} is outside {root}", Location(path), code=ESCAPE_CODE) from None
    real_root = Path(os.path.realpath(root))
    current = root
    for part in rel.parts:
        current = current / part
        if not current.is_symlink():
            continue
        real = Path(os.path.realpath(current))
        if real != real_root and not real.is_relative_to(real_root):
            raise BundleError(
                f"{current.relative_to(root).as_posix()} is a symbolic link to {real}, outside "
                f"{root}; refusing to go through it",
                Location(current),
                code=ESCAPE_CODE,
            )


def check_paths_inside(root: Path, rels: Iterable[str]) -> None:
    """`resolve_inside` for every path at once, before anything is written: one error per
    offending link or path (several links behind one link are one error)."""
    errors: dict[str, PromptBundleError] = {}
    for rel in sorted(set(rels)):
        try:
            resolve_inside(root, rel)
        except BundleError as err:
            errors.setdefault(str(err), err)
    raise_collected(errors.values())
