"""Compare the rendered outputs of two revisions, grouped by the changed sources behind them."""

from __future__ import annotations

import difflib
import tempfile
from collections.abc import Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from promptbundle.build.pipeline import build_outputs, load
from promptbundle.core.errors import ConfigError, PromptBundleError, UsageError
from promptbundle.core.model import OutputFile
from promptbundle.review.revisions import (
    Revision,
    default_base,
    export_tree,
    has_bundle,
    repo_root,
    resolve_revision,
)
from promptbundle.sources.config import find_root

__all__ = [
    "STATUSES",
    "BundleDiff",
    "ChangeGroup",
    "DiffError",
    "OutputChange",
    "RevisionBuildError",
    "SourceChange",
    "Status",
    "compare_builds",
    "diff_revisions",
    "unified_diff",
]

Status = Literal["modified", "added", "removed"]
STATUSES: tuple[Status, ...] = ("modified", "added", "removed")
WORKING_TREE = "working tree"
_VERBS: dict[str, str] = {"modified": "changed", "added": "added", "removed": "removed"}


@dataclass(frozen=True)
class SourceChange:
    """A source file (agent, fragment, target or bundle config) that differs between sides."""

    path: str
    status: Status

    def __str__(self) -> str:
        return f"{self.path} {_VERBS[self.status]}"


@dataclass(frozen=True)
class OutputChange:
    """One output whose bytes differ, with the changed sources it was rendered from."""

    path: str
    status: Status
    target: str
    agent: str | None
    causes: tuple[SourceChange, ...]
    diff: str
    added_lines: int
    removed_lines: int


@dataclass(frozen=True)
class ChangeGroup:
    """Outputs that share the same set of causes."""

    causes: tuple[SourceChange, ...]
    outputs: tuple[OutputChange, ...]

    @property
    def agents(self) -> list[str]:
        return sorted({o.agent for o in self.outputs if o.agent})

    def cause_text(self, limit: int = 3) -> str:
        if not self.causes:
            return "no recorded source changed"
        shown = [str(c) for c in self.causes[:limit]]
        more = len(self.causes) - limit
        return ", ".join(shown) + (f" and {more} more" if more > 0 else "")

    def title(self, limit: int = 3) -> str:
        """`fragments/testing.md changed → 4 outputs in 3 agents`."""
        count = len(self.outputs)
        text = f"{self.cause_text(limit)} → {count} output{'s' * (count != 1)}"
        if self.agents:
            text += f" in {len(self.agents)} agent{'s' * (len(self.agents) != 1)}"
        statuses = [o.status for o in self.outputs]
        if any(s != "modified" for s in statuses):
            parts = [f"{statuses.count(s)} {s}" for s in STATUSES]
            text += " (" + ", ".join(p for p in parts if not p.startswith("0 ")) + ")"
        return text


@dataclass(frozen=True)
class BundleDiff:
    """Everything that differs between two builds of a bundle."""

    base: Revision
    head: Revision
    sources: tuple[SourceChange, ...]
    outputs: tuple[OutputChange, ...]
    compared: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def changed(self) -> bool:
        return bool(self.outputs)

    @property
    def groups(self) -> list[ChangeGroup]:
        by_cause: dict[tuple[SourceChange, ...], list[OutputChange]] = {}
        for output in self.outputs:
            by_cause.setdefault(output.causes, []).append(output)
        order = sorted(by_cause, key=lambda c: (not c, [(s.path, s.status) for s in c]))
        return [ChangeGroup(c, tuple(sorted(by_cause[c], key=lambda o: o.path))) for c in order]

    @property
    def agents(self) -> list[str]:
        return sorted({o.agent for o in self.outputs if o.agent})

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outputs if o.status == status)

    @property
    def quiet_sources(self) -> list[SourceChange]:
        """Changed sources that changed no output (e.g. whitespace Jinja trims away)."""
        reached = {c for o in self.outputs for c in o.causes}
        return [s for s in self.sources if s not in reached]


