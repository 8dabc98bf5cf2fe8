"""Write a bundle diff for people (text), pull requests (Markdown) and tools (JSON)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any, Literal

from promptbundle.review.diff import STATUSES, BundleDiff, ChangeGroup, OutputChange

__all__ = [
    "COMMENT_LIMIT",
    "COMMENT_MARKER",
    "DIFF_FORMATS",
    "DiffFormat",
    "diff_json",
    "format_markdown",
    "format_text",
]

DiffFormat = Literal["text", "markdown", "json"]
DIFF_FORMATS: tuple[DiffFormat, ...] = ("text", "markdown", "json")
# GitHub refuses issue and pull-request comments longer than this many characters.
COMMENT_LIMIT = 65_536
# The hidden first line a workflow uses to find (and update) its earlier comment.
COMMENT_MARKER = "<!-- promptbundle-diff -->"
_LETTERS = {"modified": "M", "added": "A", "removed": "D"}
# Room kept for the truncation note at the end of a cut comment.
_NOTE_ROOM = 600
# A diff is cut rather than left out when at least this much room remains.
_MIN_CUT = 1_500


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' * (count != 1)}"


def _headline(diff: BundleDiff) -> str:
    if not diff.changed:
        return f"no output changed ({_plural(diff.compared, 'output')} compared)"
    if all(o.target == "catalog" for o in diff.outputs):
        # The catalog lists the prompts and fragments: new fragments change only it.
        return (
            f"no prompt output changed ({_plural(diff.compared, 'output')} compared); only the"
            f" catalog changed: {', '.join(o.path for o in diff.outputs)}"
        )
    counts = [f"{diff.count(s)} {s}" for s in STATUSES if diff.count(s)]
    agents = f" in {_plural(len(diff.agents), 'agent')}" if diff.agents else ""
    return f"{_plural(len(diff.outputs), 'output')} changed{agents} ({', '.join(counts)})"


def _stat_line(output: OutputChange) -> str:
    return f"{_LETTERS[output.status]} {output.path}  +{output.added_lines} -{output.removed_lines}"


def format_text(diff: BundleDiff, *, stat: bool = False) -> str:
    """Summary by cause, then (unless `stat`) each output's unified diff under its group."""
    lines = [f"promptbundle diff: {diff.base} → {diff.head}", *diff.notes, _headline(diff)]
    for group in diff.groups:
        lines += ["", group.title(), *(f"  {_stat_line(o)}" for o in group.outputs)]
    if diff.quiet_sources:
        quiet = ", ".join(str(s) for s in diff.quiet_sources)
        lines += ["", f"changed without changing any output: {quiet}"]
    text = "\n".join(lines) + "\n"
    if stat:
        return text
    for group in diff.groups:
        text += f"\n=== {group.title()}\n"
        text += "".join(o.diff for o in group.outputs)
    return text


def fence_for(text: str) -> str:
    """A backtick fence longer than any backtick run in `text` (a diff may hold fences)."""
    runs = [len(m) for m in re.findall(r"`+", text)]
    return "`" * max(3, max(runs, default=0) + 1)


def _same_change(output: OutputChange) -> str:
    """The diff without file names and line numbers: equal for the same edit in two files."""
    lines = output.diff.splitlines()[2:]
    return output.status + "\n" + "\n".join("@@" if x.startswith("@@") else x for x in lines)


def clusters(outputs: Iterable[OutputChange]) -> list[list[OutputChange]]:
    """Outputs grouped by identical change (one agent's body edit, once per target)."""
    found: dict[str, list[OutputChange]] = {}
    for output in outputs:
        found.setdefault(_same_change(output), []).append(output)
    return list(found.values())


def _details(cluster: list[OutputChange], body: str, note: str = "", fence: str = "") -> str:
    first = cluster[0]
    fence = fence or fence_for(body)
    summary = (
        f"<code>{html.escape(first.path)}</code> · {first.status} · "
        f"+{first.added_lines} -{first.removed_lines}{note}"
    )
    if len(cluster) > 1:
        others = ", ".join(f"<code>{html.escape(o.path)}</code>" for o in cluster[1:])
        summary += f" · the same change in {others}"
    return f"<details><summary>{summary}</summary>\n\n{fence}diff\n{body}{fence}\n\n</details>\n\n"


def _cut_details(cluster: list[OutputChange], room: int) -> str | None:
    """The cluster's details block with its diff cut to fit `room` characters, or None."""
    lines = cluster[0].diff.splitlines(keepends=True)
    fence = fence_for(cluster[0].diff)
    widest_note = f" · cut: {len(lines)} of {len(lines)} diff lines shown"
    space = room - len(_details(cluster, "", widest_note, fence))
    shown, used = 0, 0
    for line in lines:
        if used + len(line) > space:
            break
        used += len(line)
        shown += 1
    if shown == 0:
        return None
    note = f" · cut: {shown} of {len(lines)} diff lines shown"
    return _details(cluster, "".join(lines[:shown]), note, fence)


def _code(text: str) -> str:
    return f"`{text}`"


