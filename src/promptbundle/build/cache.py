"""The build cache folder: compiled templates, and the record that lets a no-op build stop early.

After a full build, `.promptbundle-cache/build-state.json` records the size and mtime of every
input (the configuration, every file and folder under agents/, fragments/ and targets/, every
template the build loaded), of every file and folder in the output folder, and of the code
that built them. The next full build first compares those with the disk: when nothing
differs it reports the same result without loading or rendering anything. Any edit, new,
deleted or renamed file in the sources or the output folder makes it build for real.

Like git's index, a file changed in the same clock tick as the build started cannot be told
apart by its mtime, so an input whose mtime is not older than the build's start is never
trusted: the next build renders again.

Builds may run at once (one writing build, holding the lock of build/lock.py, and any number of
read-only ones): every file here is replaced in one rename from a temporary file of its own,
so no writer can truncate or move another's half-written file.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISDIR
from typing import Any

from promptbundle import __version__
from promptbundle.core.bounded import load_json
from promptbundle.core.errors import BundleError, Location
from promptbundle.core.model import SOURCE_FOLDERS

__all__ = [
    "CACHE_FOLDER",
    "STAGING_PREFIX",
    "TEMPLATES_FOLDER",
    "InputSnapshot",
    "cache_folder",
    "code_key",
    "forget",
    "prepare_cache",
    "record_build",
    "snapshot_inputs",
    "up_to_date",
]

CACHE_FOLDER = ".promptbundle-cache"
STATE_FILE = "build-state.json"
STAMP_FILE = "build-started"
# Folders a writing build stages its outputs in (build/staging.py).
STAGING_PREFIX = "staging-"
# The folder build/pool.py keeps compiled templates in.
TEMPLATES_FOLDER = "templates"
CONFIG_FILES = ("promptbundle.toml", "pyproject.toml")
# Libraries that shape outputs or their diagnostics (a cached no-op result holds both);
# a reinstall changes their files' mtimes.
LIBRARIES = ("jinja2", "markdown_it", "yaml", "jsonschema", "fastjsonschema")
FORMAT_VERSION = 2

# path -> [size, mtime_ns] for files, [-1, mtime_ns] for folders, None when absent; a
# third item, a CRC-32 of the content, for an output changed in the tick it was recorded.
Stats = dict[str, list[int] | None]


def cache_folder(root: Path) -> Path:
    return root / CACHE_FOLDER


def prepare_cache(root: Path) -> Path:
    """Create the cache folder (ignored by git through its own .gitignore); return it."""
    folder = cache_folder(root)
    try:
        if not (folder / ".gitignore").is_file():
            folder.mkdir(parents=True, exist_ok=True)
            _write_atomically(folder / ".gitignore", b"# Created by promptbundle.\n*\n")
    except OSError as err:
        raise BundleError(f"cannot write the build cache: {err}", Location(folder)) from err
    return folder


def _write_atomically(path: Path, content: bytes) -> None:
    """Replace `path` in one rename, through a temporary file no other process writes: builds
    that run at once (a writing build and read-only ones) never break each other's files."""
    from promptbundle.core.files import atomic_write

    atomic_write(path, content)


