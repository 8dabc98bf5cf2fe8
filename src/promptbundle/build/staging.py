"""Where a build keeps its outputs as the render processes make them: in memory, or on disk.

Every output is validated by the process that rendered it, then kept by a sink. `InMemory`
keeps its bytes (for check, diff, package, explain and the snapshot plugin). `Stager` writes
them into a fresh folder inside `.promptbundle-cache/` and keeps only the path, digest, size,
sources and diagnostics: with 1,000 agents x 4 targets the bytes would be most of a build's
memory. When every output is made and the build has no error, `emit_staged()` completes the
staging folder into the new output folder and switches it in whole (build/switch.py); where
the output folder is on another filesystem, it moves the changed files in one by one, removes
orphans and writes the manifest last, the folder marked incomplete meanwhile. A build that
fails, whether an output is invalid or anything raises, leaves the output folder as it was.

A build killed mid-way (SIGKILL, power loss) leaves its staging folder behind: the next writing
build removes every `staging-*` folder with `remove_leftovers()` while it holds the build lock
(build/lock.py), before it makes its own, so no running build's folder is ever removed.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from promptbundle.build.cache import STAGING_PREFIX, TEMPLATES_FOLDER
from promptbundle.build.emit import EmitReport, sync_folder
from promptbundle.build.manifest import manifest_entry
from promptbundle.build.switch import can_switch, switch_folder
from promptbundle.core.diagnostics import Diagnostic
from promptbundle.core.errors import BundleError, Location
from promptbundle.core.files import atomic_write
from promptbundle.core.model import BundleConfig, OutputFile
from promptbundle.formats.base import Format

__all__ = [
    "InMemory",
    "StagedOutput",
    "Stager",
    "emit_staged",
    "remove_leftovers",
    "staging_folder",
]


def _validate(formats: Mapping[str, Format], output: OutputFile) -> tuple[Diagnostic, ...]:
    fmt = formats.get(output.target)
    return tuple(fmt.validate(output)) if fmt is not None else ()


@dataclass(frozen=True)
class InMemory:
    """Validates files and keeps them, bytes included (a render sink; picklable)."""

    formats: Mapping[str, Format]

    def __call__(self, fmt: Format | None, files: list[OutputFile]) -> list[OutputFile]:
        return [self.keep(output) for output in files]

    def keep(self, output: OutputFile) -> OutputFile:
        return dataclasses.replace(output, diagnostics=_validate(self.formats, output))


@dataclass(frozen=True)
class StagedOutput:
    """An output written into the staging folder: what the build needs to know of it."""

    path: str
    target: str
    agent: str | None
    sources: tuple[str, ...]
    sha256: str
    size: int
    verbatim: bool = False
    # What validating it found (before a prompt's suppressions are applied).
    diagnostics: tuple[Diagnostic, ...] = ()
    kind: str | None = None
    # Not staged: the last build's file, found in the output folder with these bytes just
    # before this build rendered (build/incremental.py).
    reused: bool = False


@dataclass(frozen=True)
class Stager:
    """Validates files and writes them into `folder` (a render sink; picklable)."""

    folder: Path
    formats: Mapping[str, Format]

    def __call__(self, fmt: Format | None, files: list[OutputFile]) -> list[StagedOutput]:
        return [self.keep(output) for output in files]

    def keep(self, output: OutputFile) -> StagedOutput:
        diagnostics = _validate(self.formats, output)
        path = self.folder / output.path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.fchmod(fd, 0o644)
                view = memoryview(output.content)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
        except OSError as err:
            raise BundleError(f"cannot stage {output.path}: {err}", Location(path)) from err
        return StagedOutput(
            output.path,
            output.target,
            output.agent,
            output.sources,
            hashlib.sha256(output.content).hexdigest(),
            len(output.content),
            output.verbatim,
            diagnostics,
            output.kind,
        )


@contextmanager
def staging_folder(cache_dir: Path) -> Iterator[Path]:
    """A new, empty folder inside the cache folder, deleted with what is left in it."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=cache_dir))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remove_leftovers(cache_dir: Path) -> list[str]:
    """Remove the staging folders (and the previous output folders a switch put there) and the
    temporary files killed builds left in `cache_dir`; call it only holding the build lock.
    Returns a warning line for each that could not be removed."""
    try:
        entries = sorted(os.scandir(cache_dir), key=lambda entry: entry.name)
    except OSError:
        return []  # no cache folder yet: nothing left over
    failed = _remove_temporaries([cache_dir, cache_dir / TEMPLATES_FOLDER])
    for entry in entries:
        if not (entry.name.startswith(STAGING_PREFIX) and entry.is_dir(follow_symlinks=False)):
            continue
        try:
            shutil.rmtree(entry.path)
        except OSError as err:
            if not os.path.lexists(entry.path):
                continue
            failed.append(
                f"{Location(entry.path)}: warning: cannot remove the staging folder an "
                f"interrupted build left: {err}"
            )
    return failed


def _remove_temporaries(folders: list[Path]) -> list[str]:
    """Remove the `*.tmp` files in `folders`: each is renamed into place by the process that
    writes it, so one that is left belongs to a killed build (a read-only build that loses
    one only skips keeping a compiled template or the headings for later)."""
    failed = []
    for folder in folders:
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError:
            continue
        for entry in entries:
            if not (entry.name.endswith(".tmp") and entry.is_file(follow_symlinks=False)):
                continue
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                continue
            except OSError as err:
                failed.append(
                    f"{Location(entry.path)}: warning: cannot remove the temporary file an "
                    f"interrupted build left: {err}"
                )
    return failed


def emit_staged(
    config: BundleConfig, outputs: list[StagedOutput], folder: Path, *, partial: bool
) -> EmitReport:
    """Make the output folder hold exactly the staged outputs plus the manifest (and, for a
    `partial` build, the files it held that the build did not make).

    Checks first; then switches the completed staging folder in for the output folder, or,
    across filesystems, moves each changed file from the staging folder into place, leaves
    unchanged files untouched, removes files no longer produced and writes the manifest last.
    """
    out_dir = Path(os.path.realpath(config.out_dir))
    if can_switch(folder, out_dir):
        switched = switch_folder(config, outputs, folder, out_dir, partial=partial)
        if switched is not None:
            return switched
    staged = {o.path: o for o in outputs}
    return sync_folder(
        config,
        [manifest_entry(o) for o in outputs],
        partial=partial,
        same=lambda rel, path: staged[rel].reused or _holds(path, staged[rel]),
        put=lambda rel, path: _move(folder / rel, path),
    )


def _holds(path: Path, staged: StagedOutput) -> bool:
    """Whether the file at `path` has exactly the staged output's bytes."""
    try:
        if path.stat().st_size != staged.size:
            return False
        return hashlib.sha256(path.read_bytes()).hexdigest() == staged.sha256
    except OSError:
        return False


def _move(source: Path, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise BundleError(f"cannot write {path}: a folder is in the way")
    try:
        os.replace(source, path)
    except OSError as err:
        if err.errno != errno.EXDEV:
            raise
        atomic_write(path, source.read_bytes())  # the output folder is on another filesystem
