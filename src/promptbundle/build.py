"""Plan, render and validate every output in memory; nothing is written here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from promptbundle.config import BundleConfig, find_root, load_config
from promptbundle.errors import PromptBundleError, SourceError, UsageError, raise_collected
from promptbundle.formats import FORMATS, Diagnostic, Format, LossyField, OutputFile
from promptbundle.render import RenderedAgent
from promptbundle.renderpool import render_slices
from promptbundle.sources import Bundle, load_bundle

__all__ = ["BuildResult", "build_outputs", "load"]


@dataclass
class BuildResult:
    """Every output of a build, with what the formats dropped and found."""

    bundle: Bundle
    outputs: list[OutputFile] = field(default_factory=list)
    lossy: list[LossyField] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    suppressed: list[Diagnostic] = field(default_factory=list)
    partial: bool = False

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


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
    from promptbundle.catalog import catalog_output

    targets, agents = tuple(targets), tuple(agents)
    _check_selection(bundle, targets, agents)
    result = BuildResult(bundle, partial=bool(targets or agents))
    formats: dict[str, Format] = {
        target.name: FORMATS[target.format](target, bundle.config)
        for target in bundle.config.targets
        if not targets or target.name in targets
    }
    rendered_by_target: dict[str, list[RenderedAgent]] = {name: [] for name in formats}
    parts = render_slices(bundle, tuple(formats.values()), agents, cache_dir=cache_dir, jobs=jobs)
    errors: list[tuple[int, int, PromptBundleError]] = []
    for part in parts:
        errors += part.errors
        for name, items in part.rendered.items():
            rendered_by_target[name] += [
                RenderedAgent(bundle.agents[i], name, body, sources) for i, body, sources in items
            ]
    raise_collected(_unique([err for _, _, err in sorted(errors, key=lambda e: e[:2])]))
    # Per-agent outputs in the order one process makes them: target by target, agent by agent.
    for name in formats:
        for part in parts:
            result.outputs += part.outputs.get(name, [])
            result.lossy += part.lossy.get(name, [])
    for name, fmt in formats.items():
        result.outputs.extend(fmt.bundle_outputs(rendered_by_target[name]))
    if not result.partial:
        result.outputs.append(catalog_output(bundle, rendered_by_target))
    _check_paths(result.outputs)
    suppressed = {a.id: a.suppress for a in bundle.agents if a.suppress}
    for output in result.outputs:
        if output.target in formats:
            for diag in formats[output.target].validate(output):
                # An agent may accept a warning on purpose; errors always stand.
                if diag.severity == "warning" and diag.code in suppressed.get(
                    output.agent or "", ()
                ):
                    result.suppressed.append(diag)
                else:
                    result.diagnostics.append(diag)
    result.outputs.sort(key=lambda o: o.path)
    result.lossy.sort(key=lambda x: (x.agent, x.target, x.field))
    return result


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


def _check_paths(outputs: list[OutputFile]) -> None:
    seen: dict[str, OutputFile] = {}
    for output in outputs:
        if output.path in seen:
            raise SourceError(
                f"two outputs write {output.path}: agents {seen[output.path].agent!r} "
                f"and {output.agent!r}"
            )
        seen[output.path] = output
