"""The build, once for every caller: load, plan (prompt x target), render, validate.

Nothing here writes into the output folder: see emit.py and staging.emit_staged()."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar, overload

from promptbundle.build.catalog import catalog_output
from promptbundle.build.incremental import RenderMemo, Reused, load_memo
from promptbundle.build.manifest import Built
from promptbundle.build.pool import RenderedSlice, Sink, render_slices
from promptbundle.build.staging import InMemory, StagedOutput, Stager
from promptbundle.core.diagnostics import Diagnostic, LossyField
from promptbundle.core.errors import PromptBundleError, SourceError, UsageError, raise_collected
from promptbundle.core.model import Bundle, BundleConfig, OutputFile
from promptbundle.formats.base import Format
from promptbundle.formats.registry import FORMATS, KNOWN_FORMATS
from promptbundle.render.environment import RenderedPrompt
from promptbundle.sources.bundle import load_bundle
from promptbundle.sources.config import find_root, load_config

__all__ = [
    "CARRIED_TARGET",
    "BuildResult",
    "apply_suppressions",
    "build_outputs",
    "check_paths",
    "load",
    "read_config",
    "render_selected",
    "select_formats",
]


T = TypeVar("T", bound=Built)
# The output folder's `files/`: the bundle's own files, as `install` puts them in a project.
CARRIED_TARGET = "files"


@dataclass
class BuildResult(Generic[T]):
    """Every output of a build (in memory, or staged on disk), with what the formats dropped
    and what validation found."""

    bundle: Bundle
    outputs: list[T] = field(default_factory=list)
    lossy: list[LossyField] = field(default_factory=list)
    # Dropped fields the target's `accept` names: not reported, counted.
    accepted: list[LossyField] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    suppressed: list[Diagnostic] = field(default_factory=list)
    partial: bool = False

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


def read_config(root: Path | None = None) -> BundleConfig:
    """The configuration of the bundle at `root` (or above the current folder)."""
    return load_config(root if root is not None else find_root(Path.cwd()), formats=KNOWN_FORMATS)


def load(root: Path | None = None) -> Bundle:
    """Find, read and validate the bundle at `root` (or above the current folder)."""
    return load_bundle(read_config(root), formats=KNOWN_FORMATS)


def _check_selection(bundle: Bundle, targets: Iterable[str], agents: Iterable[str]) -> None:
    known_targets = {t.name for t in bundle.config.targets}
    known_agents = {a.label for a in bundle.prompts}
    for name in targets:
        if name not in known_targets:
            raise UsageError(
                f"unknown target {name!r} (targets: {', '.join(sorted(known_targets))})"
            )
    for name in agents:
        if name not in known_agents:
            raise UsageError(f"unknown agent {name!r} (agents: {', '.join(sorted(known_agents))})")


@overload
def build_outputs(
    bundle: Bundle,
    *,
    targets: Iterable[str] = (),
    agents: Iterable[str] = (),
    cache_dir: Path | None = None,
    jobs: int = 1,
    stage_into: None = None,
) -> BuildResult[OutputFile]: ...


@overload
def build_outputs(
    bundle: Bundle,
    *,
    targets: Iterable[str] = (),
    agents: Iterable[str] = (),
    cache_dir: Path | None = None,
    jobs: int = 1,
    stage_into: Path,
) -> BuildResult[StagedOutput]: ...


def build_outputs(
    bundle: Bundle,
    *,
    targets: Iterable[str] = (),
    agents: Iterable[str] = (),
    cache_dir: Path | None = None,
    jobs: int = 1,
    stage_into: Path | None = None,
) -> BuildResult[OutputFile] | BuildResult[StagedOutput]:
    """Render every (agent, target) pair the selection allows and validate every output.

    Outputs are kept in memory, or, with `stage_into`, written into that folder as they are
    made (see staging.py); either way in the same order with the same findings. `cache_dir`
    keeps compiled templates and more across builds; `jobs` > 1 renders slices of the agents
    in that many processes (the same result, in the same order, as one process).
    """
    targets, agents = tuple(targets), tuple(agents)
    formats = select_formats(bundle, targets, agents)
    if stage_into is None:
        return _build(bundle, formats, agents, InMemory(formats), cache_dir, jobs, targets)
    return _build(bundle, formats, agents, Stager(stage_into, formats), cache_dir, jobs, targets)


def _build(
    bundle: Bundle,
    formats: dict[str, Format],
    agents: tuple[str, ...],
    sink: InMemory | Stager,
    cache_dir: Path | None,
    jobs: int,
    targets: tuple[str, ...],
) -> BuildResult[Any]:
    result: BuildResult[Any] = BuildResult(bundle, partial=bool(targets or agents))
    keep: Sink[Any] = sink
    # Only a full writing build reuses what the last one made (see incremental.py).
    memo = None
    if isinstance(sink, Stager) and cache_dir is not None and not result.partial:
        memo = load_memo(bundle, cache_dir)
    parts, rendered_by_target = render_selected(
        bundle,
        formats,
        agents,
        sink=keep,
        cache_dir=cache_dir,
        jobs=jobs,
        reuse=_reusable(bundle, formats, memo) if memo is not None else None,
    )
    if memo is not None and cache_dir is not None:
        _remember(memo, bundle, parts)
        memo.save(cache_dir, (agent.rel for agent in bundle.prompts))
    # Per-agent outputs in the order one process makes them: target by target, agent by agent.
    for name in formats:
        for part in parts:
            result.outputs += part.outputs.get(name, [])
            result.lossy += part.lossy.get(name, [])
    for name, fmt in formats.items():
        result.outputs += sink(fmt, fmt.bundle_outputs(rendered_by_target[name]))
    if not result.partial:
        result.outputs += [sink.keep(output) for output in carried_outputs(bundle)]
        result.outputs.append(sink.keep(catalog_output(bundle, rendered_by_target)))
    check_paths(result.outputs)
    result.diagnostics, result.suppressed = apply_suppressions(
        bundle, ((output.agent, output.diagnostics) for output in result.outputs)
    )
    result.outputs.sort(key=lambda o: o.path)
    result.lossy, result.accepted = _split_accepted(bundle, result.lossy)
    return result


def _reusable(
    bundle: Bundle, formats: dict[str, Format], memo: RenderMemo
) -> dict[int, dict[str, Reused]]:
    """The agents (by index) whose outputs for every selected target the memo holds."""
    reuse: dict[int, dict[str, Reused]] = {}
    for index, agent in enumerate(bundle.prompts):
        names = [
            name
            for name, fmt in formats.items()
            if fmt.carries(agent) and (agent.targets is None or name in agent.targets)
        ]
        found = memo.reusable(agent, names)
        if found is not None:
            reuse[index] = found
    return reuse


def _remember(memo: RenderMemo, bundle: Bundle, parts: list[RenderedSlice[Any]]) -> None:
    """Record in the memo what this build rendered, agent by agent."""
    made: dict[int, dict[str, Any]] = {}
    for part in parts:
        for name, items in part.made.items():
            bodies = {index: (body, sources) for index, body, sources in part.rendered[name]}
            files = lost = 0
            for index, count, dropped, fresh in items:
                outputs = part.outputs[name][files : files + count]
                lossy = part.lossy[name][lost : lost + dropped]
                files, lost = files + count, lost + dropped
                if fresh:
                    body, sources = bodies[index]
                    made.setdefault(index, {})[name] = (body, sources, outputs, lossy)
    for index, by_target in made.items():
        memo.record(bundle.prompts[index], by_target)


def _split_accepted(
    bundle: Bundle, lossy: list[LossyField]
) -> tuple[list[LossyField], list[LossyField]]:
    """(losses to report, losses the targets' `accept` names), each sorted."""
    targets = {t.name: t for t in bundle.config.targets}
    kept: list[LossyField] = []
    accepted: list[LossyField] = []
    for item in sorted(lossy, key=lambda x: (x.agent, x.target, x.field)):
        target = targets.get(item.target)
        (accepted if target is not None and target.accepts(item.field) else kept).append(item)
    return kept, accepted


def select_formats(
    bundle: Bundle, targets: tuple[str, ...], agents: tuple[str, ...]
) -> dict[str, Format]:
    """The format of every selected target, by name (after checking the selection's names)."""
    _check_selection(bundle, targets, agents)
    return {
        target.name: FORMATS[target.format](
            target, bundle.config, plugins=bundle.plugins, files=bundle.files
        )
        for target in bundle.config.targets
        if not targets or target.name in targets
    }


def render_selected(
    bundle: Bundle,
    formats: dict[str, Format],
    agents: tuple[str, ...],
    *,
    sink: Sink[T],
    cache_dir: Path | None,
    jobs: int,
    reuse: dict[int, dict[str, Reused]] | None = None,
) -> tuple[list[RenderedSlice[T]], dict[str, list[RenderedPrompt]]]:
    """Render the slices and every agent by target name; raise every render error at once."""
    parts = render_slices(
        bundle,
        tuple(formats.values()),
        agents,
        sink=sink,
        cache_dir=cache_dir,
        jobs=jobs,
        reuse=reuse,
    )
    errors: list[tuple[int, int, PromptBundleError]] = []
    rendered_by_target: dict[str, list[RenderedPrompt]] = {name: [] for name in formats}
    for part in parts:
        errors += part.errors
        for name, items in part.rendered.items():
            rendered_by_target[name] += [
                RenderedPrompt(bundle.prompts[i], name, body, sources) for i, body, sources in items
            ]
    raise_collected(_unique([err for _, _, err in sorted(errors, key=lambda e: e[:2])]))
    return parts, rendered_by_target


def apply_suppressions(
    bundle: Bundle, found: Iterable[tuple[str | None, Iterable[Diagnostic]]]
) -> tuple[list[Diagnostic], list[Diagnostic]]:
    """Split (agent, diagnostics) pairs into the diagnostics that stand and the suppressed."""
    suppressed = {a.label: a.suppress for a in bundle.prompts if a.suppress}
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


def carried_outputs(bundle: Bundle) -> list[OutputFile]:
    """The bundle's own files (`files/**`), byte for byte, in the output folder's `files/`;
    installed, each goes at its path in the project."""
    return [
        OutputFile(
            f"{CARRIED_TARGET}/{item.path}",
            item.source.read_bytes(),
            CARRIED_TARGET,
            None,
            (item.rel,),
            verbatim=True,
            carried=True,
        )
        for item in bundle.files
        if not item.plugin
    ]


def check_paths(outputs: Sequence[Built]) -> None:
    """No two outputs may write the same file."""
    seen: dict[str, Built] = {}
    for output in outputs:
        if output.path in seen:
            raise SourceError(
                f"two outputs write {output.path}: agents {seen[output.path].agent!r} "
                f"and {output.agent!r}"
            )
        seen[output.path] = output
