"""File helpers every layer shares: digests, atomic writes, and reading only regular files."""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from pathlib import Path

from promptbundle.core.errors import BundleError

__all__ = ["atomic_write", "decode_utf8", "irregular_reason", "read_regular", "sha256"]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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


def irregular_reason(path: Path, root: Path | None = None) -> str | None:
    """What `path` is when it is not a regular file a source can be read from, by its type
    alone (`lstat`, before anything opens it): a folder, a FIFO, a device, a socket, a
    dangling link or a link out of `root`. None for a regular file, a link to one inside `root`, or
    nothing at all."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return None
    if stat.S_ISLNK(mode):
        return _link_reason(path, root)
    return _type_reason(mode)


def _type_reason(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a socket or another special file"


def _link_reason(path: Path, root: Path | None) -> str | None:
    target = os.readlink(path)
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return f"a dangling symbolic link (to {target})"
    resolved = path.resolve()
    if root is not None and not resolved.is_relative_to(root.resolve()):
        return f"a symbolic link out of the bundle (to {target})"
    reason = _type_reason(mode)
    return f"a symbolic link to {reason}" if reason else None


def read_regular(path: Path) -> bytes:
    """The bytes of a regular file. Opened without blocking and checked once open, so a
    FIFO or a device put in its place after any earlier check never hangs the reader
    (OSError when it is not a regular file)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a regular file")
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def decode_utf8(data: bytes) -> tuple[str | None, int, int]:
    """(text, 0, 0) for UTF-8 bytes; else (None, line, column) of the first bad byte,
    1-based, the column counted in characters."""
    try:
        return data.decode("utf-8"), 0, 0
    except UnicodeDecodeError as err:
        head = data[: err.start].decode("utf-8")
        line_start = head.rfind("\n") + 1
        return None, head.count("\n") + 1, len(head) - line_start + 1
