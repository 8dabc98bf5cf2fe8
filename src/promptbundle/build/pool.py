"""Render agents for every target in slices: in this process, or in several with `jobs`.

Each slice is a contiguous range of the bundle's agents. A slice renders its agents target by
target and maps them into each format's files; the build merges slices in agent order, so the
result does not depend on how many processes made it. A render that never mentions `target`
is made once and reused for the agent's other targets. With a cache folder, compiled
templates and the headings found in rendered fragments (by a digest of the text) are kept for
the next build.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, Generic, TypeVar

from promptbundle.build.incremental import Reused
from promptbundle.core.bounded import load_json
from promptbundle.core.diagnostics import LossyField
from promptbundle.core.errors import PromptBundleError
from promptbundle.core.markdown import Heading, HeadingMemo, use_heading_memo
from promptbundle.core.model import Bundle, OutputFile
from promptbundle.formats.base import Format
from promptbundle.render.environment import (
    BundleEnvironment,
    RenderedPrompt,
    make_env,
    render_prompt,
    uses_target,
)

__all__ = ["MIN_AGENTS_PER_JOB", "RenderedSlice", "Sink", "default_jobs", "render_slices"]

# Below this many agents per process, starting a process costs more than it saves (an agent
# is rendered once for all targets that do not use `target`, so agents measure the work).
MIN_AGENTS_PER_JOB = 40

# (agent index, body, templates loaded) of one render; the agent is looked up by index.
RenderedItem = tuple[int, str, tuple[str, ...]]
T = TypeVar("T")
# Takes an agent's files for a format as they are made (validating them, keeping them in memory
# or writing them to a staging folder) and returns what the build keeps of each.
Sink = Callable[[Format, list[OutputFile]], list[T]]


@dataclass
class RenderedSlice(Generic[T]):
    """What one slice of agents rendered, by target name."""

    rendered: dict[str, list[RenderedItem]] = field(default_factory=dict)
    # What the sink kept of each file, by target name.
    outputs: dict[str, list[T]] = field(default_factory=dict)
    lossy: dict[str, list[LossyField]] = field(default_factory=dict)
    # (target position, agent index, error): sorted so any slicing reports the same way.
    errors: list[tuple[int, int, PromptBundleError]] = field(default_factory=list)
    # Headings of the rendered fragments, by text digest (from a worker process).
    headings: dict[str, list[Heading]] = field(default_factory=dict)
    # By target name, each agent whose files were kept, in order: (agent index, number of
    # files, number of dropped fields) of the lists above; and whether it was rendered.
    made: dict[str, list[tuple[int, int, int, bool]]] = field(default_factory=dict)


def default_jobs() -> int:
    """Processes a build uses when not told: every core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _render_slice(
    bundle: Bundle,
    env: BundleEnvironment,
    formats: Sequence[Format],
    selected: Sequence[str],
    start: int,
    stop: int,
    sink: Sink[T],
    reuse: Mapping[int, Mapping[str, Reused]],
) -> RenderedSlice[T]:
    part: RenderedSlice[T] = RenderedSlice()
    target_free: dict[int, RenderedPrompt] = {}
    for position, fmt in enumerate(formats):
        target = fmt.target
        context = {"name": target.name, "format": target.format, "options": dict(target.options)}
        rendered_list = part.rendered.setdefault(target.name, [])
        outputs = part.outputs.setdefault(target.name, [])
        lossy = part.lossy.setdefault(target.name, [])
        made = part.made.setdefault(target.name, [])
        for index in range(start, stop):
            agent = bundle.prompts[index]
            if not fmt.carries(agent):
                continue
            if agent.targets is not None and target.name not in agent.targets:
                continue
            if index in reuse:
                # Nothing it depends on changed: the last build's files stand (incremental.py).
                kept = reuse[index][target.name]
                rendered_list.append((index, kept.body, kept.sources))
                outputs += kept.outputs  # type: ignore[arg-type]
                lossy += kept.lossy
                made.append((index, len(kept.outputs), len(kept.lossy), False))
                continue
            if index in target_free:
                shared = target_free[index]
                rendered = RenderedPrompt(agent, target.name, shared.body, shared.sources)
            else:
                try:
                    rendered = render_prompt(env, bundle, agent, context)
                except PromptBundleError as err:
                    part.errors.append((position, index, err))
                    continue
                if not uses_target(env, rendered):
                    target_free[index] = rendered
            rendered_list.append((index, rendered.body, rendered.sources))
            if selected and agent.label not in selected:
                continue
            files, dropped = fmt.prompt_outputs(rendered)
            kept_files = sink(fmt, files)
            outputs += kept_files
            lossy += dropped
            made.append((index, len(kept_files), len(dropped), True))
    return part


# The bundle and formats a worker process renders slices of (set once per process).
_worker: dict[str, Any] = {}


