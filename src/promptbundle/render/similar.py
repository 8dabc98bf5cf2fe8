"""Paragraphs alike: near-duplicates found through MinHash sketches and difflib, and the
skeleton several paragraphs share with the slots where they differ."""

from __future__ import annotations

import difflib
import re
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "MAX_SLOTS",
    "MAX_SLOT_CHARS",
    "MIN_SKELETON_SHARE",
    "NEAR_RATIO",
    "SimilarGroups",
    "similar_groups",
    "skeleton",
    "slot_names",
]

# Paragraphs at least this alike (difflib's ratio over words and punctuation) are near-duplicates.
NEAR_RATIO = 0.8
# A templated paragraph: at most this many slots, each one line of at most this many characters.
MAX_SLOTS = 6
MAX_SLOT_CHARS = 80
# Of each paragraph's characters, at least this share is the shared skeleton.
MIN_SKELETON_SHARE = 0.6
# Paragraphs compared with at most this many representatives of a similarity bucket.
_LEADERS = 12
_SKETCH = 4
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")
_WORD = re.compile(r"\w+")
_COMPARED = re.compile(r"\w+|[^\w\s]")
_RESERVED = frozenset(
    {"and", "or", "not", "in", "is", "if", "else", "true", "false", "none", "loop", "self"}
    | {"agent", "command", "skill", "rule", "prompt", "target", "bundle", "fragment"}
)


def _sketch(text: str) -> list[int]:
    """The smallest hashes of the text's word 3-shingles (a bottom-k MinHash sketch)."""
    words = [w.lower() for w in _WORD.findall(text)]
    shingles = {" ".join(words[i : i + 3]) for i in range(max(len(words) - 2, 1))}
    return sorted(zlib.crc32(s.encode("utf-8")) for s in shingles)[:_SKETCH]


class SimilarGroups:
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


def similar_groups(texts: Sequence[str]) -> SimilarGroups:
    """Texts at least NEAR_RATIO alike (difflib), found through shared sketch hashes."""
    buckets: dict[int, list[str]] = defaultdict(list)
    for text in texts:
        for value in _sketch(text):
            buckets[value].append(text)
    groups = SimilarGroups()
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
    groups: SimilarGroups,
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


def skeleton(texts: Sequence[str]) -> tuple[list[str], list[list[str]]] | None:
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


def slot_names(parts: list[str]) -> tuple[str, ...]:
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
