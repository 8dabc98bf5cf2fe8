"""Turn what prompts repeat into fragments: plan the rewrite, prove it changes no output, write.

The finder (render/repeats.py) proposes fragments; a plan holds every file the selected
proposals write. Applying builds the bundle as it is and a temporary copy with the plan's
files (both in memory), compares every output byte for byte and writes only if none differs,
all files or none.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from promptbundle.build.pipeline import build_outputs, load
from promptbundle.core.errors import (
    BuildFailedError,
    BundleError,
    ErrorGroup,
    Location,
    PromptBundleError,
    UsageError,
)
from promptbundle.core.model import Bundle, OutputFile
from promptbundle.core.roundtrip import escape_body
from promptbundle.core.suggest import did_you_mean
from promptbundle.render.repeats import RAW_CLOSE, RAW_OPEN, Occurrence, Proposal, find_repeats

__all__ = [
    "ApplyResult",
    "ExtractPlan",
    "apply_plan",
    "fragment_call",
    "fragment_source",
    "plan_extract",
    "rewrite_body",
]

FRAGMENTS = "fragments"
# A catalog (dist/README.md) ends with its fragment index, which new fragments extend.
_FRAGMENT_INDEX = b"\n\n| fragment | used by |"
_IGNORED = (".git", ".promptbundle-cache", ".venv", "node_modules", "__pycache__")


@dataclass(frozen=True)
class ExtractPlan:
    """The proposals shown, those selected for writing, and the files writing them means."""

    root: Path
    shown: tuple[Proposal, ...]
    selected: tuple[Proposal, ...]
    # File path relative to the root -> its new text (fragments first, then prompt sources).
    files: dict[str, str] = field(default_factory=dict)
    lines_before: int = 0
    lines_after: int = 0

    @property
    def fragments(self) -> list[str]:
        return [rel for rel in self.files if rel.startswith(f"{FRAGMENTS}/")]


@dataclass(frozen=True)
class ApplyResult:
    """What applying found: the outputs compared, those that would change, what was written."""

    compared: int
    changed: tuple[str, ...]
    written: tuple[str, ...]


def _lines(text: str) -> int:
    return text.count("\n") + (0 if text.endswith("\n") or not text else 1)


def _check_limits(min_uses: int, min_lines: int) -> None:
    if min_uses < 2:
        raise UsageError(f"--min-uses must be at least 2, got {min_uses}")
    if min_lines < 1:
        raise UsageError(f"--min-lines must be at least 1, got {min_lines}")


def _select(
    proposals: Sequence[Proposal], *, min_uses: int, min_lines: int, only: Sequence[str]
) -> list[Proposal]:
    known = {p.id for p in proposals}
    for name in set(only) - known:
        hint = did_you_mean(name, known) or " (see the report)"
        raise UsageError(f"--only {name!r}: no such proposal{hint}")
    chosen = [p for p in proposals if p.uses >= min_uses and p.lines >= min_lines]
    return [p for p in chosen if not only or p.id in only]


def plan_extract(
    root: Path | None = None,
    *,
    min_uses: int = 2,
    min_lines: int = 1,
    only: Sequence[str] = (),
) -> ExtractPlan:
    """Find the repeats of the bundle at `root` and plan the fragments for those selected:
    used by at least `min_uses` prompts, at least `min_lines` lines, and named by `only`
    when given. Near-duplicates are shown, never selected."""
    _check_limits(min_uses, min_lines)
    bundle = load(root)
    taken = {name.removesuffix(".md") for name in bundle.fragments} | {"readme"}
    proposals = find_repeats(bundle.prompts, taken=taken)
    shown = _select(proposals, min_uses=min_uses, min_lines=min_lines, only=only)
    selected = [p for p in shown if p.kind != "near"]
    files = {f"{FRAGMENTS}/{p.id}.md": fragment_source(p) for p in selected}
    fragment_lines = sum(_lines(_read(bundle.root / FRAGMENTS / f)) for f in bundle.fragments)
    new_lines = sum(_lines(text) for text in files.values())
    before, after = _rewrite_sources(bundle, selected, files)
    after += new_lines
    return ExtractPlan(
        bundle.root,
        tuple(shown),
        tuple(selected),
        files,
        before + fragment_lines,
        after + fragment_lines,
    )


def _rewrite_sources(
    bundle: Bundle, selected: Sequence[Proposal], files: dict[str, str]
) -> tuple[int, int]:
    """Add each rewritten prompt source to `files`; the source lines before and after."""
    by_prompt: dict[str, list[tuple[Occurrence, str]]] = defaultdict(list)
    for proposal in selected:
        for occurrence in proposal.occurrences:
            call = fragment_call(proposal, occurrence)
            by_prompt[occurrence.prompt.rel].append((occurrence, call))
    before = after = 0
    for prompt in bundle.prompts:
        text = _read(prompt.path)
        before += _lines(text)
        if prompt.rel in by_prompt:
            head = text[: len(text) - len(prompt.body)]
            text = head + rewrite_body(prompt.body, by_prompt[prompt.rel])
            files[prompt.rel] = text
        after += _lines(text)
    return before, after


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def _template_text(text: str) -> str:
    """Jinja source rendering exactly `text`: as is when it holds no brace or CR."""
    return escape_body(text) if "{" in text or "}" in text or "\r" in text else text


def fragment_source(proposal: Proposal) -> str:
    """The fragment file of a proposal: its text, with `{{ slot }}` for a templated one."""
    parts = [
        _template_text(part) if i % 2 == 0 else f"{{{{ {part} }}}}"
        for i, part in enumerate(proposal.skeleton)
    ]
    return "".join(parts) + "\n"


def _literal(value: str) -> str:
    """A Jinja string literal for `value`."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def fragment_call(proposal: Proposal, occurrence: Occurrence) -> str:
    """The expression that renders the proposal's fragment as this occurrence's text."""
    arguments = [_literal(proposal.id)]
    arguments += [
        f"{name}={_literal(value)}"
        for name, value in zip(proposal.slot_names, occurrence.slots, strict=True)
    ]
    return "{{ fragment(" + ", ".join(arguments) + ") }}"


