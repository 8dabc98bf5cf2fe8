"""`promptbundle extract` on the command line: the report, --apply, --json and its errors."""

from __future__ import annotations

import json

from click.testing import CliRunner

from promptbundle.cli import main
from promptbundle.review import extract as extract_module

RULES = (
    "## Testing rules\n\nAlways run the full test suite before you report a task as done, and "
    "paste the\nsummary line of the test run into your report.\n\nNever skip a failing test to "
    "make the suite pass; fix the cause or say why not."
)
WORDED = (
    "Keep every change small enough that a reviewer can read it in one sitting, and say why "
    "it is needed."
)
REWORDED = (
    "Keep each change small enough that a reviewer can read it in a single sitting, and say "
    "why it is needed."
)


def agent(name: str, body: str) -> str:
    return f"---\nname: {name}\ndescription: {name} agent\n---\n{body}"


def bundle(make_bundle):
    return make_bundle(
        {
            "agents/a.md": agent("a", f"# A\n\n{RULES}\n\n{WORDED}\n"),
            "agents/b.md": agent("b", f"# B\n\n{RULES}\n\n{REWORDED}\n"),
        }
    )


def run(root, *args):
    return CliRunner().invoke(main, ["extract", "--root", str(root), *args])


def test_the_report_ranks_proposals_and_shows_near_duplicates_with_their_diff(make_bundle):
    root = bundle(make_bundle)
    result = run(root)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        "exact     testing-rules: 2 prompts, 6 lines; saves 4 lines",
        f"  in {root / 'agents/a.md'}:7, {root / 'agents/b.md'}:7",
        "near      near-keep-every-change-small-enough-that: 2 prompts, 1 line, at least 89%"
        " alike; unify the wording by hand",
    ]
    assert f"  -{WORDED}" in lines and f"  +{REWORDED}" in lines
    assert lines[-1] == (
        "1 fragment(s) proposed (1 exact, 0 templated), 1 near-duplicate group(s) to unify by"
        " hand; source lines 28 -> 24 once applied (promptbundle extract --apply)"
    )
    assert not (root / "fragments").exists()


def test_apply_writes_the_fragments_and_says_what_it_compared(make_bundle):
    root = bundle(make_bundle)
    result = run(root, "--apply")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == (
        "extracted 1 fragment(s), rewrote 2 source(s): source lines 28 -> 24; compared 9"
        " outputs, none changed"
    )
    assert (root / "fragments/testing-rules.md").read_text() == RULES + "\n"
    assert WORDED in (root / "agents/a.md").read_text()
    again = run(root)
    assert again.stdout.splitlines()[-1].startswith("0 fragment(s) proposed")


def test_json_lists_every_proposal_with_its_places_and_fragment(make_bundle):
    root = bundle(make_bundle)
    result = run(root, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["command"], data["exit_code"], data["applied"]) == ("extract", 0, False)
    assert (data["lines_before"], data["lines_after"]) == (28, 24)
    assert data["fragments"] == ["fragments/testing-rules.md"]
    exact, near = data["proposals"]
    assert exact["id"] == "testing-rules" and exact["source"] == RULES + "\n"
    assert exact["occurrences"][0] == {
        "path": str(root / "agents/a.md"),
        "line": 7,
        "call": '{{ fragment("testing-rules") }}',
        "slots": {},
    }
    assert (near["kind"], near["ratio"] >= 0.8, len(near["diffs"])) == ("near", True, 1)
    assert [o["text"] for o in near["occurrences"]] == [WORDED, REWORDED]


def test_json_after_apply_says_what_was_compared_and_written(make_bundle):
    root = bundle(make_bundle)
    data = json.loads(run(root, "--apply", "--json").stdout)
    assert (data["exit_code"], data["applied"], data["compared"], data["changed"]) == (
        0,
        True,
        9,
        [],
    )
    assert data["written"] == ["fragments/testing-rules.md", "agents/a.md", "agents/b.md"]


def test_only_min_uses_and_min_lines_reach_the_plan(make_bundle):
    root = bundle(make_bundle)
    assert run(root, "--min-lines", "2").stdout.splitlines()[0].startswith("exact ")
    assert "0 fragment(s)" in run(root, "--min-uses", "3").stdout
    result = run(root, "--only", "testing-rules", "--apply")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (root / "fragments").iterdir()) == ["testing-rules.md"]


def test_an_unknown_proposal_is_a_usage_error(make_bundle):
    root = bundle(make_bundle)
    result = run(root, "--only", "testing-rule")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: --only 'testing-rule': no such proposal (did you mean 'testing-rules'?)\n"
    )


def test_a_refused_apply_names_the_outputs_and_exits_1(make_bundle, monkeypatch):
    root = bundle(make_bundle)
    real = extract_module.fragment_source
    monkeypatch.setattr(extract_module, "fragment_source", lambda p: real(p) + "extra\n")
    result = run(root, "--apply")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: would change README.md",
        "error: would change claude-code/agents/a.md",
        "error: would change claude-code/agents/b.md",
        "error: would change claude-plugin/plugins/demo/agents/a.md",
        "error: would change claude-plugin/plugins/demo/agents/b.md",
        "error: would change opencode/agent/a.md",
        "error: would change opencode/agent/b.md",
        "error: extracting would change 7 of 9 outputs; nothing was written (take proposals a"
        " few at a time with --only)",
    ]
    assert not (root / "fragments").exists()
    assert "{{ fragment" not in (root / "agents/a.md").read_text()


def test_extract_outside_a_bundle_is_an_error(tmp_path):
    result = CliRunner().invoke(main, ["extract", "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
