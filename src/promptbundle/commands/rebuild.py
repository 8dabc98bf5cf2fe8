"""The part of `promptbundle build` that renders: build in memory and compare (`--check`),
or build into a staging folder and update the output folder.

A writing build holds the bundle's build lock (build/lock.py) from before it stages anything
until the output folder and the no-op record are written, and first removes the staging
folders killed builds left; `--check` takes no lock. Neither writes through a symbolic link
that leads out of the bundle (core/writes.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from promptbundle.build import cache as buildcache
from promptbundle.build.cache import InputSnapshot
from promptbundle.build.emit import EmitReport, check_outputs, write_schemas
from promptbundle.build.lock import build_lock
from promptbundle.build.pipeline import BuildResult, build_outputs, load
from promptbundle.build.pool import default_jobs
from promptbundle.build.staging import emit_staged, remove_leftovers, staging_folder
from promptbundle.commands.outcome import Outcome
from promptbundle.core.diagnostics import lossiness_lines
from promptbundle.core.errors import BuildFailedError, BundleError
from promptbundle.core.model import Bundle
from promptbundle.core.writes import refuse_escapes

__all__ = ["build_bundle"]


def build_bundle(
    root: Path,
    *,
    targets: tuple[str, ...],
    agents: tuple[str, ...],
    strict: bool,
    check: bool,
    jobs: int | None,
    record: tuple[InputSnapshot, dict[str, bool]] | None,
) -> Outcome:
    """Load and build the bundle at `root`: compare (`check`) or write the output folder."""
    bundle = load(root)
    refuse_escapes(bundle.root, [bundle.config.out_dir])
    cache_dir = buildcache.prepare_cache(root)
    jobs = default_jobs() if jobs is None else jobs
    if check:
        result = build_outputs(bundle, cache_dir=cache_dir, jobs=jobs)
        _refuse_failures(result, strict=strict)
        return _compare(result)
    with build_lock(cache_dir):
        leftovers = remove_leftovers(cache_dir)
        outcome = _write(
            bundle,
            targets=targets,
            agents=agents,
            strict=strict,
            cache_dir=cache_dir,
            jobs=jobs,
            record=record,
        )
    # Only a folder that could not be removed is worth a line (not part of the no-op record).
    outcome.messages += leftovers
    return outcome


def _write(
    bundle: Bundle,
    *,
    targets: tuple[str, ...],
    agents: tuple[str, ...],
    strict: bool,
    cache_dir: Path,
    jobs: int,
    record: tuple[InputSnapshot, dict[str, bool]] | None,
) -> Outcome:
    """Stage every output as it is made (see build/staging.py), then update the output folder;
    with `record`, remember what a full build read and wrote so the next can be skipped."""
    with staging_folder(cache_dir) as folder:
        staged = build_outputs(
            bundle,
            targets=targets,
            agents=agents,
            cache_dir=cache_dir,
            jobs=jobs,
            stage_into=folder,
        )
        _refuse_failures(staged, strict=strict)
        report = emit_staged(bundle.config, staged.outputs, folder, partial=staged.partial)
    write_schemas(bundle.root, bundle.config.out_dir)
    outcome = _written(staged, report)
    if record is not None:
        snapshot, key = record
        cached = _written(staged, EmitReport(unchanged=[o.path for o in staged.outputs]))
        try:
            buildcache.record_build(
                bundle.root,
                bundle.config.out_dir,
                snapshot,
                {source for output in staged.outputs for source in output.sources},
                key=key,
                result=cached.to_record(),
                wrote=[],
            )
        except (OSError, BundleError) as err:
            # The output folder is complete; only the next build's shortcut is lost.
            buildcache.forget(bundle.root)
            outcome.messages.append(f"warning: the next build cannot be skipped: {err}")
    return outcome


def _refuse_failures(result: BuildResult[Any], *, strict: bool) -> None:
    """Raise when the build has errors (or, with `strict`, warnings or dropped fields)."""
    errors = result.errors
    warnings = [d for d in result.diagnostics if d.severity == "warning"]
    if not (errors or (strict and (result.lossy or warnings))):
        return
    reasons = []
    if errors:
        reasons.append(f"{len(errors)} error(s)")
    if strict and result.lossy:
        reasons.append(f"{len(result.lossy)} dropped field(s) with --strict")
    if strict and warnings:
        reasons.append(f"{len(warnings)} warning(s) with --strict")
    raise BuildFailedError(
        [d.line() for d in result.diagnostics] + lossiness_lines(result.lossy, "lossy"),
        "build failed: " + ", ".join(reasons) + "; nothing written",
    )


def _out(result: BuildResult[Any]) -> Path:
    config = result.bundle.config
    if config.out_dir.is_relative_to(config.root):
        return config.out_dir.relative_to(config.root)
    return config.out_dir


def _base(result: BuildResult[Any], summary: str) -> Outcome:
    return Outcome(
        "build",
        summary,
        messages=[d.line() for d in result.diagnostics],
        notes=lossiness_lines(result.lossy, "lossy"),
        diagnostics=list(result.diagnostics),
    )


def _compare(result: BuildResult[Any]) -> Outcome:
    """`build --check`: how the output folder (and the fragment index) differ; write nothing."""
    report = check_outputs(result.bundle.config, result.outputs)
    out = _out(result)
    data = {"stale": report.stale, "missing": report.missing, "orphan": report.orphan}
    if report.clean:
        outcome = _base(result, f"{out}/ is up to date ({len(result.outputs)} outputs)")
        outcome.data = data
        return outcome
    outcome = _base(
        result,
        f"{out}/ is out of date: {len(report.stale)} stale, {len(report.missing)} missing, "
        f"{len(report.orphan)} orphan (run promptbundle build)",
    )
    outcome.messages += report.lines()
    outcome.data = data
    outcome.exit_code = 1
    return outcome


def _written(result: BuildResult[Any], report: EmitReport) -> Outcome:
    prompts_built = len({o.agent for o in result.outputs if o.agent})
    text = (
        f"built {_count(len(result.outputs), 'output')} for {_count(prompts_built, 'prompt')} "
        f"into {_out(result)}/: {len(report.written)} written, {len(report.unchanged)} "
        f"unchanged, {len(report.removed)} removed"
    )
    if result.lossy:
        text += f"; {len(result.lossy)} field(s) dropped by formats (see 'lossy:' lines)"
    if result.accepted:
        text += f"; {len(result.accepted)} dropped field(s) accepted by targets"
    outcome = _base(result, text)
    outcome.data = {
        "outputs": len(result.outputs),
        "written": report.written,
        "unchanged": len(report.unchanged),
        "removed": report.removed,
    }
    return outcome


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