def format_markdown(diff: BundleDiff, *, stat: bool = False, limit: int = COMMENT_LIMIT) -> str:
    """A pull-request comment: a summary table, then a collapsible diff per output.

    The comment stays within `limit` characters: diffs that do not fit are cut or left out,
    and a closing note says how many and how to see them all.
    """
    summary = "\n".join(_markdown_head(diff) + _markdown_rows(diff)) + "\n"
    blocks: list[tuple[str, list[OutputChange]]] = [(summary, [])]
    for group in diff.groups:
        blocks += _group_blocks(group, stat)
    text = "".join(block for block, _ in blocks)
    if len(text) <= limit:
        return text
    return _truncated(diff, blocks, limit)


def _markdown_head(diff: BundleDiff) -> list[str]:
    """The hidden marker, the headline, the compared revisions and the diff's notes."""
    head = [COMMENT_MARKER, f"### Prompt changes: {_headline(diff)}", ""]
    head.append(f"Base {_code(str(diff.base))} → head {_code(str(diff.head))}.")
    head += [f"_{note}_" for note in diff.notes]
    head.append("")
    return head


def _markdown_rows(diff: BundleDiff) -> list[str]:
    """The table of changes by cause, then the sources that changed no output."""
    rows: list[str] = []
    if diff.changed:
        rows = [
            "| changed sources | outputs | agents | lines |",
            "| --- | ---: | ---: | ---: |",
        ]
        rows += [_group_row(group) for group in diff.groups]
        rows.append("")
    if diff.quiet_sources:
        quiet = ", ".join(f"{_code(s.path)} {s.status}" for s in diff.quiet_sources)
        rows += [f"Changed without changing any output: {quiet}.", ""]
    return rows


def _group_row(group: ChangeGroup) -> str:
    """One table row: the group's causes, output and agent counts, and lines changed."""
    causes = (
        "<br>".join(f"{_code(c.path)} {c.status}" for c in group.causes)
        or "no recorded source changed"
    )
    added = sum(o.added_lines for o in group.outputs)
    removed = sum(o.removed_lines for o in group.outputs)
    return f"| {causes} | {len(group.outputs)} | {len(group.agents)} | +{added} -{removed} |"


def _group_blocks(group: ChangeGroup, stat: bool) -> list[tuple[str, list[OutputChange]]]:
    """The group's heading, then a stat listing or one details block per identical change."""
    blocks: list[tuple[str, list[OutputChange]]] = [(f"#### {group.title(limit=5)}\n\n", [])]
    if stat:
        listing = "".join(f"- `{_stat_line(o)}`\n" for o in group.outputs)
        blocks.append((listing + "\n", []))
        return blocks
    blocks += [(_details(c, c[0].diff), c) for c in clusters(group.outputs)]
    return blocks


def _truncated(diff: BundleDiff, blocks: list[tuple[str, list[OutputChange]]], limit: int) -> str:
    budget = max(limit - _NOTE_ROOM, 0)
    text, full, cut = "", 0, 0
    for block, cluster in blocks:
        if len(text) + len(block) <= budget:
            text += block
            full += len(cluster)
            continue
        room = budget - len(text)
        if cluster and room >= _MIN_CUT:
            shortened = _cut_details(cluster, room)
            if shortened is not None:
                text += shortened
                cut += len(cluster)
        elif not cluster and not text:
            text = block[:budget]
        break
    total = len(diff.outputs)
    hidden = total - full - cut
    command = f"promptbundle diff {diff.base.short} {diff.head.short}"
    if diff.head.commit is None:
        command = f"promptbundle diff {diff.base.short}"
    note = (
        f"> [!NOTE]\n> **Truncated** to {limit:,} characters (GitHub refuses comments over "
        f"{COMMENT_LIMIT:,}): "
        f"{full} of {total} output diffs shown in full, {cut} cut, {hidden} left out. "
        f"Run `{command}` to see every diff.\n"
    )
    result = text.rstrip("\n") + "\n\n" + note
    return result if len(result) <= limit else result[: max(limit - len(note), 0)] + note


def diff_json(diff: BundleDiff, *, stat: bool = False) -> dict[str, Any]:
    """The diff for tools: revisions, changed sources, groups and outputs (with diffs)."""

    def revision(side: Any) -> dict[str, Any]:
        return {"label": side.label, "commit": side.commit}

    outputs = []
    for o in diff.outputs:
        entry: dict[str, Any] = {
            "path": o.path,
            "status": o.status,
            "target": o.target,
            "agent": o.agent,
            "causes": [c.path for c in o.causes],
            "added_lines": o.added_lines,
            "removed_lines": o.removed_lines,
        }
        if not stat:
            entry["diff"] = o.diff
        outputs.append(entry)
    data = {
        "base": revision(diff.base),
        "head": revision(diff.head),
        "changed": diff.changed,
        "compared": diff.compared,
        "notes": list(diff.notes),
        "summary": {s: diff.count(s) for s in STATUSES},
        "sources": [
            {
                "path": s.path,
                "status": s.status,
                "outputs": [o.path for o in diff.outputs if s in o.causes],
            }
            for s in diff.sources
        ],
        "groups": [
            {
                "title": g.title(limit=len(g.causes)),
                "causes": [c.path for c in g.causes],
                "outputs": [o.path for o in g.outputs],
                "agents": g.agents,
            }
            for g in diff.groups
        ],
        "outputs": outputs,
    }
    return data
