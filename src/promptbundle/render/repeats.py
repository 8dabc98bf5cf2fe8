"""Find what prompt bodies repeat: exact paragraph runs, templated paragraphs (one skeleton with
varying slots) and near-duplicates, in the text each body renders literally.

A body is read as pieces of literal text: the inside of each `{% raw %}` ... `{% endraw %}`
block (how `promptbundle import` escapes a body) and template text holding no Jinja syntax.
A paragraph (a block of non-blank lines) inside one piece renders exactly as written, so it
can move into a fragment without changing a byte of any output. `promptbundle extract` acts
on what this module finds, and the PB209 lint reports the same findings.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from promptbundle.core.markdown import fences
from promptbundle.core.model import Prompt
from promptbundle.render.similar import similar_groups, skeleton, slot_names

__all__ = [
    "MIN_NEAR_CHARS",
    "MIN_PARAGRAPH_CHARS",
    "RAW_CLOSE",
    "RAW_OPEN",
    "Block",
    "Kind",
    "Occurrence",
    "Piece",
    "Proposal",
    "find_repeats",
    "literal_pieces",
    "slug",
]

RAW_OPEN = "{% raw %}"
RAW_CLOSE = "{% endraw %}"
# Paragraphs shorter than this are too common to suggest a fragment for.
MIN_PARAGRAPH_CHARS = 80
# Near-duplicates and templated paragraphs are looked for among paragraphs this long.
MIN_NEAR_CHARS = 40
# A templated paragraph varies in most of its uses (names, roles); two or three wordings shared
# by many prompts are drift for a person to settle, not slots.
MIN_VARIANTS = 3
_JINJA_START = re.compile(r"\{[{%#]")
_RAW_TAG = re.compile(r"\{%[-+]?\s*raw\s*[-+]?%\}")
_ENDRAW_TAG = re.compile(r"\{%[-+]?\s*endraw\s*[-+]?%\}")
_JINJA_TAG = re.compile(r"\{%-?[^\n]*?-?%\}|\{#[^\n]*?#\}")
_FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*$")
_TAG_END = {"{{": "}}", "{%": "%}", "{#": "#}"}
_WORD = re.compile(r"\w+")

Kind = Literal["exact", "templated", "near"]


@dataclass(frozen=True)
class Piece:
    """A stretch of a body that renders literally: `start`..`end` are offsets in the body;
    `raw` when it is the inside of a `{% raw %}` block (its markers just outside)."""

    start: int
    end: int
    raw: bool
    # Whether the rendered text starts a line where the piece starts / ends one where it ends.
    opens_line: bool
    closes_line: bool


@dataclass(frozen=True)
class Block:
    """A paragraph of a prompt body: non-blank lines inside one literal piece."""

    prompt: Prompt
    piece: Piece
    start: int
    end: int
    line: int  # 0-based line of the body where it starts
    text: str

    @property
    def lines(self) -> int:
        return self.text.count("\n") + 1


@dataclass(frozen=True)
class Occurrence:
    """Where a proposal's text stands in one prompt: body offsets, its first line in the file,
    its piece, and (for a templated proposal) the slot values there."""

    prompt: Prompt
    start: int
    end: int
    line: int
    piece: Piece
    text: str
    slots: tuple[str, ...] = ()


@dataclass(frozen=True)
class Proposal:
    """A fragment waiting to happen, or (kind `near`) paragraphs for a person to unify.

    `id` is the fragment name it proposes; `skeleton` alternates literal text and slot
    names (slot names at odd positions; a plain fragment has one literal part)."""

    id: str
    kind: Kind
    occurrences: tuple[Occurrence, ...]
    skeleton: tuple[str, ...]
    slot_names: tuple[str, ...] = ()
    # For `near`: each variant's text with its unified diff against the first.
    diffs: tuple[tuple[str, str], ...] = ()
    ratio: float = 1.0

    @property
    def uses(self) -> int:
        """How many prompts hold it."""
        return len({o.prompt.rel for o in self.occurrences})

    @property
    def lines(self) -> int:
        """Lines of the text (the longest variant for near-duplicates)."""
        return max(o.text.count("\n") + 1 for o in self.occurrences)

    @property
    def chars(self) -> int:
        return max(len(o.text) for o in self.occurrences)

    @property
    def lines_saved(self) -> int:
        """Source lines gone once it is a fragment: each use becomes one line, plus the
        fragment file (nothing is saved by a near-duplicate, which is never applied)."""
        if self.kind == "near":
            return 0
        before = sum(o.text.count("\n") + 1 for o in self.occurrences)
        return before - len(self.occurrences) - self.lines

    @property
    def first_text(self) -> str:
        return self.occurrences[0].text


@dataclass
class _Index:
    """Every block of every prompt, with where each text occurs."""

    blocks: list[Block] = field(default_factory=list)
    by_text: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))


def _skip_tag(body: str, start: int) -> int:
    """The offset after the Jinja construct starting at `start` (len(body) if unclosed)."""
    raw = _RAW_TAG.match(body, start)
    if raw is not None:
        end = _ENDRAW_TAG.search(body, raw.end())
        return len(body) if end is None else end.end()
    closing = body.find(_TAG_END[body[start : start + 2]], start + 2)
    return len(body) if closing < 0 else closing + 2


def literal_pieces(body: str) -> list[Piece]:
    """The pieces of `body` that render exactly as written, in order."""
    pieces: list[Piece] = []
    position = 0
    while position < len(body):
        match = _JINJA_START.search(body, position)
        start = len(body) if match is None else match.start()
        if start > position:
            pieces.append(_piece(body, position, start, raw=False))
        if match is None:
            break
        if body.startswith(RAW_OPEN, start):
            inner = start + len(RAW_OPEN)
            end = _ENDRAW_TAG.search(body, inner)
            if end is not None and end.group() == RAW_CLOSE:
                if end.start() > inner:
                    pieces.append(_piece(body, inner, end.start(), raw=True))
                position = end.end()
                continue
        position = _skip_tag(body, start)
    return pieces


def _piece(body: str, start: int, end: int, *, raw: bool) -> Piece:
    marker_before = len(RAW_OPEN) if raw else 0
    marker_after = len(RAW_CLOSE) if raw else 0
    before = start - marker_before
    after = end + marker_after
    opens = before == 0 or body[before - 1] == "\n"
    closes = after == len(body) or body[after] == "\n"
    return Piece(start, end, raw, opens, closes)


def _blocks(prompt: Prompt) -> Iterator[Block]:
    """The paragraphs of a prompt's body that render literally and can move as they are."""
    body = prompt.body
    in_code = _code_lines(body)
    for piece in literal_pieces(body):
        offset = piece.start
        run: list[tuple[int, str]] = []
        for text in body[piece.start : piece.end].split("\n"):
            if text.strip():
                run.append((offset, text))
            else:
                yield from _block(prompt, piece, run, in_code, last=False)
                run = []
            offset += len(text) + 1
        yield from _block(prompt, piece, run, in_code, last=True)


