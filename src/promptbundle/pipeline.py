"""The build command as a library call: load, render, validate, then write or compare."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from promptbundle.build import BuildResult, build_outputs, load
from promptbundle.catalog import INDEX, fragment_index
from promptbundle.emit import check_outputs, emit
from promptbundle.errors import BuildFailedError, SourceError

__all__ = ["BuildOutcome", "run_build"]


@dataclass
class BuildOutcome:
    """What the build did, as lines for the user and an exit code."""

    summary: str
    messages: list[str] = field(default_factory=list)
    exit_code: int = 0


def run_build(
    root: Path | None,
    *,
    targets: Iterable[str] = (),
    agents: Iterable[str] = (),
    strict: bool = False,
    check: bool = False,
) -> BuildOutcome:
    """Build the bundle at `root`; with `check`, only report how dist/ differs."""
    bundle = load(root)
    result = build_outputs(bundle, targets=targets, agents=agents)
    config = bundle.config
    messages = [d.line() for d in result.diagnostics]
    messages += [f"lossy: {item}" for item in result.lossy]
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
            messages, "build failed: " + ", ".join(reasons) + "; nothing written"
        )
    out = (
        config.out_dir.relative_to(config.root)
        if config.out_dir.is_relative_to(config.root)
        else config.out_dir
    )
    index_path, index_text = _fragment_index(result)
    if check:
        if result.partial:
            raise SourceError("--check compares the whole output folder; drop --target/--agent")
        report = check_outputs(config, result.outputs)
        if index_path is not None and _read(index_path) != index_text:
            report.stale.append(INDEX)
        if report.clean:
            return BuildOutcome(f"{out}/ is up to date ({len(result.outputs)} outputs)", messages)
        return BuildOutcome(
            f"{out}/ is out of date: {len(report.stale)} stale, {len(report.missing)} missing, "
            f"{len(report.orphan)} orphan (run promptbundle build)",
            messages + report.lines(),
            exit_code=1,
        )
    written = emit(config, result.outputs, partial=result.partial)
    if index_path is not None and _read(index_path) != index_text:
        index_path.write_text(index_text, encoding="utf-8")
        written.written.append(INDEX)
    agents_built = len({o.agent for o in result.outputs if o.agent})
    summary = (
        f"built {len(result.outputs)} outputs for {agents_built} agents into {out}/: "
        f"{len(written.written)} written, {len(written.unchanged)} unchanged, "
        f"{len(written.removed)} removed"
    )
    if result.lossy:
        summary += f"; {len(result.lossy)} field(s) dropped by formats (see 'lossy:' lines)"
    return BuildOutcome(summary, messages)


def _fragment_index(result: BuildResult) -> tuple[Path | None, str]:
    """Where the fragment index goes (None: no fragments, or a partial build) and its text."""
    bundle = result.bundle
    if result.partial or not bundle.fragments:
        return None, ""
    return bundle.root / INDEX, fragment_index(bundle, result.outputs)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None