class DiffError(PromptBundleError):
    """Any failure of `diff`: exit code 2, since 1 means 'something changed'."""

    exit_code = 2

    def __init__(self, inner: PromptBundleError) -> None:
        super().__init__(inner.message, inner.location)
        self.inner = inner

    def lines(self) -> list[str]:
        return self.inner.lines()


class RevisionBuildError(PromptBundleError):
    """The bundle does not build at one of the compared revisions."""

    def __init__(self, revision: Revision, inner: PromptBundleError, prefixes: Iterable[str]):
        super().__init__(f"cannot build {revision}: the build fails there")
        self.revision = revision
        lines = inner.lines()
        if revision.commit is not None:
            # Paths inside the temporary export read as git's REV:path.
            for prefix in prefixes:
                lines = [line.replace(prefix, f"{revision.label}:") for line in lines]
        self.details = lines

    def lines(self) -> list[str]:
        return [f"error: {self.message}", *self.details]


@dataclass
class _Side:
    revision: Revision
    root: Path | None
    outputs: dict[str, OutputFile]
    targets: set[str]
    agents: set[str]


def _build_side(revision: Revision, root: Path, prefixes: Iterable[str]) -> _Side:
    if not has_bundle(root):
        return _Side(revision, None, {}, set(), set())
    try:
        bundle = load(root)
        result = build_outputs(bundle)
    except PromptBundleError as err:
        raise RevisionBuildError(revision, err, prefixes) from err
    return _Side(
        revision,
        bundle.root,
        {o.path: o for o in result.outputs},
        {t.name for t in bundle.config.targets},
        {a.id for a in bundle.prompts},
    )


def _checkout(stack: ExitStack, top: Path, revision: Revision, rel: str) -> tuple[Path, list[str]]:
    """Export a commit into a temporary folder; (bundle root there, path prefixes to map)."""
    assert revision.commit is not None
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="promptbundle-diff-")))
    export_tree(top, revision.commit, folder, rel)
    prefixes = sorted({f"{folder}/", f"{folder.resolve()}/"}, key=len, reverse=True)
    return folder / rel if rel else folder, prefixes


def _source_bytes(root: Path | None, rel: str) -> bytes | None:
    if root is None:
        return None
    path = root / rel
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError:
        return None


def unified_diff(path: str, before: bytes | None, after: bytes | None) -> tuple[str, int, int]:
    """A git-style unified diff of one output: (text, lines added, lines removed)."""
    old = before.decode("utf-8", errors="replace").splitlines(keepends=True) if before else []
    new = after.decode("utf-8", errors="replace").splitlines(keepends=True) if after else []
    lines = list(
        difflib.unified_diff(
            old,
            new,
            fromfile=f"a/{path}" if before is not None else "/dev/null",
            tofile=f"b/{path}" if after is not None else "/dev/null",
        )
    )
    added = sum(1 for line in lines[2:] if line.startswith("+"))
    removed = sum(1 for line in lines[2:] if line.startswith("-"))
    text = "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )
    if not text and before != after:
        text = f"--- a/{path}\n+++ b/{path}\n(bytes differ; the text decodes the same)\n"
    return text, added, removed


def _status(old: object, new: object) -> Status:
    """`added` when only the new side exists, `removed` when only the old one, else `modified`."""
    return "added" if old is None else "removed" if new is None else "modified"


def _source_changes(
    base_sources: Mapping[str, bytes | None], head_sources: Mapping[str, bytes | None]
) -> dict[str, SourceChange]:
    """The sources whose bytes differ between the sides, by path, in path order."""
    changed: dict[str, SourceChange] = {}
    for rel in sorted(set(base_sources) | set(head_sources)):
        old, new = base_sources.get(rel), head_sources.get(rel)
        if old != new:
            changed[rel] = SourceChange(rel, _status(old, new))
    return changed