def _init_worker(
    bundle: Bundle,
    formats: Sequence[Format],
    selected: Sequence[str],
    cache_dir: Path | None,
    memo: HeadingMemo | None,
    sink: Sink[Any],
    reuse: Mapping[int, Mapping[str, Reused]],
) -> None:
    use_heading_memo(memo)
    _worker.update(
        bundle=bundle,
        formats=formats,
        selected=selected,
        env=make_env(bundle, cache_dir=_templates(cache_dir)),
        memo=memo,
        sink=sink,
        reuse=reuse,
    )


def _render_in_worker(start: int, stop: int) -> RenderedSlice[Any]:
    part: RenderedSlice[Any] = _render_slice(
        _worker["bundle"],
        _worker["env"],
        _worker["formats"],
        _worker["selected"],
        start,
        stop,
        _worker["sink"],
        _worker["reuse"],
    )
    memo: HeadingMemo | None = _worker["memo"]
    if memo is not None:
        part.headings, memo.used = memo.used, {}
    return part


def _templates(cache_dir: Path | None) -> Path | None:
    return cache_dir / "templates" if cache_dir is not None else None


HEADINGS_FILE = "headings.json"


def _load_headings(cache_dir: Path) -> HeadingMemo:
    import markdown_it

    try:
        data = load_json((cache_dir / HEADINGS_FILE).read_text(encoding="utf-8"))
        if data["markdown-it-py"] != markdown_it.__version__:
            return HeadingMemo()
        known = {
            key: [(int(s), int(e), int(level), str(markup)) for s, e, level, markup in items]
            for key, items in data["headings"].items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return HeadingMemo()
    return HeadingMemo(known=known)


def _save_headings(cache_dir: Path, memo: HeadingMemo) -> None:
    """Keep the headings this build used (and only those) for the next build."""
    import markdown_it

    if memo.used.keys() == memo.known.keys():
        return
    data = {"markdown-it-py": markdown_it.__version__, "headings": memo.used}
    path = cache_dir / HEADINGS_FILE
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)


def render_slices(
    bundle: Bundle,
    formats: Sequence[Format],
    selected: Sequence[str] = (),
    *,
    sink: Sink[T],
    cache_dir: Path | None = None,
    jobs: int = 1,
    reuse: Mapping[int, Mapping[str, Reused]] | None = None,
) -> list[RenderedSlice[T]]:
    """Render every agent for every format, in at most `jobs` processes (this one included).

    `selected` limits the files made to those agents (all agents are still rendered, since
    bundle-wide files list them). Fewer processes are used when the bundle is small.
    `cache_dir` holds what one build keeps for the next (compiled templates, headings).
    The `sink` (picklable) takes each agent's files in the process that made them, and the
    slices carry what it returns. Agents in `reuse` (by index) are not rendered: the files
    and bodies given for them stand (a writing build's sink only: see incremental.py).
    """
    memo = _load_headings(cache_dir) if cache_dir is not None else None
    use_heading_memo(memo)
    try:
        parts = _render(bundle, formats, selected, cache_dir, jobs, memo, sink, reuse or {})
    finally:
        use_heading_memo(None)
    if cache_dir is not None and memo is not None:
        for part in parts:
            memo.used.update(part.headings)
            part.headings = {}
        _save_headings(cache_dir, memo)
    return parts


def _render(
    bundle: Bundle,
    formats: Sequence[Format],
    selected: Sequence[str],
    cache_dir: Path | None,
    jobs: int,
    memo: HeadingMemo | None,
    sink: Sink[T],
    reuse: Mapping[int, Mapping[str, Reused]],
) -> list[RenderedSlice[T]]:
    count = len(bundle.prompts)
    jobs = max(1, min(jobs, (count - len(reuse)) // MIN_AGENTS_PER_JOB))
    env = make_env(bundle, cache_dir=_templates(cache_dir))
    if jobs == 1:
        return [_render_slice(bundle, env, formats, selected, 0, count, sink, reuse)]
    slices = list(pairwise(_bounds(count, jobs, reuse)))
    context = multiprocessing.get_context(
        "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    )
    with ProcessPoolExecutor(
        max_workers=jobs - 1,
        mp_context=context,
        initializer=_init_worker,
        initargs=(bundle, formats, selected, cache_dir, memo, sink, reuse),
    ) as pool:
        futures = [pool.submit(_render_in_worker, start, stop) for start, stop in slices[1:]]
        # This process renders the first slice while the workers render the others.
        first = _render_slice(bundle, env, formats, selected, *slices[0], sink, reuse)
        return [first, *(future.result() for future in futures)]


def _bounds(count: int, jobs: int, reuse: Mapping[int, object]) -> list[int]:
    """Cut agents 0..count into `jobs` contiguous slices with as many agents to render each."""
    todo = [index for index in range(count) if index not in reuse]
    cuts = [todo[len(todo) * i // jobs] for i in range(1, jobs)]
    return [0, *cuts, count]
