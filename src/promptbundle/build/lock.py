"""One writing build of a bundle at a time: an exclusive lock on a file in the cache folder.

A writing build holds `.promptbundle-cache/build.lock` (`flock` on POSIX, `msvcrt.locking`
on Windows) from before it stages anything until it has updated the output folder and the
no-op record. The operating system releases the lock when the holder dies, however it dies,
so a killed build never blocks the next. The holder writes its pid and start time into the
file; a build that finds the lock held waits for it (60 s, or `PROMPTBUNDLE_LOCK_TIMEOUT`
seconds), then fails naming both. Read-only builds (`--check`, and the in-memory builds of
check, diff and package) take no lock.

Render workers are forked while the lock is held: each closes its copy of the lock's file
descriptor at once, so a worker left behind by a killed build does not keep the lock.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

from promptbundle.core.errors import BundleError, Location, UsageError, display_path

__all__ = [
    "DEFAULT_TIMEOUT",
    "LOCK_FILE",
    "TIMEOUT_VARIABLE",
    "LockTimeoutError",
    "build_lock",
    "lock_timeout",
]

LOCK_FILE = "build.lock"
TIMEOUT_VARIABLE = "PROMPTBUNDLE_LOCK_TIMEOUT"
DEFAULT_TIMEOUT = 60.0
# How often a waiting build tries the lock again.
POLL_SECONDS = 0.05
# Windows locks byte ranges, and a locked range cannot be read: lock one byte far past the
# holder's pid and start time.
_WINDOWS_LOCK_OFFSET = 1 << 20

# Lock file descriptors this process holds; a forked child closes its copies (see below).
_held: set[int] = set()


class LockTimeoutError(BundleError):
    """Another build held the bundle's lock for longer than this build would wait."""


def lock_timeout() -> float:
    """Seconds a build waits for the lock: `PROMPTBUNDLE_LOCK_TIMEOUT`, else 60."""
    text = os.environ.get(TIMEOUT_VARIABLE, "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if math.isnan(seconds) or seconds < 0:
        raise UsageError(f"{TIMEOUT_VARIABLE} must be a number of seconds >= 0, not {text!r}")
    return seconds


@contextmanager
def build_lock(cache_dir: Path, *, timeout: float | None = None) -> Iterator[Path]:
    """Hold the bundle's build lock (in `cache_dir`) for the `with` block; yield its path.

    Waits up to `timeout` seconds (default: `lock_timeout()`) for another holder, then raises
    `LockTimeoutError`, located at the lock file, with the holder's pid and start time.
    """
    wait = lock_timeout() if timeout is None else timeout
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / LOCK_FILE
    try:
        # Never truncated on open: a waiting build must not erase the holder's pid.
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        raise BundleError(f"cannot open the build lock: {err}", Location(path)) from err
    try:
        try:
            _acquire(fd, path, wait)
            _held.add(fd)
            _write_holder(fd)
        except OSError as err:
            raise BundleError(f"cannot take the build lock: {err}", Location(path)) from err
        yield path
    finally:
        _held.discard(fd)
        os.close(fd)  # releases the lock


def _acquire(fd: int, path: Path, wait: float) -> None:
    deadline = time.monotonic() + wait
    while not _try_lock(fd):
        left = deadline - time.monotonic()
        if left <= 0:
            raise LockTimeoutError(
                f"another build of this bundle holds the lock {display_path(path)} "
                f"({_holder(path)}); gave up after {wait:g} s "
                f"(set {TIMEOUT_VARIABLE} to wait longer); nothing written",
                Location(path),
            )
        time.sleep(min(POLL_SECONDS, left))


def _write_holder(fd: int) -> None:
    """Record who holds the lock: `pid <pid> started <UTC time>`."""
    started = datetime.now(UTC).isoformat(timespec="seconds")
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, f"pid {os.getpid()} started {started}\n".encode("ascii"))


def _holder(path: Path) -> str:
    """Who holds the lock, as its holder wrote it (`pid 123, started ...`)."""
    try:
        words = path.read_text(encoding="ascii").split()
    except (OSError, UnicodeDecodeError):
        words = []
    if len(words) == 4 and words[0] == "pid" and words[2] == "started":
        return f"pid {words[1]}, started {words[3]}"
    return "pid unknown"


if sys.platform == "win32":  # pragma: no cover - the tests run on POSIX
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _close_in_child() -> None:
        """A forked process drops its copies of held locks: only the holder keeps them."""
        for fd in _held:
            with suppress(OSError):
                os.close(fd)
        _held.clear()

    os.register_at_fork(after_in_child=_close_in_child)