def _raw(text: str, *, bare: bool) -> str:
    if not text:
        return ""
    if bare and not text.strip(" \t\n"):
        return text
    return RAW_OPEN + text + RAW_CLOSE


def rewrite_body(body: str, items: Iterable[tuple[Occurrence, str]]) -> str:
    """`body` with each occurrence replaced by its call; inside a `{% raw %}` block the block
    is closed before the call and opened again after it."""
    by_piece: dict[int, list[tuple[Occurrence, str]]] = defaultdict(list)
    for occurrence, call in items:
        by_piece[occurrence.piece.start].append((occurrence, call))
    out: list[str] = []
    position = 0
    for start in sorted(by_piece):
        found = sorted(by_piece[start], key=lambda item: item[0].start)
        piece = found[0][0].piece
        if not piece.raw:
            for occurrence, call in found:
                out += [body[position : occurrence.start], call]
                position = occurrence.end
            continue
        out.append(body[position : piece.start - len(RAW_OPEN)])
        cursor = piece.start
        for number, (occurrence, call) in enumerate(found):
            out += [_raw(body[cursor : occurrence.start], bare=number > 0), call]
            cursor = occurrence.end
        out.append(_raw(body[cursor : piece.end], bare=False))
        position = piece.end + len(RAW_CLOSE)
    out.append(body[position:])
    return "".join(out)


def _comparable(output: OutputFile) -> bytes:
    """An output's bytes as compared: a catalog without its fragment index."""
    if output.target == "catalog":
        return output.content.split(_FRAGMENT_INDEX, 1)[0].rstrip(b"\n")
    return output.content


def _changed(before: Sequence[OutputFile], after: Sequence[OutputFile]) -> list[str]:
    old = {o.path: _comparable(o) for o in before}
    new = {o.path: _comparable(o) for o in after}
    return sorted(path for path in old.keys() | new.keys() if old.get(path) != new.get(path))


def _build_copy(bundle: Bundle, files: dict[str, str], folder: Path) -> list[OutputFile]:
    """Build a copy of the bundle with `files` written into it (in memory)."""
    copy = folder / "bundle"
    root = bundle.root

    def ignore(where: str, names: list[str]) -> set[str]:
        skipped = set(_IGNORED) | ({bundle.config.out} if Path(where) == root else set())
        return skipped & set(names)

    shutil.copytree(root, copy, symlinks=True, ignore=ignore)
    for rel, text in files.items():
        path = copy / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    try:
        result = build_outputs(load(copy))
    except PromptBundleError as err:
        first = err.errors[0] if isinstance(err, ErrorGroup) else err
        raise _unbuilt_copy(copy, first.message, first.location) from err
    # Outputs that fail validation here differ from the first build's, which passed: the
    # comparison names them.
    return result.outputs


def _unbuilt_copy(copy: Path, message: str, location: Location | None) -> BundleError:
    """The rewrite failed to build (a bug in the rewrite): where, relative to the bundle."""
    where = str(location).replace(str(copy) + os.sep, "") if location else "the bundle"
    return BundleError(
        f"the rewritten sources would not build ({where}: {message}); nothing was written"
    )


def apply_plan(plan: ExtractPlan) -> ApplyResult:
    """Build before and after; write the plan's files only if no output differs."""
    if not plan.files:
        return ApplyResult(0, (), ())
    for rel in plan.fragments:
        if (plan.root / rel).exists():
            raise BundleError(
                f"fragment {rel} already exists; nothing was written", Location(plan.root / rel)
            )
    bundle = load(plan.root)
    before = build_outputs(bundle)
    if before.errors:
        raise BuildFailedError(
            [d.line() for d in before.errors],
            "the bundle does not build; extract writes nothing until it does",
        )
    with tempfile.TemporaryDirectory(prefix="promptbundle-extract-") as folder:
        after = _build_copy(bundle, plan.files, Path(folder))
    changed = _changed(before.outputs, after)
    compared = len({o.path for o in before.outputs} | {o.path for o in after})
    if changed:
        return ApplyResult(compared, tuple(changed), ())
    _write_all(plan.root, plan.files)
    return ApplyResult(compared, (), tuple(plan.files))


def _write_all(root: Path, files: dict[str, str]) -> None:
    """Write every file or none: each goes to a temporary file beside it, then all are
    renamed into place."""
    staged: list[tuple[str, Path]] = []
    try:
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".pb-", suffix=".tmp")
            staged.append((temporary, path))
            with os.fdopen(handle, "wb") as stream:
                stream.write(text.encode("utf-8"))
            mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
            os.chmod(temporary, mode)
    except OSError as err:
        for temporary, _ in staged:
            Path(temporary).unlink(missing_ok=True)
        message = f"cannot write {err.filename}: {err.strerror}; nothing was written"
        raise BundleError(message) from err
    for temporary, path in staged:
        os.replace(temporary, path)