def _code_lines(body: str) -> set[int]:
    """The lines inside a fenced code block of the body (0-based; fences excluded)."""
    if "```" not in body and "~~~" not in body:
        return set()
    text = _JINJA_TAG.sub("", body)
    return {line for start, end, _ in fences(text) for line in range(start + 1, end)}


def _block(
    prompt: Prompt,
    piece: Piece,
    run: list[tuple[int, str]],
    in_code: set[int],
    *,
    last: bool,
) -> Iterator[Block]:
    if not run:
        return
    start = run[0][0]
    end = run[-1][0] + len(run[-1][1])
    text = prompt.body[start:end]
    line = prompt.body.count("\n", 0, start)
    whole_lines = (start > piece.start or piece.opens_line) and (
        not last or end < piece.end or piece.closes_line
    )
    if whole_lines and line not in in_code and _movable(text, raw=piece.raw):
        yield Block(prompt, piece, start, end, line, text)


def _movable(text: str, *, raw: bool) -> bool:
    """Whether the text renders the same from a fragment: no CR; outside a raw block, no
    whitespace at its ends (a neighbouring `{%-` or `-%}` could trim it); no half code block
    (the prompt and the fragment would each have an open fence)."""
    if "\r" in text or (not raw and (text[0].isspace() or text[-1].isspace())):
        return False
    return ("```" not in text and "~~~" not in text) or _fences_closed(text)


