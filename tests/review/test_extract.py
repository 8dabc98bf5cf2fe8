"""The repeat finder and `extract`'s rewrite: exact runs, templated paragraphs, near-duplicates,
imported (raw-escaped) bodies, name clashes, and the build that must not change."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from promptbundle.build.pipeline import build_outputs, load
from promptbundle.cli import main
from promptbundle.core.errors import BuildFailedError, BundleError, PromptBundleError, UsageError
from promptbundle.render.lint import duplicate_paragraphs
from promptbundle.render.repeats import find_repeats, literal_pieces
from promptbundle.render.similar import similar_groups
from promptbundle.review import extract as extract_module
from promptbundle.review.check import run_checks
from promptbundle.review.extract import apply_plan, plan_extract

RULES = (
    "## Testing rules\n"
    "\n"
    "Always run the full test suite before you report a task as done, and paste the\n"
    "summary line of the test run into your report.\n"
    "\n"
    "Never skip a failing test to make the suite pass; fix the cause or say why not."
)
OTHER = "Keep every change small enough that a reviewer can read it in one sitting, please."


def agent(name: str, body: str) -> str:
    return f"---\nname: {name}\ndescription: {name} agent\n---\n{body}"


def outputs(root: Path) -> dict[str, bytes]:
    return {o.path: o.content for o in build_outputs(load(root)).outputs}


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def without_catalog(built: dict[str, bytes]) -> dict[str, bytes]:
    return {path: content for path, content in built.items() if path != "README.md"}


def applied(root: Path, **options: object) -> dict[str, bytes]:
    """Apply the plan and check every output is the same; the outputs after."""
    before = outputs(root)
    result = apply_plan(plan_extract(root, **options))  # type: ignore[arg-type]
    assert result.changed == ()
    after = outputs(root)
    assert without_catalog(after) == without_catalog(before)
    return after


# Reading bodies ---------------------------------------------------------------------------


def test_literal_pieces_are_raw_blocks_and_template_text_without_jinja():
    body = (
        'Intro {{ x }} tail\n{% raw %}A {{ b }}\n\nC{% endraw %}{{ "\\r" }}{% if y %}z{% endif %}'
    )
    pieces = [(body[p.start : p.end], p.raw) for p in literal_pieces(body)]
    assert pieces == [
        ("Intro ", False),
        (" tail\n", False),
        ("A {{ b }}\n\nC", True),
        ("z", False),
    ]


def test_comments_and_unclosed_tags_are_not_literal_text():
    body = "a {# note #} b {{ open"
    assert [body[p.start : p.end] for p in literal_pieces(body)] == ["a ", " b "]


def test_a_paragraph_that_starts_or_ends_mid_line_is_not_proposed(make_bundle):
    def body(before: str, after: str) -> str:
        return f"{before}{{% raw %}}{OTHER}\n\n{OTHER}{{% endraw %}}{after}\n"

    root = make_bundle(
        {
            "agents/a.md": agent("a", body("{{ 'x' }}", "{{ 'y' }}")),
            "agents/b.md": agent("b", body("{{ 'x' }}", "{{ 'y' }}")),
        }
    )
    assert find_repeats(load(root).prompts) == []


def test_a_raw_block_with_whitespace_control_is_not_literal_text():
    body = "{%- raw %}Kept out{% endraw %}\n"
    assert [(body[p.start : p.end], p.raw) for p in literal_pieces(body)] == [("\n", False)]


# Exact repeats ----------------------------------------------------------------------------


def test_an_exact_run_of_paragraphs_becomes_one_fragment(make_bundle):
    root = make_bundle(
        {
            "agents/a.md": agent("a", f"# A\n\n{RULES}\n\nA's own line.\n"),
            "agents/b.md": agent("b", f"# B\n\nB first.\n\n{RULES}\n"),
        }
    )
    plan = plan_extract(root)
    assert [(p.id, p.kind, p.uses, p.lines) for p in plan.selected] == [
        ("testing-rules", "exact", 2, 6)
    ]
    assert [(o.prompt.rel, o.line) for o in plan.selected[0].occurrences] == [
        ("agents/a.md", 7),
        ("agents/b.md", 9),
    ]
    applied(root)
    assert (root / "fragments/testing-rules.md").read_text() == RULES + "\n"
    assert (root / "agents/a.md").read_text() == agent(
        "a", '# A\n\n{{ fragment("testing-rules") }}\n\nA\'s own line.\n'
    )
    assert (root / "agents/b.md").read_text() == agent(
        "b", '# B\n\nB first.\n\n{{ fragment("testing-rules") }}\n'
    )
    assert (plan.lines_before, plan.lines_after) == (28, 24)


def test_paragraphs_under_80_characters_or_in_one_prompt_are_not_proposed(make_bundle):
    short = "Be brief and kind."
    root = make_bundle(
        {
            "agents/a.md": agent("a", f"{short}\n\n{OTHER}\n\nx\n\n{OTHER}\n"),
            "agents/b.md": agent("b", f"{short}\n"),
        }
    )
    assert find_repeats(load(root).prompts) == []


# Templated paragraphs ---------------------------------------------------------------------


def protocol(role: str, topic: str) -> str:
    return (
        f"## Communication\n\nAsk the context manager for the project context first: you are "
        f"the {role} agent, so request what it knows about {topic} before you start, and "
        "report back when you are done."
    )


ROLES = [("api", "endpoints"), ("css", "stylesheets"), ("db", "the schema")]


def test_a_section_with_one_skeleton_and_varying_slots_becomes_a_fragment_with_variables(
    make_bundle,
):
    root = make_bundle(
        {f"agents/{r}.md": agent(r, f"# {r}\n\n{protocol(r, t)}\n") for r, t in ROLES}
    )
    (proposal,) = plan_extract(root).selected
    assert (proposal.id, proposal.kind, proposal.slot_names) == (
        "communication",
        "templated",
        ("the", "about"),
    )
    assert [o.slots for o in proposal.occurrences] == [
        ("api", "endpoints"),
        ("css", "stylesheets"),
        ("db", "the schema"),
    ]
    applied(root)
    fragment = (root / "fragments/communication.md").read_text()
    assert fragment.startswith("## Communication\n\nAsk the context manager")
    assert "you are the {{ the }} agent" in fragment
    assert "about {{ about }} before" in fragment
    assert (root / "agents/db.md").read_text() == agent(
        "db", '# db\n\n{{ fragment("communication", the="db", about="the schema") }}\n'
    )


def section(role: str, topic: str, gap: str = "\n\n") -> str:
    owner = f"You own the {role} code and its tests; nobody else changes them."
    return f"{protocol(role, topic)}{gap}{RULES}\n\n{owner}\n"


def test_fixed_and_templated_paragraphs_that_always_stand_together_are_one_section(
    make_bundle,
):
    root = make_bundle({f"agents/{r}.md": agent(r, section(r, t)) for r, t in ROLES})
    (proposal,) = plan_extract(root).selected
    assert (proposal.id, proposal.slot_names, proposal.lines) == (
        "communication",
        ("the", "about", "the_2"),
        12,
    )
    assert proposal.occurrences[0].slots == ("api", "endpoints", "api")
    applied(root)
    assert [d.line() for d in run_checks(root).diagnostics] == []
    assert (root / "agents/css.md").read_text() == agent(
        "css", '{{ fragment("communication", the="css", about="stylesheets", the_2="css") }}\n'
    )


def test_neighbours_with_different_gaps_stay_apart(make_bundle):
    gaps = ["\n\n", "\n\n", "\n\n\n"]
    root = make_bundle(
        {
            f"agents/{r}.md": agent(r, section(r, t, g))
            for (r, t), g in zip(ROLES, gaps, strict=True)
        }
    )
    kinds = sorted((p.kind, p.lines) for p in plan_extract(root).selected)
    assert kinds == [("templated", 3), ("templated", 8)]
    applied(root)


def test_slot_values_with_quotes_and_backslashes_render_back_exactly(make_bundle):
    roles = [('"api"', "C:\\api"), ("css", "it's"), ("db", 'a\\b "c"')]
    root = make_bundle(
        {f"agents/a{i}.md": agent(f"a{i}", protocol(r, t) + "\n") for i, (r, t) in enumerate(roles)}
    )
    assert [p.kind for p in plan_extract(root).selected] == ["templated"]
    applied(root)


def test_two_wordings_shared_by_many_prompts_are_near_duplicates_not_slots(make_bundle):
    root = make_bundle(
        {
            "agents/a.md": agent("a", protocol("api", "endpoints") + "\n"),
            "agents/b.md": agent("b", protocol("api", "endpoints") + "\n"),
            "agents/c.md": agent("c", protocol("css", "stylesheets") + "\n"),
        }
    )
    kinds = sorted((p.kind, p.uses) for p in find_repeats(load(root).prompts))
    assert kinds == [("exact", 2), ("near", 3)]


# Near-duplicates --------------------------------------------------------------------------

WORDED = (
    "Always run the full test suite before you report a task as done, and paste the summary "
    "line of the test run."
)
REWORDED = (
    "Always run the whole test suite before you report a task as finished, and paste the "
    "summary line of the test run."
)


def test_a_near_duplicate_is_reported_with_its_diff_and_never_applied(make_bundle):
    root = make_bundle(
        {"agents/a.md": agent("a", WORDED + "\n"), "agents/b.md": agent("b", REWORDED + "\n")}
    )
    plan = plan_extract(root)
    (near,) = plan.shown
    assert (near.id, near.kind, near.uses, plan.selected, plan.files) == (
        "near-always-run-the-full-test-suite",
        "near",
        2,
        (),
        {},
    )
    assert near.ratio >= 0.8
    ((_, diff),) = near.diffs
    assert diff.splitlines()[:2] == ["--- agents/a.md:5", "+++ agents/b.md:5"]
    assert f"-{WORDED}" in diff and f"+{REWORDED}" in diff
    before = tree(root)
    assert apply_plan(plan).written == ()
    assert tree(root) == before


# Imported bodies --------------------------------------------------------------------------

NATIVE = (
    "---\nname: {name}\ndescription: {name} agent\n---\n# {name}\n\n"
    "Use `{{{{ vars }}}}` and `{{% if %}}` literally; they are not templates here.\n"
    "Every reply ends with a summary of what changed and what is left.\n\nOwn {name}.\n"
)


def imported(tmp_path: Path, names: list[str]) -> Path:
    root = tmp_path / "bundle"
    runner = CliRunner()
    assert runner.invoke(main, ["init", str(root)]).exit_code == 0
    native = tmp_path / "native"
    native.mkdir()
    for name in names:
        (native / f"{name}.md").write_text(NATIVE.format(name=name))
    result = runner.invoke(main, ["import", "--root", str(root), str(native)])
    assert result.exit_code == 0, result.output
    return root


def test_raw_escaped_imported_bodies_are_read_through_their_raw_blocks(tmp_path):
    root = imported(tmp_path, ["alpha", "beta"])
    assert "{% raw %}" in (root / "agents/alpha.md").read_text()
    plan = plan_extract(root)
    (proposal,) = plan.selected
    assert proposal.id == "use-vars-and-if-literally-they"
    applied(root)
    fragment = (root / f"fragments/{proposal.id}.md").read_text()
    assert fragment.startswith("{% raw %}Use `{{ vars }}`")
    body = (root / "agents/alpha.md").read_text().split("---\n")[-1]
    assert body == (
        "{% raw %}# alpha\n\n{% endraw %}"
        '{{ fragment("use-vars-and-if-literally-they") }}'
        "{% raw %}\n\nOwn alpha.{% endraw %}\n"
    )


def test_pb209_sees_through_raw_blocks_and_agrees_with_extract(tmp_path):
    root = imported(tmp_path, ["alpha", "beta", "gamma"])
    bundle = load(root)
    warnings = duplicate_paragraphs(bundle.prompts, bundle.fragments)
    (proposal,) = plan_extract(root).selected
    assert sorted((str(w.location.path), w.location.line) for w in warnings) == [
        (str(o.prompt.path), o.line) for o in proposal.occurrences
    ]
    assert all(f"--only {proposal.id}" in w.message for w in warnings)
    checked = [d for d in run_checks(root).diagnostics if d.code == "PB209"]
    assert len(checked) == 3
    apply_plan(plan_extract(root))
    assert [d for d in run_checks(root).diagnostics if d.code == "PB209"] == []


def test_a_templated_pb209_names_the_other_prompts(make_bundle):
    root = make_bundle(
        {f"agents/{r}.md": agent(r, f"# {r}\n\n{protocol(r, t)}\n") for r, t in ROLES}
    )
    hits = [d for d in run_checks(root).diagnostics if d.code == "PB209"]
    assert (str(hits[0].location), hits[0].message) == (
        "agents/api.md:7:1",
        "paragraph '## Communication Ask the context manager'... repeats, with other slot "
        "values, in agents/css.md, agents/db.md; move it into a fragment: promptbundle "
        "extract --apply --only communication",
    )
    assert len(hits) == 3


# What must not move -----------------------------------------------------------------------


def test_half_a_code_block_and_text_inside_a_fence_stay_in_the_prompt(make_bundle):
    code = "```sh\nmake test\n\nmake lint and then read every line the linter prints out\n```"
    inner = "make lint and then read every line the linter prints out, then fix them all"
    opened = "```sh\nmake test and read every line of its output before you go on, always"
    root = make_bundle(
        {
            "agents/a.md": agent("a", f"```text\n{inner}\n```\n\n{opened}\n\nx\n```\n"),
            "agents/b.md": agent("b", f"```text\nz\n\n{inner}\n```\n\n{opened}\n\nx\n```\n"),
            "agents/c.md": agent("c", code + "\n"),
        }
    )
    assert find_repeats(load(root).prompts) == []


def test_a_run_never_spans_text_left_out_between_its_paragraphs(make_bundle):
    label = "**Good example:** the code below is what we want to see in every service of ours."

    def body(code: str) -> str:
        return f"{label}\n\n```java\n{code}\n\n{code}\n```\n\n{OTHER}\n"

    root = make_bundle(
        {"agents/a.md": agent("a", body("int a;")), "agents/b.md": agent("b", body("int b;"))}
    )
    plan = plan_extract(root)
    assert sorted((p.id, [o.text for o in p.occurrences]) for p in plan.selected) == [
        ("good-example-the-code-below-is", [label, label]),
        ("keep-every-change-small-enough-that", [OTHER, OTHER]),
    ]
    applied(root)


def test_template_text_next_to_a_trimming_tag_is_left_alone(make_bundle):
    text = f"  {OTHER}"
    root = make_bundle(
        {
            "agents/a.md": agent("a", f"{{% if true -%}}\n{text}\n{{% endif %}}\n"),
            "agents/b.md": agent("b", f"{{% if true -%}}\n{text}\n{{% endif %}}\n"),
        }
    )
    assert find_repeats(load(root).prompts) == []


# Names ------------------------------------------------------------------------------------


def test_a_name_an_existing_fragment_has_gets_a_suffix(make_bundle):
    root = make_bundle(
        {
            "agents/a.md": agent("a", f"{RULES}\n\n{{{{ fragment('testing-rules') }}}}\n"),
            "agents/b.md": agent("b", f"{RULES}\n"),
            "fragments/testing-rules.md": "Mine.\n",
        }
    )
    (proposal,) = plan_extract(root).selected
    assert proposal.id == "testing-rules-2"
    applied(root)
    assert (root / "fragments/testing-rules.md").read_text() == "Mine.\n"
    assert (root / "fragments/testing-rules-2.md").read_text() == RULES + "\n"


def test_a_fragment_file_that_appears_before_writing_is_an_error(make_bundle):
    root = make_bundle(
        {"agents/a.md": agent("a", RULES + "\n"), "agents/b.md": agent("b", RULES + "\n")}
    )
    plan = plan_extract(root)
    (root / "fragments").mkdir()
    (root / "fragments/testing-rules.md").write_text("Someone else's.\n")
    before = tree(root)
    with pytest.raises(BundleError) as caught:
        apply_plan(plan)
    assert caught.value.lines() == [
        f"{root / 'fragments/testing-rules.md'}:1:1: error: fragment fragments/testing-rules.md"
        " already exists; nothing was written [PB300]"
    ]
    assert tree(root) == before


# Selection --------------------------------------------------------------------------------


def selection_bundle(make_bundle):
    return make_bundle(
        {
            "agents/a.md": agent("a", f"{RULES}\n\n{OTHER}\n"),
            "agents/b.md": agent("b", f"{RULES}\n\n{OTHER}\n"),
            "agents/c.md": agent("c", f"{OTHER}\n"),
        }
    )


def test_min_uses_keeps_text_repeated_in_that_many_prompts(make_bundle):
    root = selection_bundle(make_bundle)
    ids = [p.id for p in plan_extract(root).selected]
    assert ids == ["testing-rules", "keep-every-change-small-enough-that"]
    assert [p.id for p in plan_extract(root, min_uses=3).selected] == [ids[1]]


def test_min_lines_keeps_text_of_that_many_lines(make_bundle):
    root = selection_bundle(make_bundle)
    assert [p.id for p in plan_extract(root, min_lines=2).selected] == ["testing-rules"]


def test_only_takes_the_named_proposals(make_bundle):
    root = selection_bundle(make_bundle)
    plan = plan_extract(root, only=["keep-every-change-small-enough-that"])
    assert [p.id for p in plan.selected] == ["keep-every-change-small-enough-that"]
    applied(root, only=["keep-every-change-small-enough-that"])
    assert sorted(p.name for p in (root / "fragments").iterdir()) == [
        "keep-every-change-small-enough-that.md"
    ]
    assert RULES in (root / "agents/a.md").read_text()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"only": ["testing-rule"]},
            "--only 'testing-rule': no such proposal (did you mean 'testing-rules'?)",
        ),
        ({"only": ["zzz"]}, "--only 'zzz': no such proposal (see the report)"),
        ({"min_uses": 1}, "--min-uses must be at least 2, got 1"),
        ({"min_lines": 0}, "--min-lines must be at least 1, got 0"),
    ],
)
def test_bad_selections_are_usage_errors(make_bundle, options, message):
    root = selection_bundle(make_bundle)
    with pytest.raises(UsageError) as caught:
        plan_extract(root, **options)
    assert caught.value.message == message


# Applying ---------------------------------------------------------------------------------


def test_apply_refuses_and_writes_nothing_when_an_output_would_change(make_bundle, monkeypatch):
    root = selection_bundle(make_bundle)
    plan = plan_extract(root)
    wrong = {rel: text.replace("Never skip", "Do not skip") for rel, text in plan.files.items()}
    plan = extract_module.ExtractPlan(plan.root, plan.shown, plan.selected, wrong)
    before = tree(root)
    result = apply_plan(plan)
    assert result.written == ()
    assert result.changed == (
        "README.md",
        "claude-code/agents/a.md",
        "claude-code/agents/b.md",
        "claude-plugin/plugins/demo/agents/a.md",
        "claude-plugin/plugins/demo/agents/b.md",
        "opencode/agent/a.md",
        "opencode/agent/b.md",
    )
    assert tree(root) == before


def test_apply_refuses_a_bundle_that_does_not_render(make_bundle):
    root = make_bundle(
        {
            "agents/a.md": agent("a", f"{RULES}\n\n{{{{ fragment('missing') }}}}\n"),
            "agents/b.md": agent("b", f"{RULES}\n"),
        }
    )
    before = tree(root)
    with pytest.raises(PromptBundleError) as caught:
        apply_plan(plan_extract(root))
    assert caught.value.lines() == [
        f"{root / 'agents/a.md'}:12:1: error: template 'missing' not found"
        " (looked in fragments/ and the root) [PB210]"
    ]
    assert tree(root) == before


def test_apply_refuses_a_bundle_whose_outputs_are_invalid(make_bundle):
    skill = f"---\nname: x\ndescription: {'d' * 1025}\n---\n{RULES}\n"
    root = make_bundle({"skills/x/SKILL.md": skill, "agents/b.md": agent("b", f"{RULES}\n")})
    before = tree(root)
    with pytest.raises(BuildFailedError) as caught:
        apply_plan(plan_extract(root))
    lines = caught.value.lines()
    assert lines[-1] == "error: the bundle does not build; extract writes nothing until it does"
    assert lines[0].endswith("[PB107]")
    assert tree(root) == before


def test_a_rewrite_that_does_not_build_is_an_error_and_writes_nothing(make_bundle, monkeypatch):
    root = selection_bundle(make_bundle)
    monkeypatch.setattr(extract_module, "fragment_call", lambda proposal, occurrence: "{{ nope(")
    before = tree(root)
    with pytest.raises(BundleError) as caught:
        apply_plan(plan_extract(root))
    assert caught.value.lines()[0] == (
        "error: the rewritten sources would not build (agents/a.md:7:1: template syntax error:"
        " unexpected 'end of template'); nothing was written [PB300]"
    )
    assert tree(root) == before


def test_a_failed_write_leaves_every_file_as_it_was(make_bundle, monkeypatch):
    root = selection_bundle(make_bundle)
    plan = plan_extract(root)
    made = []
    real = extract_module.tempfile.mkstemp

    def mkstemp(**kwargs):
        if made:
            raise OSError(28, "No space left on device", "agents/a.md")
        made.append(real(**kwargs))
        return made[-1]

    monkeypatch.setattr(extract_module.tempfile, "mkstemp", mkstemp)
    before = tree(root)
    with pytest.raises(BundleError) as caught:
        apply_plan(plan)
    assert caught.value.lines() == [
        "error: cannot write agents/a.md: No space left on device; nothing was written [PB300]"
    ]
    assert tree(root) == before


def test_nothing_selected_builds_and_writes_nothing(make_bundle):
    root = make_bundle({"agents/a.md": agent("a", "Only me.\n")})
    assert apply_plan(plan_extract(root)) == extract_module.ApplyResult(0, (), ())


def test_similar_groups_join_texts_80_percent_alike_and_nothing_else():
    texts = [WORDED, REWORDED, OTHER, RULES]
    groups = similar_groups(sorted(texts))
    assert groups.groups() == [sorted([WORDED, REWORDED])]
