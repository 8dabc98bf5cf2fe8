"""Build through a staging folder: outputs go to disk as they are made, dist/ changes last.

`build_outputs()` keeps every output's bytes in memory until the build writes them; with
1,000 agents x 4 targets that is most of the build's memory. Here each process that renders
an agent also validates its files and writes them into a fresh folder inside
`.promptbundle-cache/`, and keeps only the path, digest, size, sources and diagnostics. When
every output is made and the build has no error, `emit_staged()` moves the changed files into
the output folder (a rename on one filesystem), deletes the rest of the staging folder,
removes orphans and writes the manifest last: the same guarantees and the same bytes as
`emit()` after `build_outputs()`, for any number of processes. A build that fails, whether
an output is invalid or anything raises, leaves the output folder as it was.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promptbundle.build.emit import EmitReport, atomic_write, sync_folder
from promptbundle.build.pipeline import BuildFindings
from promptbundle.core.errors import BundleError, Location
from promptbundle.formats.registry import Diagnostic, Format, OutputFile
from promptbundle.sources.prompts import Bundle

__all__ = ["StagedBuild", "StagedOutput", "Stager", "build_staged", "emit_staged", "staging_folder"]


@dataclass(frozen=True)
class StagedOutput:
    """An output written into the staging folder: what the build needs to know of it."""

    path: str
    target: str
    agent: str | None
    sources: tuple[str, ...]
    sha256: str
    size: int
    # What validating it found (before an agent's suppressions are applied).
    diagnostics: tuple[Diagnostic, ...] = ()

    def manifest_entry(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "target": self.target,
            "agent": self.agent,
            "sha256": self.sha256,
            "bytes": self.size,
            "sources": list(self.sources),
        }


@dataclass(frozen=True)
class Stager:
    """Validates files and writes them into `folder` (a render sink; picklable)."""

    folder: Path
    formats: Mapping[str, Format]

    def __call__(self, fmt: Format | None, files: list[OutputFile]) -> list[StagedOutput]:
        return [self.stage(output) for output in files]

    def stage(self, output: OutputFile) -> StagedOutput:
        fmt = self.formats.get(output.target)
        diagnostics = tuple(fmt.validate(output)) if fmt is not None else ()
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
            diagnostics,
        )


@dataclass
class StagedBuild(BuildFindings):
    """Every output of a build, staged on disk, with what the formats dropped and found."""

    folder: Path = field(kw_only=True)
    outputs: list[StagedOutput] = field(default_factory=list)


@contextmanager
def staging_folder(cache_dir: Path) -> Iterator[Path]:
    """A new, empty folder inside the cache folder, deleted with what is left in it."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="staging-", dir=cache_dir))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def build_staged(
    bundle: Bundle,
    *,
    folder: Path,
    targets: Iterable[str] = (),
    agents: Iterable[str] = (),
    cache_dir: Path | None = None,
    jobs: int = 1,
) -> StagedBuild:
    """`build_outputs()`, with every output validated and written into `folder` as it is made.

    The outputs, diagnostics and dropped fields come in the same order as build_outputs()
    gives them.
    """
    from promptbundle.build.catalog import catalog_output
    from promptbundle.build.pipeline import (
        apply_suppressions,
        check_paths,
        render_selected,
        select_formats,
    )

    targets, agents = tuple(targets), tuple(agents)
    formats = select_formats(bundle, targets, agents)
    result = StagedBuild(bundle, folder=folder, partial=bool(targets or agents))
    stager = Stager(folder, formats)
    parts, rendered_by_target = render_selected(
        bundle, formats, agents, cache_dir=cache_dir, jobs=jobs, sink=stager
    )
    for name in formats:
        for part in parts:
            result.outputs += part.staged.get(name, [])
            result.lossy += part.lossy.get(name, [])
    for name, fmt in formats.items():
        result.outputs += stager(fmt, fmt.bundle_outputs(rendered_by_target[name]))
    if not result.partial:
        result.outputs.append(stager.stage(catalog_output(bundle, rendered_by_target)))
    check_paths(result.outputs)
    result.diagnostics, result.suppressed = apply_suppressions(
        bundle, ((staged.agent, staged.diagnostics) for staged in result.outputs)
    )
    result.outputs.sort(key=lambda o: o.path)
    result.lossy.sort(key=lambda x: (x.agent, x.target, x.field))
    return result


def emit_staged(build: StagedBuild) -> EmitReport:
    """Make the output folder hold exactly the staged outputs plus the manifest.

    Checks first, as emit() does; then moves each changed file from the staging folder into
    place, leaves unchanged files untouched, removes files no longer produced (not for a
    partial build) and writes the manifest last.
    """
    staged = {o.path: o for o in build.outputs}
    return sync_folder(
        build.bundle.config,
        [o.manifest_entry() for o in build.outputs],
        partial=build.partial,
        same=lambda rel, path: _holds(path, staged[rel]),
        put=lambda rel, path: _move(build.folder / rel, path),
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