def _output_change(
    path: str,
    before: OutputFile | None,
    after: OutputFile | None,
    changed: Mapping[str, SourceChange],
) -> OutputChange:
    """The change of one output that differs, caused by its changed recorded sources."""
    recorded = set(before.sources if before else ()) | set(after.sources if after else ())
    causes = tuple(changed[s] for s in sorted(recorded) if s in changed)
    either = after or before
    assert either is not None
    text, added, removed = unified_diff(
        path,
        before.content if before else None,
        after.content if after else None,
    )
    status = _status(before, after)
    return OutputChange(path, status, either.target, either.agent, causes, text, added, removed)


def compare_builds(
    base: Mapping[str, OutputFile],
    head: Mapping[str, OutputFile],
    base_sources: Mapping[str, bytes | None],
    head_sources: Mapping[str, bytes | None],
) -> tuple[tuple[SourceChange, ...], tuple[OutputChange, ...]]:
    """Changed sources and changed outputs; each output's causes are its changed sources."""
    changed = _source_changes(base_sources, head_sources)
    outputs: list[OutputChange] = []
    for path in sorted(set(base) | set(head)):
        before, after = base.get(path), head.get(path)
        if before is not None and after is not None and before.content == after.content:
            continue
        outputs.append(_output_change(path, before, after, changed))
    return tuple(changed.values()), tuple(outputs)


def _select(
    side: _Side, targets: tuple[str, ...], agents: tuple[str, ...]
) -> dict[str, OutputFile]:
    return {
        path: o
        for path, o in side.outputs.items()
        if (not targets or o.target in targets) and (not agents or o.agent in agents)
    }


def _check_selection(sides: list[_Side], targets: Iterable[str], agents: Iterable[str]) -> None:
    known_targets = set().union(*(s.targets for s in sides))
    known_agents = set().union(*(s.agents for s in sides))
    for name in targets:
        if name not in known_targets:
            raise UsageError(
                f"unknown target {name!r} in both revisions "
                f"(targets: {', '.join(sorted(known_targets)) or 'none'})"
            )
    for name in agents:
        if name not in known_agents:
            raise UsageError(
                f"unknown agent {name!r} in both revisions "
                f"(agents: {', '.join(sorted(known_agents)) or 'none'})"
            )


def _bundle_folder(root: Path | None) -> Path:
    if root is not None:
        return root.resolve()
    try:
        return find_root(Path.cwd())
    except ConfigError:
        # No bundle in the working tree (deleted on this branch?): use the repository top.
        return repo_root(Path.cwd())


def diff_revisions(
    root: Path | None = None,
    base: str | None = None,
    head: str | None = None,
    *,
    targets: Iterable[str] = (),
    agents: Iterable[str] = (),
) -> BundleDiff:
    """Build `base` and `head` (default: merge base with the default branch, working tree).

    Commits are exported into temporary folders with git; the working tree is built in
    place in memory. Nothing is written to the checkout or its output folder.
    """
    targets, agents = tuple(targets), tuple(agents)
    folder = _bundle_folder(root)
    top = repo_root(folder)
    rel = folder.relative_to(top).as_posix() if folder != top else ""
    base_rev = resolve_revision(top, base) if base is not None else default_base(top)
    head_rev = resolve_revision(top, head) if head is not None else Revision(WORKING_TREE)
    with ExitStack() as stack:
        sides: list[_Side] = []
        for revision in (base_rev, head_rev):
            if revision.commit is None:
                sides.append(_build_side(revision, folder, ()))
            else:
                side_root, prefixes = _checkout(stack, top, revision, rel)
                sides.append(_build_side(revision, side_root, prefixes))
        _check_selection(sides, targets, agents)
        old, new = (_select(side, targets, agents) for side in sides)
        recorded = {s for outs in (old, new) for o in outs.values() for s in o.sources}
        old_sources = {s: _source_bytes(sides[0].root, s) for s in sorted(recorded)}
        new_sources = {s: _source_bytes(sides[1].root, s) for s in sorted(recorded)}
        sources, outputs = compare_builds(old, new, old_sources, new_sources)
    notes = tuple(
        f"{side.revision} has no bundle configuration: it counts as no outputs"
        for side in sides
        if side.root is None
    )
    return BundleDiff(base_rev, head_rev, sources, outputs, len(set(old) | set(new)), notes)
