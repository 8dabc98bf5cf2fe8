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
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from promptbundle.core.markdown import fences
from promptbundle.core.model import Prompt

__all__ = [
    "MIN_NEAR_CHARS",
    "MIN_PARAGRAPH_CHARS",
    "Block",
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
NEAR_RATIO = 0.8
# A templated paragraph: at most this many slots, each one line of at most this many characters.
MAX_SLOTS = 6
MAX_SLOT_CHARS = 80
# A templated paragraph varies in most of its uses (names, roles); two or three wordings shared
# by many prompts are drift for a person to settle, not slots.
MIN_VARIANTS = 3
# Of each paragraph's characters, at least this share is the shared skeleton.
MIN_SKELETON_SHARE = 0.6
# Paragraphs compared with at most this many representatives of a similarity bucket.
_LEADERS = 12
_SKETCH = 4
_JINJA_START = re.compile(r"\{[{%#]")
_RAW_TAG = re.compile(r"\{%[-+]?\s*raw\s*[-+]?%\}")
_ENDRAW_TAG = re.compile(r"\{%[-+]?\s*endraw\s*[-+]?%\}")
_JINJA_TAG = re.compile(r"\{%-?[^\n]*?-?%\}|\{#[^\n]*?#\}")
_FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*$")
_TAG_END = {"{{": "}}", "{%": "%}", "{#": "#}"}
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")
_WORD = re.compile(r"\w+")
_COMPARED = re.compile(r"\w+|[^\w\s]")
_RESERVED = frozenset(
    {"and", "or", "not", "in", "is", "if", "else", "true", "false", "none", "loop", "self"}
    | {"agent", "command", "skill", "rule", "prompt", "target", "bundle", "fragment"}
)

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


# Similar paragraphs -------------------------------------------------------------------------


def _sketch(text: str) -> list[int]:
    """The smallest hashes of the text's word 3-shingles (a bottom-k MinHash sketch)."""
    words = [w.lower() for w in _WORD.findall(text)]
    shingles = {" ".join(words[i : i + 3]) for i in range(max(len(words) - 2, 1))}
    return sorted(zlib.crc32(s.encode("utf-8")) for s in shingles)[:_SKETCH]


class _Groups:
    """Union-find over distinct texts, with the similar pairs that joined them."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.pairs: list[tuple[str, str, float]] = []

    def find(self, text: str) -> str:
        root = self.parent.setdefault(text, text)
        while root != self.parent[root]:
            root = self.parent[root]
        self.parent[text] = root
        return root

    def join(self, a: str, b: str, ratio: float) -> None:
        self.pairs.append((a, b, ratio))
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[list[str]]:
        members: dict[str, list[str]] = defaultdict(list)
        for text in sorted(self.parent):
            members[self.find(text)].append(text)
        return [m for m in members.values() if len(m) > 1]


def _words(text: str) -> list[str]:
    """Words and punctuation: what difflib compares (so re-wrapping is no difference)."""
    return _COMPARED.findall(text)


def _similar(a: list[str], b: list[str]) -> float:
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < NEAR_RATIO or matcher.quick_ratio() < NEAR_RATIO:
        return 0.0
    return matcher.ratio()


def _similar_groups(texts: Sequence[str]) -> _Groups:
    """Texts at least NEAR_RATIO alike (difflib), found through shared sketch hashes."""
    buckets: dict[int, list[str]] = defaultdict(list)
    for text in texts:
        for value in _sketch(text):
            buckets[value].append(text)
    groups = _Groups()
    words = {text: _words(text) for text in texts}
    tried: set[tuple[str, str]] = set()
    for key in sorted(buckets):
        leaders: list[str] = []
        for text in sorted(buckets[key], key=lambda t: (len(t), t)):
            if not _join_a_leader(text, leaders, words, tried, groups) and len(leaders) < _LEADERS:
                leaders.append(text)
    return groups


def _join_a_leader(
    text: str,
    leaders: list[str],
    words: dict[str, list[str]],
    tried: set[tuple[str, str]],
    groups: _Groups,
) -> bool:
    """Join `text` to the first leader it is alike enough; False if none is."""
    for leader in leaders:
        if (leader, text) in tried:
            continue
        tried.add((leader, text))
        ratio = _similar(words[leader], words[text])
        if ratio >= NEAR_RATIO:
            groups.join(leader, text, ratio)
            return True
    return False


def _alignment(tokens: list[list[str]]) -> tuple[list[bool], list[dict[int, int]]]:
    """Which tokens of the first text every other text has too, and where (token maps)."""
    reference = tokens[0]
    fixed = [True] * len(reference)
    maps: list[dict[int, int]] = []
    for other in tokens[1:]:
        matcher = difflib.SequenceMatcher(None, reference, other, autojunk=False)
        mapping: dict[int, int] = {}
        for i1, j1, size in matcher.get_matching_blocks():
            mapping.update({i1 + k: j1 + k for k in range(size)})
        maps.append(mapping)
        fixed = [f and i in mapping for i, f in enumerate(fixed)]
    return fixed, maps


@dataclass
class _Template:
    """A skeleton being cut: literal parts at even positions, a slot at each odd one, and
    each text's slot values."""

    tokens: list[list[str]]
    maps: list[dict[int, int]]
    parts: list[str] = field(default_factory=list)
    values: list[list[str]] = field(default_factory=list)

    def at(self, i: int, row: int) -> int:
        """Where token `i` of the first text stands in text `row`."""
        return i if row == 0 else self.maps[row - 1][i]

    def slot(self, after: int | None, before: int | None) -> None:
        """A slot after fixed token `after` and before fixed token `before` (None: the ends)."""
        for row, other in enumerate(self.tokens):
            start = 0 if after is None else self.at(after, row) + 1
            stop = None if before is None else self.at(before, row)
            self.values[row].append("".join(other[start:stop]))
        self.parts.extend(([""] if not self.parts else []) + ["<slot>"])

    def text_after(self, fixed: int) -> bool:
        return any(self.at(fixed, row) + 1 < len(t) for row, t in enumerate(self.tokens))


def _skeleton(texts: Sequence[str]) -> tuple[list[str], list[list[str]]] | None:
    """The literal parts every text shares in order and each text's slot values, or None
    when the texts are not one skeleton with a few short one-line slots."""
    tokens = [_TOKEN.findall(text) for text in texts]
    fixed, maps = _alignment(tokens)
    runs = _fixed_runs(fixed)
    if not runs or len(runs) > MAX_SLOTS + 1:
        return None
    template = _Template(tokens, maps, values=[[] for _ in texts])
    if any(template.at(runs[0][0], row) > 0 for row in range(len(texts))):
        template.slot(None, runs[0][0])
    for number, (i1, i2) in enumerate(runs):
        if number:
            template.slot(runs[number - 1][1] - 1, i1)
        template.parts.append("".join(tokens[0][i1:i2]))
    if template.text_after(runs[-1][1] - 1):
        template.slot(runs[-1][1] - 1, None)
        template.parts.append("")
    return _checked(texts, template.parts, template.values)


def _fixed_runs(fixed: list[bool]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    start = None
    for i, value in enumerate([*fixed, False]):
        if value and start is None:
            start = i
        elif not value and start is not None:
            runs.append((start, i))
            start = None
    return runs


def _checked(
    texts: Sequence[str], parts: list[str], values: list[list[str]]
) -> tuple[list[str], list[list[str]]] | None:
    """The skeleton if it rebuilds every text and its slots are short single lines."""
    literal = sum(len(p) for p in parts[::2])
    if not values[0] or any(literal < MIN_SKELETON_SHARE * len(t) for t in texts):
        return None
    for text, row in zip(texts, values, strict=True):
        rebuilt = "".join(p if i % 2 == 0 else row[i // 2] for i, p in enumerate(parts))
        if rebuilt != text or not all(map(_short_line, row)):
            return None
    return parts, values


def _short_line(value: str) -> bool:
    return "\n" not in value and "\r" not in value and len(value) <= MAX_SLOT_CHARS


def _slot_names(parts: list[str]) -> tuple[str, ...]:
    """A variable name per slot: the word before it in the skeleton, else `slot`."""
    names: list[str] = []
    for i in range(1, len(parts), 2):
        words = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", parts[i - 1])
        base = words[-1].lower() if words else "slot"
        if base in _RESERVED or base.startswith("_"):
            base = "slot"
        name, number = base, 2
        while name in names:
            name, number = f"{base}_{number}", number + 1
        names.append(name)
    return tuple(names)


# Putting it together ------------------------------------------------------------------------


@dataclass
class _Found:
    proposals: list[Proposal] = field(default_factory=list)
    claimed: set[int] = field(default_factory=set)


def _templated_and_near(index: _Index, found: _Found) -> None:
    texts = sorted(t for t in index.by_text if len(t) >= MIN_NEAR_CHARS)
    similar = _similar_groups(texts)
    pairs_of: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
    for a, b, ratio in similar.pairs:
        pairs_of[similar.find(a)].append((a, b, ratio))
    for group in similar.groups():
        prompts = {index.blocks[n].prompt.rel for t in group for n in index.by_text[t]}
        varied = len(group) >= MIN_VARIANTS and 2 * len(group) >= len(prompts)
        skeleton = _skeleton(group) if varied else None
        if skeleton is None:
            found.proposals.append(_near(index, group, pairs_of[similar.find(group[0])]))
        else:
            found.proposals.append(_templated(index, group, *skeleton, claimed=found.claimed))


def _templated(
    index: _Index, group: list[str], parts: list[str], values: list[list[str]], *, claimed: set[int]
) -> Proposal:
    occurrences = []
    for text, row in zip(group, values, strict=True):
        for number in index.by_text[text]:
            claimed.add(number)
            occurrences.append(_occurrence(index.blocks[number], tuple(row)))
    names = _slot_names(parts)
    skeleton = tuple(p if i % 2 == 0 else names[i // 2] for i, p in enumerate(parts))
    return Proposal("", "templated", _ordered(occurrences), skeleton, names)


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