def _fences_closed(text: str) -> bool:
    """Whether every code fence the text opens is closed inside it."""
    lines = text.split("\n")
    for start, end, markup in fences(text):
        match = _FENCE_LINE.match(lines[end - 1]) if start < end - 1 <= len(lines) - 1 else None
        if match is None or match.group(1)[0] != markup[0] or len(match.group(1)) < len(markup):
            return False
    return True


def slug(text: str, limit: int = 40) -> str:
    """A fragment name from a heading or the first words: ASCII, lowercase, hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    name = ""
    for word in words:
        candidate = f"{name}-{word}" if name else word
        if len(candidate) > limit:
            break
        name = candidate
    return name or (words[0][:limit] if words else "fragment")


def _name_source(text: str) -> str:
    """The heading the text opens with, else its first six words."""
    heading = re.match(r"^ {0,3}#{1,6}[ \t]+(.*)$", text.split("\n", 1)[0])
    if heading and heading.group(1).strip():
        return heading.group(1)
    return " ".join(_WORD.findall(text)[:6])


def _index(prompts: Iterable[Prompt]) -> _Index:
    index = _Index()
    for prompt in prompts:
        for block in _blocks(prompt):
            index.by_text[block.text].append(len(index.blocks))
            index.blocks.append(block)
    return index


def _occurrence(block: Block, slots: tuple[str, ...] = ()) -> Occurrence:
    return Occurrence(
        block.prompt,
        block.start,
        block.end,
        block.prompt.body_line + block.line,
        block.piece,
        block.text,
        slots,
    )


# Exact runs ---------------------------------------------------------------------------------


def _joined(index: _Index, claimed: set[int]) -> list[bool]:
    """For each block, whether it belongs to the run of the block before it: both stand in
    the same piece, and every copy of either text stands next to a copy of the other."""
    blocks = index.blocks
    pairs: dict[tuple[str, str], int] = defaultdict(int)
    follows = [False] * len(blocks)
    for number in range(1, len(blocks)):
        a, b = blocks[number - 1], blocks[number]
        if {number - 1, number} & claimed or not _next_to(a, b):
            continue
        follows[number] = True
        pairs[(a.text, b.text)] += 1
    joined = [False] * len(blocks)
    for number in range(1, len(blocks)):
        first, second = blocks[number - 1].text, blocks[number].text
        uses = len(index.by_text[first])
        joined[number] = follows[number] and uses == len(index.by_text[second])
        joined[number] = joined[number] and uses == pairs[(first, second)]
    return joined


def _next_to(a: Block, b: Block) -> bool:
    """Whether only blank lines stand between two blocks (none was left out between them)."""
    return (
        a.prompt is b.prompt and a.piece == b.piece and not a.prompt.body[a.end : b.start].strip()
    )


def _exact_runs(index: _Index, claimed: set[int]) -> list[list[list[int]]]:
    """Runs of adjacent blocks that always occur together, each as its occurrences (lists
    of block numbers); only texts that occur more than once."""
    blocks = index.blocks
    joined = _joined(index, claimed)
    runs: dict[tuple[str, ...], list[list[int]]] = {}
    number = 0
    while number < len(blocks):
        end = number + 1
        while end < len(blocks) and joined[end]:
            end += 1
        members = [n for n in range(number, end) if n not in claimed]
        if members and len(index.by_text[blocks[members[0]].text]) > 1:
            key = tuple(blocks[n].text for n in members)
            runs.setdefault(key, []).append(members)
        number = end
    return list(runs.values())


# Putting it together ------------------------------------------------------------------------


@dataclass
class _Found:
    proposals: list[Proposal] = field(default_factory=list)
    claimed: set[int] = field(default_factory=set)


def _templated_and_near(index: _Index, found: _Found) -> None:
    texts = sorted(t for t in index.by_text if len(t) >= MIN_NEAR_CHARS)
    similar = similar_groups(texts)
    pairs_of: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
    for a, b, ratio in similar.pairs:
        pairs_of[similar.find(a)].append((a, b, ratio))
    for group in similar.groups():
        prompts = {index.blocks[n].prompt.rel for t in group for n in index.by_text[t]}
        varied = len(group) >= MIN_VARIANTS and 2 * len(group) >= len(prompts)
        found_skeleton = skeleton(group) if varied else None
        if found_skeleton is None:
            found.proposals.append(_near(index, group, pairs_of[similar.find(group[0])]))
        else:
            found.proposals.append(_templated(index, group, *found_skeleton, claimed=found.claimed))


def _templated(
    index: _Index, group: list[str], parts: list[str], values: list[list[str]], *, claimed: set[int]
) -> Proposal:
    occurrences = []
    for text, row in zip(group, values, strict=True):
        for number in index.by_text[text]:
            claimed.add(number)
            occurrences.append(_occurrence(index.blocks[number], tuple(row)))
    names = slot_names(parts)
    named = tuple(p if i % 2 == 0 else names[i // 2] for i, p in enumerate(parts))
    return Proposal("", "templated", _ordered(occurrences), named, names)


def _near(index: _Index, group: list[str], pairs: list[tuple[str, str, float]]) -> Proposal:
    occurrences = _ordered(_occurrence(index.blocks[n]) for t in group for n in index.by_text[t])
    where = {}
    for occurrence in reversed(occurrences):
        where[occurrence.text] = f"{occurrence.prompt.rel}:{occurrence.line}"
    diffs = []
    for a, b, _ in sorted(pairs):
        lines = difflib.unified_diff(
            a.splitlines(), b.splitlines(), where[a], where[b], lineterm="", n=1
        )
        diffs.append((b, "\n".join(lines)))
    ratio = min((r for _, _, r in pairs), default=1.0)
    return Proposal(
        "", "near", occurrences, (occurrences[0].text,), diffs=tuple(diffs), ratio=ratio
    )


def _ordered(occurrences: Iterable[Occurrence]) -> tuple[Occurrence, ...]:
    return tuple(sorted(occurrences, key=lambda o: (o.prompt.rel, o.start)))


def _exact(index: _Index, found: _Found) -> None:
    for run in _exact_runs(index, found.claimed):
        occurrences = []
        for members in run:
            first, last = index.blocks[members[0]], index.blocks[members[-1]]
            text = first.prompt.body[first.start : last.end]
            occurrences.append(
                Occurrence(
                    first.prompt,
                    first.start,
                    last.end,
                    first.prompt.body_line + first.line,
                    first.piece,
                    text,
                )
            )
        found.proposals.append(Proposal("", "exact", _ordered(occurrences), (occurrences[0].text,)))


# Sections: neighbours that always stand together ------------------------------------------


def _following(occurrence: Occurrence) -> tuple[str, int]:
    """Where the next paragraph after an occurrence would start (same piece, past blank lines)."""
    body = occurrence.prompt.body
    position = occurrence.end
    while position < occurrence.piece.end and body[position] in " \t\n":
        position += 1
    return occurrence.prompt.rel, position


def _merged(first: Proposal, second: Proposal) -> Proposal | None:
    """One proposal for two whose copies always stand next to each other with the same blank
    lines between them; None if they do not."""
    if len(first.occurrences) != len(second.occurrences):
        return None
    pairs = list(zip(first.occurrences, second.occurrences, strict=True))
    gap = _common_gap(pairs)
    if gap is None:
        return None
    occurrences = tuple(
        Occurrence(
            a.prompt,
            a.start,
            b.end,
            a.line,
            a.piece,
            a.prompt.body[a.start : b.end],
            a.slots + b.slots,
        )
        for a, b in pairs
    )
    joined = [
        *first.skeleton[:-1],
        first.skeleton[-1] + gap + second.skeleton[0],
        *second.skeleton[1:],
    ]
    names = slot_names([p if i % 2 == 0 else "" for i, p in enumerate(joined)])
    parts = tuple(p if i % 2 == 0 else names[i // 2] for i, p in enumerate(joined))
    return Proposal("", "templated" if names else "exact", occurrences, parts, names)


def _common_gap(pairs: list[tuple[Occurrence, Occurrence]]) -> str | None:
    """The blank lines between each pair, when the second always comes right after the first
    and the blank lines are the same every time."""
    gaps = {a.prompt.body[a.end : b.start] for a, b in pairs}
    if len(gaps) != 1 or any(_following(a) != (b.prompt.rel, b.start) for a, b in pairs):
        return None
    return gaps.pop()


def _merge_once(merging: list[Proposal]) -> list[Proposal] | None:
    """The proposals with the first pair of neighbours merged; None when no pair merges."""
    starts = {
        (o.prompt.rel, o.start): number
        for number, proposal in enumerate(merging)
        for o in proposal.occurrences
    }
    for number, proposal in enumerate(merging):
        after = starts.get(_following(proposal.occurrences[0]))
        joined = None if after in (None, number) else _merged(proposal, merging[after])
        if joined is not None:
            return [p for i, p in enumerate(merging) if i not in (number, after)] + [joined]
    return None


def _sections(proposals: list[Proposal]) -> list[Proposal]:
    """Exact and templated proposals whose copies always follow each other, merged into one
    (a section: its heading, its fixed paragraphs and its templated ones)."""
    merging: list[Proposal] | None = [p for p in proposals if p.kind != "near"]
    while merging is not None:
        done, merging = merging, _merge_once(merging)
    return done + [p for p in proposals if p.kind == "near"]


def _rank(proposal: Proposal) -> tuple[int, int, int, str]:
    order = {"exact": 0, "templated": 0, "near": 1}[proposal.kind]
    return (order, -proposal.lines_saved, -proposal.chars * proposal.uses, proposal.first_text)


def find_repeats(
    prompts: Iterable[Prompt], *, taken: Iterable[str] = (), min_chars: int = MIN_PARAGRAPH_CHARS
) -> list[Proposal]:
    """Every repeat across the prompts, ranked by lines saved: exact runs and templated
    paragraphs in at least two prompts with at least `min_chars` characters, then the
    near-duplicates. Each is named after its heading or first words, unique among the names
    `taken` (existing fragments, without `.md`) and each other."""
    prompts = sorted(prompts, key=lambda p: p.rel)
    index = _index(prompts)
    found = _Found()
    _templated_and_near(index, found)
    _exact(index, found)
    found.proposals = _sections(found.proposals)
    kept = [
        p for p in found.proposals if p.uses >= 2 and (p.kind == "near" or p.chars >= min_chars)
    ]
    named: list[Proposal] = []
    used = set(taken)
    for proposal in sorted(kept, key=_rank):
        base = slug(_name_source(proposal.first_text))
        base = base if proposal.kind != "near" else f"near-{base}"
        name = base
        number = 2
        while name in used:
            name, number = f"{base}-{number}", number + 1
        used.add(name)
        named.append(_with_id(proposal, name))
    return named


def _with_id(proposal: Proposal, name: str) -> Proposal:
    return Proposal(
        name,
        proposal.kind,
        proposal.occurrences,
        proposal.skeleton,
        proposal.slot_names,
        proposal.diffs,
        proposal.ratio,
    )
