"""Plan, render and validate every output in memory; nothing is written here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from promptbundle.build.pool import RenderedSlice, Sink, render_slices
from promptbundle.core.errors import PromptBundleError, SourceError, UsageError, raise_collected
from promptbundle.formats.registry import FORMATS, Diagnostic, Format, LossyField, OutputFile
from promptbundle.render.environment import RenderedAgent
from promptbundle.sources.config import BundleConfig, find_root, load_config
from promptbundle.sources.prompts import Bundle, load_bundle

__all__ = [
    "BuildResult",
    "apply_suppressions",
    "build_outputs",
    "check_paths",
    "load",
    "render_selected",
    "select_formats",
]


@dataclass
class BuildFindings:
    """What any build found: fields the formats dropped, diagnostics, suppressed warnings."""

    bundle: Bundle
    lossy: list[LossyField] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    suppressed: list[Diagnostic] = field(default_factory=list)
    partial: bool = False

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


@dataclass
class BuildResult(BuildFindings):
    """Every output of a build, in memory, with what the formats dropped and found."""

    outputs: list[OutputFile] = field(default_factory=list)


def load(root: Path | None = None) -> Bundle:
    """Find, read and validate the bundle at `root` (or above the current folder)."""
    config: BundleConfig = load_config(root if root is not None else find_root(Path.cwd()))
    return load_bundle(config)


def _check_selection(bundle: Bundle, targets: Iterable[str], agents: Iterable[str]) -> None:
    known_targets = {t.name for t in bundle.config.targets}
    known_agents = {a.id for a in bundle.agents}
    for name in targets:
        if name not in known_targets:
            raise UsageError(
                f"unknown target {name!r} (targets: {', '.join(sorted(known_targets))})"
            )
    for name in agents:
        if name not in known_agents:
            raise UsageError(f"unknown agent {name!r} (agents: {', '.join(sorted(known_agents))})")


def build_outputs(
    bundle: Bundle,
    *,
    targets: Iterable[str] = (),
    agents: Iterable[str] = (),
    cache_dir: Path | None = None,
    jobs: int = 1,
) -> BuildResult:
    """Render every (agent, target) pair the selection allows, then validate the outputs.

    `cache_dir` keeps compiled templates and more across builds; `jobs` > 1 renders slices of the
    agents in that many processes (same result, in the same order, as one process).
    """
    from promptbundle.build.catalog import catalog_output

    targets, agents = tuple(targets), tuple(agents)
    formats = select_formats(bundle, targets, agents)
    result = BuildResult(bundle, partial=bool(targets or agents))
    parts, rendered_by_target = render_selected(
        bundle, formats, agents, cache_dir=cache_dir, jobs=jobs
    )
    # Per-agent outputs in the order one process makes them: target by target, agent by agent.
    for name in formats:
        for part in parts:
            result.outputs += part.outputs.get(name, [])
            result.lossy += part.lossy.get(name, [])
    for name, fmt in formats.items():
        result.outputs.extend(fmt.bundle_outputs(rendered_by_target[name]))
    if not result.partial:
        result.outputs.append(catalog_output(bundle, rendered_by_target))
    check_paths(result.outputs)
    result.diagnostics, result.suppressed = apply_suppressions(
        bundle,
        (
            (output.agent, formats[output.target].validate(output))
            for output in result.outputs
            if output.target in formats
        ),
    )
    result.outputs.sort(key=lambda o: o.path)
    result.lossy.sort(key=lambda x: (x.agent, x.target, x.field))
    return result


def select_formats(
    bundle: Bundle, targets: tuple[str, ...], agents: tuple[str, ...]
) -> dict[str, Format]:
    """The format of every selected target, by name (after checking the selection's names)."""
    _check_selection(bundle, targets, agents)
    return {
        target.name: FORMATS[target.format](target, bundle.config)
        for target in bundle.config.targets
        if not targets or target.name in targets
    }


def render_selected(
    bundle: Bundle,
    formats: dict[str, Format],
    agents: tuple[str, ...],
    *,
    cache_dir: Path | None,
    jobs: int,
    sink: Sink | None = None,
) -> tuple[list[RenderedSlice], dict[str, list[RenderedAgent]]]:
    """Render the slices and every agent by target name; raise every render error at once."""
    parts = render_slices(
        bundle, tuple(formats.values()), agents, cache_dir=cache_dir, jobs=jobs, sink=sink
    )
    errors: list[tuple[int, int, PromptBundleError]] = []
    rendered_by_target: dict[str, list[RenderedAgent]] = {name: [] for name in formats}
    for part in parts:
        errors += part.errors
        for name, items in part.rendered.items():
            rendered_by_target[name] += [
                RenderedAgent(bundle.agents[i], name, body, sources) for i, body, sources in items
            ]
    raise_collected(_unique([err for _, _, err in sorted(errors, key=lambda e: e[:2])]))
    return parts, rendered_by_target


def apply_suppressions(
    bundle: Bundle, found: Iterable[tuple[str | None, Iterable[Diagnostic]]]
) -> tuple[list[Diagnostic], list[Diagnostic]]:
    """Split (agent, diagnostics) pairs into the diagnostics that stand and the suppressed."""
    suppressed = {a.id: a.suppress for a in bundle.agents if a.suppress}
    kept: list[Diagnostic] = []
    dropped: list[Diagnostic] = []
    for agent, diagnostics in found:
        for diag in diagnostics:
            # An agent may accept a warning on purpose; errors always stand.
            if diag.severity == "warning" and diag.code in suppressed.get(agent or "", ()):
                dropped.append(diag)
            else:
                kept.append(diag)
    return kept, dropped


def _unique(errors: list[PromptBundleError]) -> list[PromptBundleError]:
    """One report per distinct error: a fragment error repeats for every target."""
    seen: set[str] = set()
    unique = []
    for err in errors:
        key = "\n".join(err.lines()).split(" (while rendering")[0]
        if key not in seen:
            seen.add(key)
            unique.append(err)
    return unique


class _Placed(Protocol):
    @property
    def path(self) -> str: ...
    @property
    def agent(self) -> str | None: ...


def check_paths(outputs: Sequence[_Placed]) -> None:
    """No two outputs may write the same file."""
    seen: dict[str, _Placed] = {}
    for output in outputs:
        if output.path in seen:
            raise SourceError(
                f"two outputs write {output.path}: agents {seen[output.path].agent!r} "
                f"and {output.agent!r}"
            )
        seen[output.path] = output
