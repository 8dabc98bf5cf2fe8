"""A source's file type, checked before it is opened, and its bytes read as UTF-8 text.

A FIFO named like a source would hang a build that opens it, a device would be read
forever, and a folder or a dangling link would end in a traceback: each is refused by its
type (`lstat`) first, and what passes is opened without blocking and checked again.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["decode_utf8", "irregular_reason", "read_regular"]


def irregular_reason(path: Path) -> str | None:
    """What `path` is when it is not a regular file a source can be read from, by its type
    alone (`lstat`, before anything opens it): a folder, a FIFO, a device, a socket, a
    dangling link or a link to any of those. None for a regular file, for a link to one,
    and for nothing at all."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return None
    if stat.S_ISLNK(mode):
        return _link_reason(path)
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


def _link_reason(path: Path) -> str | None:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return f"a dangling symbolic link (to {os.readlink(path)})"
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
