"""The build command as a library call: load, render, validate, then write or compare."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from promptbundle.core.errors import BuildFailedError, UsageError

if TYPE_CHECKING:
    from promptbundle.build.cache import InputSnapshot
    from promptbundle.build.pipeline import BuildResult
    from promptbundle.build.staging import StagedBuild

__all__ = ["BuildOutcome", "run_build"]


@dataclass
class BuildOutcome:
    """What the build did, as lines for the user and an exit code."""

    summary: str
    messages: list[str] = field(default_factory=list)
    exit_code: int = 0
    # The lossiness report: fields formats dropped, one line per field and target.
    notes: list[str] = field(default_factory=list)


def run_build(
    root: Path | None,
    *,
    targets: Iterable[str] = (),
    agents: Iterable[str] = (),
    strict: bool = False,
    check: bool = False,
    jobs: int | None = None,
) -> BuildOutcome:
    """Build the bundle at `root`; with `check`, only report how dist/ differs.

    A full build stops early, with the last result, when nothing it read or wrote changed
    (see buildcache). `jobs` is the number of processes that render (default: one per core,
    fewer for a small bundle); compiled templates are kept in the bundle's cache folder.
    """
    from promptbundle.build import cache as buildcache
    from promptbundle.sources.config import find_root

    targets, agents = tuple(targets), tuple(agents)
    if check and (targets or agents):
        raise UsageError("--check compares the whole output folder; drop --target/--agent")
    root = root.resolve() if root is not None else find_root(Path.cwd())
    # Only a full build records what it read and wrote, and only a full build can be skipped.
    full = not (targets or agents or check)
    key = {"strict": strict}
    if full and (done := buildcache.up_to_date(root, key=key)) is not None:
        return BuildOutcome(done["summary"], done["messages"], notes=done.get("notes", []))
    snapshot = buildcache.snapshot_inputs(root) if full and _is_bundle(root) else None

    from promptbundle.build.pipeline import build_outputs, load
    from promptbundle.build.pool import default_jobs

    bundle = load(root)
    cache_dir = buildcache.prepare_cache(root)
    jobs = default_jobs() if jobs is None else jobs
    if check:
        return _finish(
            build_outputs(bundle, targets=targets, agents=agents, cache_dir=cache_dir, jobs=jobs),
            root=root,
            strict=strict,
            snapshot=snapshot,
            key=key,
        )
    # Writing builds stage their outputs on disk as they are made (see staging.py).
    from promptbundle.build.staging import build_staged, staging_folder

    with staging_folder(cache_dir) as folder:
        staged = build_staged(
            bundle, folder=folder, targets=targets, agents=agents, cache_dir=cache_dir, jobs=jobs
        )
        return _finish(staged, root=root, strict=strict, snapshot=snapshot, key=key)


def _finish(
    result: BuildResult | StagedBuild,
    *,
    root: Path,
    strict: bool,
    snapshot: InputSnapshot | None,
    key: dict[str, bool],
) -> BuildOutcome:
    """Report a build's problems, then compare (a BuildResult) or write (a StagedBuild)."""
    from promptbundle.build import cache as buildcache
    from promptbundle.build.catalog import INDEX
    from promptbundle.build.emit import check_outputs
    from promptbundle.build.staging import StagedBuild, emit_staged
    from promptbundle.formats.base import lossiness_lines

    config = result.bundle.config
    messages = [d.line() for d in result.diagnostics]
    notes = lossiness_lines(result.lossy, "lossy")
    errors = list(result.errors)
    warnings = [d for d in result.diagnostics if d.severity == "warning"]
    if errors or (strict and (result.lossy or warnings)):
        reasons = []
        if errors:
            reasons.append(f"{len(errors)} error(s)")
        if strict and result.lossy:
            reasons.append(f"{len(result.lossy)} dropped field(s) with --strict")
        if strict and warnings:
            reasons.append(f"{len(warnings)} warning(s) with --strict")
        raise BuildFailedError(
            messages + notes, "build failed: " + ", ".join(reasons) + "; nothing written"
        )
    out = (
        config.out_dir.relative_to(config.root)
        if config.out_dir.is_relative_to(config.root)
        else config.out_dir
    )
    index_path, index_text = _fragment_index(result)
    if not isinstance(result, StagedBuild):  # --check: compare, write nothing
        report = check_outputs(config, result.outputs)
        if index_path is not None and _read(index_path) != index_text:
            report.stale.append(INDEX)
        if report.clean:
            return BuildOutcome(
                f"{out}/ is up to date ({len(result.outputs)} outputs)", messages, notes=notes
            )
        return BuildOutcome(
            f"{out}/ is out of date: {len(report.stale)} stale, {len(report.missing)} missing, "
            f"{len(report.orphan)} orphan (run promptbundle build)",
            messages + report.lines(),
            exit_code=1,
            notes=notes,
        )
    written = emit_staged(result)
    index_written = index_path is not None and _read(index_path) != index_text
    if index_path is not None and index_written:
        index_path.write_text(index_text, encoding="utf-8")
    agents_built = len({o.agent for o in result.outputs if o.agent})

    def summary(written: int, unchanged: int, removed: int, *, index: bool = False) -> str:
        text = (
            f"built {_count(len(result.outputs), 'output')} for {_count(agents_built, 'agent')} "
            f"into {out}/: {written} written, {unchanged} unchanged, {removed} removed"
        )
        if index:
            text += f"; {INDEX} updated"
        if result.lossy:
            text += f"; {len(result.lossy)} field(s) dropped by formats (see 'lossy:' lines)"
        return text

    if snapshot is not None:
        buildcache.record_build(
            root,
            config.out_dir,
            snapshot,
            {source for output in result.outputs for source in output.sources},
            key=key,
            result={
                "summary": summary(0, len(result.outputs), 0),
                "messages": messages,
                "notes": notes,
            },
            wrote=[index_path] if index_path is not None and index_written else [],
        )
    return BuildOutcome(
        summary(
            len(written.written), len(written.unchanged), len(written.removed), index=index_written
        ),
        messages,
        notes=notes,
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _fragment_index(result: BuildResult | StagedBuild) -> tuple[Path | None, str]:
    """Where the fragment index goes (None: no fragments, or a partial build) and its text."""
    from promptbundle.build.catalog import INDEX, fragment_index

    bundle = result.bundle
    if result.partial or not bundle.fragments:
        return None, ""
    return bundle.root / INDEX, fragment_index(bundle, result.outputs)


def _is_bundle(root: Path) -> bool:
    """Whether `root` holds a bundle configuration (else the build fails: cache nothing)."""
    from promptbundle.core.errors import ConfigError
    from promptbundle.sources.config import find_root

    try:
        return find_root(root) == root
    except ConfigError:
        return False


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None