def _stat(path: Path | str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [-1 if S_ISDIR(st.st_mode) else st.st_size, st.st_mtime_ns]


def _scan(folder: Path, prefix: str, into: Stats) -> None:
    """Every file and folder under `folder`, keyed by `prefix` + relative path."""
    into[prefix] = _stat(folder)
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        name = f"{prefix}/{entry.name}"
        if entry.is_dir(follow_symlinks=False):
            _scan(Path(entry.path), name, into)
        else:
            try:
                st = entry.stat()
            except OSError:
                into[name] = None
                continue
            into[name] = [st.st_size, st.st_mtime_ns]


def _code_key() -> dict[str, Any]:
    """What the output also depends on: this code, the libraries, Python, the cache format."""
    package = Path(__file__).parent.parent
    code: Stats = {}
    _scan(package, "promptbundle", code)
    code = {k: v for k, v in code.items() if k.endswith(".py")}
    for name in LIBRARIES:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        code[name] = _stat(origin) if origin else None
    return {
        "format": FORMAT_VERSION,
        "promptbundle": __version__,
        "python": sys.version,
        "code": code,
    }


def code_key() -> dict[str, Any]:
    """What every output depends on besides the bundle: this code, the libraries, Python."""
    return _code_key()


@dataclass
class InputSnapshot:
    """Input stats taken before the build read anything, and the tick the build started in."""

    started_ns: int
    inputs: Stats = field(default_factory=dict)


def snapshot_inputs(root: Path) -> InputSnapshot:
    """Stat every source a build reads, before it reads them."""
    snapshot = InputSnapshot(started_ns=_tick(root))
    for name in CONFIG_FILES:
        snapshot.inputs[name] = _stat(root / name)
    for name in SOURCE_FOLDERS:
        _scan(root / name, name, snapshot.inputs)
    return snapshot


def _trusted(stats: Stats, started_ns: int) -> bool:
    return all(v is None or v[1] < started_ns for v in stats.values())


def record_build(
    root: Path,
    out_dir: Path,
    snapshot: InputSnapshot,
    sources: Iterable[str],
    *,
    key: dict[str, Any],
    result: dict[str, Any],
    wrote: Iterable[Path] = (),
) -> None:
    """After a full build: remember its inputs, outputs and result (`key` says how it ran).

    `wrote` lists files the build itself wrote among the sources (the fragment index): they
    and their folders are recorded as they are now, not as they were before the build.
    """
    inputs = dict(snapshot.inputs)
    for rel in sources:  # templates outside the scanned folders
        if rel not in inputs:
            inputs[rel] = _stat(root / rel)
    owned: Stats = {}
    for path in wrote:
        for item in (path, path.parent):
            rel = item.relative_to(root).as_posix()
            inputs.pop(rel, None)
            owned[rel] = _stat(item)
    outputs: Stats = {}
    _scan(out_dir, ".", outputs)
    if not _trusted(inputs, snapshot.started_ns) or any(v is None for v in outputs.values()):
        forget(root)
        return
    # A file written in the tick this record is made could change again unseen within that
    # tick: keep a fingerprint of its content to compare next time.
    written_ns = _tick(root)
    for found, folder in ((outputs, out_dir), (owned, root)):
        for rel, entry in found.items():
            if entry is not None and entry[1] >= written_ns:
                found[rel] = [*entry, _fingerprint(folder / rel)]
    state = {
        "key": {**key, **_code_key(), "out": str(out_dir)},
        "started_ns": snapshot.started_ns,
        "inputs": inputs,
        "outputs": outputs,
        "owned": owned,
        "result": result,
    }
    path = cache_folder(root) / STATE_FILE
    _write_atomically(path, json.dumps(state, separators=(",", ":")).encode("utf-8"))


def _tick(root: Path) -> int:
    """The file system's clock now, as the mtime of a file written now."""
    stamp = prepare_cache(root) / STAMP_FILE
    try:
        stamp.write_bytes(b"")
        return stamp.stat().st_mtime_ns
    except OSError as err:
        raise BundleError(f"cannot write the build cache: {err}", Location(stamp)) from err


def _fingerprint(path: Path) -> int:
    """A digest of a file's bytes or a folder's entry names (-1 when unreadable)."""
    import zlib

    try:
        if path.is_dir():
            return zlib.crc32(
                "\0".join(sorted(os.listdir(path))).encode("utf-8", "surrogateescape")
            )
        return zlib.crc32(path.read_bytes())
    except OSError:
        return -1


def _same(path: str, recorded: list[int] | None) -> bool:
    now = _stat(path)
    if now is None or recorded is None:
        return now is None and recorded is None
    if len(recorded) == 3:
        return now == recorded[:2] and _fingerprint(Path(path)) == recorded[2]
    return now == recorded


def forget(root: Path) -> None:
    """Drop the no-op record (if it can be): the next full build renders."""
    with suppress(OSError):
        (cache_folder(root) / STATE_FILE).unlink(missing_ok=True)


def _staging(root: Path) -> bool:
    """Whether a staging folder exists: a build is writing, or one was killed and its folder
    is left (only a real build, holding the lock, removes it)."""
    try:
        with os.scandir(cache_folder(root)) as entries:
            return any(e.name.startswith(STAGING_PREFIX) for e in entries)
    except OSError:
        return False


def up_to_date(root: Path, *, key: dict[str, Any]) -> dict[str, Any] | None:
    """The recorded result when nothing the last full build read or wrote has changed."""
    try:
        state = load_json((cache_folder(root) / STATE_FILE).read_text(encoding="utf-8"))
        out_dir = Path(state["key"]["out"])
        if state["key"] != {**key, **_code_key(), "out": str(out_dir)}:
            return None
        started, inputs = state["started_ns"], state["inputs"]
        outputs, owned = state["outputs"], state["owned"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _trusted(inputs, started) or _staging(root):
        return None
    # Plain string paths: thousands of pathlib joins would cost more than the stats.
    base = str(root)
    for rel, recorded in inputs.items():
        if _stat(os.path.join(base, rel)) != recorded:
            return None
    for found, folder in ((outputs, str(out_dir)), (owned, base)):
        for rel, recorded in found.items():
            if not _same(os.path.join(folder, rel), recorded):
                return None
    result: dict[str, Any] = state["result"]
    return result
