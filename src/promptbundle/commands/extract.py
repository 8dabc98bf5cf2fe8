"""`promptbundle extract`: propose fragments for what prompts repeat; `--apply` writes them
when a rebuild shows that no output changes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from promptbundle.commands.outcome import Outcome
from promptbundle.core.errors import display_path
from promptbundle.render.repeats import Occurrence, Proposal
from promptbundle.review.extract import (
    ApplyResult,
    ExtractPlan,
    apply_plan,
    fragment_call,
    fragment_source,
    plan_extract,
)

__all__ = ["run_extract"]

# Places listed per proposal in the text report (--json lists them all).
_SHOWN_PLACES = 4


def run_extract(
    root: Path | None = None,
    *,
    apply: bool = False,
    min_uses: int = 2,
    min_lines: int = 1,
    only: Sequence[str] = (),
) -> Outcome:
    """Report the proposals; with `apply`, write them if no output changes (exit 1 if one
    would, writing nothing)."""
    plan = plan_extract(root, min_uses=min_uses, min_lines=min_lines, only=only)
    lines = [line for proposal in plan.shown for line in _proposal_lines(proposal)]
    data: dict[str, Any] = {
        "proposals": [_proposal_json(p) for p in plan.shown],
        "lines_before": plan.lines_before,
        "lines_after": plan.lines_after,
        "fragments": [rel for rel in plan.fragments],
        "applied": False,
    }
    if not apply:
        return Outcome("extract", _report_summary(plan), lines=lines, data=data)
    result = apply_plan(plan)
    data.update(
        compared=result.compared,
        changed=list(result.changed),
        written=list(result.written),
        applied=bool(result.written),
    )
    if result.changed:
        return Outcome(
            "extract",
            _refusal(result),
            messages=[f"error: would change {path}" for path in result.changed],
            data=data,
            exit_code=1,
            summary_stream="stderr",
        )
    notes = (
        [
            "note: outputs compared byte for byte; the catalog (README.md) without its fragment"
            " index, which now lists the new fragments (dist/manifest.json records them too)"
        ]
        if result.written
        else []
    )
    return Outcome("extract", _applied_summary(plan, result), lines=lines, notes=notes, data=data)


def _place(occurrence: Occurrence) -> str:
    return f"{display_path(occurrence.prompt.path)}:{occurrence.line}"


def _proposal_lines(proposal: Proposal) -> list[str]:
    places = [_place(o) for o in proposal.occurrences]
    more = len(places) - _SHOWN_PLACES
    where = ", ".join(places[:_SHOWN_PLACES]) + (f" and {more} more" if more > 0 else "")
    size = f"{proposal.uses} prompts, {proposal.lines} line{'s' * (proposal.lines != 1)}"
    if proposal.kind == "near":
        head = (
            f"near      {proposal.id}: {size}, at least {proposal.ratio:.0%} alike;"
            " unify the wording by hand"
        )
        diffs = [f"  {line}" for _, diff in proposal.diffs for line in diff.split("\n")]
        return [head, f"  in {where}", *diffs]
    slots = f", slots: {', '.join(proposal.slot_names)}" if proposal.slot_names else ""
    saved = proposal.lines_saved
    plural = "s" * (saved != 1)
    head = f"{proposal.kind:<9} {proposal.id}: {size}{slots}; saves {saved} line{plural}"
    return [head, f"  in {where}"]


def _proposal_json(proposal: Proposal) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": proposal.id,
        "kind": proposal.kind,
        "uses": proposal.uses,
        "lines": proposal.lines,
        "lines_saved": proposal.lines_saved,
        "occurrences": [
            {
                "path": display_path(o.prompt.path),
                "line": o.line,
                **_occurrence_json(proposal, o),
            }
            for o in proposal.occurrences
        ],
    }
    if proposal.kind == "near":
        record["ratio"] = round(proposal.ratio, 3)
        record["diffs"] = [diff for _, diff in proposal.diffs]
    else:
        record["fragment"] = f"fragments/{proposal.id}.md"
        record["source"] = fragment_source(proposal)
        record["slots"] = list(proposal.slot_names)
    return record


def _occurrence_json(proposal: Proposal, occurrence: Occurrence) -> dict[str, Any]:
    if proposal.kind == "near":
        return {"text": occurrence.text}
    slots = dict(zip(proposal.slot_names, occurrence.slots, strict=True))
    return {"call": fragment_call(proposal, occurrence), "slots": slots}


def _counts(plan: ExtractPlan) -> str:
    near = sum(1 for p in plan.shown if p.kind == "near")
    exact = sum(1 for p in plan.selected if p.kind == "exact")
    templated = len(plan.selected) - exact
    return (
        f"{len(plan.selected)} fragment(s) proposed ({exact} exact, {templated} templated), "
        f"{near} near-duplicate group(s) to unify by hand"
    )


def _report_summary(plan: ExtractPlan) -> str:
    return (
        f"{_counts(plan)}; source lines {plan.lines_before} -> {plan.lines_after} "
        "once applied (promptbundle extract --apply)"
    )


def _applied_summary(plan: ExtractPlan, result: ApplyResult) -> str:
    if not result.written:
        return f"{_counts(plan)}; nothing to write"
    return (
        f"extracted {len(plan.fragments)} fragment(s), rewrote "
        f"{len(result.written) - len(plan.fragments)} source(s): source lines "
        f"{plan.lines_before} -> {plan.lines_after}; compared {result.compared} outputs, "
        "none changed"
    )


def _refusal(result: ApplyResult) -> str:
    return (
        f"error: extracting would change {len(result.changed)} of {result.compared} outputs; "
        f"nothing was written (take proposals a few at a time with --only)"
    )
