"""`promptbundle check`: source lints, the code table and the command line."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from promptbundle.cli import main
from promptbundle.review.check import run_checks as run_check

REPO = Path(__file__).resolve().parents[2]
PARAGRAPH = (
    "Always run the full test suite before you report a task as done, and paste the "
    "summary line of the test run."
)


def agent(name, body="Body\n", extra=""):
    return f"---\nname: {name}\ndescription: {name} agent\n{extra}---\n{body}"


def found(root):
    return {(str(d.location), d.code, d.severity) for d in run_check(root).diagnostics}


def codes(root):
    return {d.code for d in run_check(root).diagnostics}


def test_clean_bundle_has_no_diagnostics(make_bundle):
    root = make_bundle(
        {
            "agents/a.md": agent("a", "# A\n\n{{ fragment('rules', level=2) }}"),
            "fragments/rules.md": "# Rules\n\nBe brief.\n",
        }
    )
    report = run_check(root)
    assert report.diagnostics == []
    assert report.exit_code(strict=True) == 0
    # claude-code, opencode, and claude-plugin's agent, plugin.json and marketplace.json,
    # plus the catalog: agent-skill and skill-table carry skills, and the bundle has none.
    assert report.outputs == 6


def test_undefined_variable_is_found_statically_with_its_line(make_bundle):
    root = make_bundle(
        {"agents/a.md": agent("a", "x\n{% if target.name == 'nope' %}{{ ghost }}{% endif %}\n")}
    )
    assert found(root) == {("agents/a.md:6:1", "PB201", "error")}


def test_undefined_variable_in_a_fragment_names_the_agents(make_bundle):
    root = make_bundle(
        {
            "agents/a.md": agent("a", "{{ fragment('f') }}\n"),
            "fragments/f.md": "line\n{{ who }}\n",
        }
    )
    report = run_check(root)
    [diag] = [d for d in report.diagnostics if d.code == "PB201"]
    assert str(diag.location) == "fragments/f.md:2:1"
    assert diag.message == (
        "undefined variable 'who' (included by agents/a.md); define it in the agent's or the"
        " bundle's vars, or pass it to fragment()"
    )


def test_variables_from_vars_kwargs_and_guards_are_defined(make_bundle):
    root = make_bundle(
        {
            "agents/a.md": agent(
                "a",
                "{{ stack }} {{ fragment('f', who='me') }}\n"
                "{% if extra is defined %}{{ extra }}{% endif %}{{ title | default('T') }}\n",
                extra="vars: {stack: flask}\n",
            ),
            "fragments/f.md": (
                "{{ who }} {% set n = 1 %}{{ n }}{% for i in [1] %}{{ i }}{% endfor %}\n"
            ),
        }
    )
    assert codes(root) == set()


def test_unknown_filter_is_an_error(make_bundle):
    root = make_bundle({"agents/a.md": agent("a", "{{ 'x' | shout }}\n")})
    [diag] = run_check(root).diagnostics
    assert (str(diag.location), diag.code, diag.severity) == ("agents/a.md:5:1", "PB202", "error")
    assert diag.message == "unknown filter 'shout'"


def test_unknown_test_is_an_error(make_bundle):
    root = make_bundle({"agents/a.md": agent("a", "{% if 'x' is shouting %}x{% endif %}\n")})
    [diag] = run_check(root).diagnostics
    assert (str(diag.location), diag.code, diag.severity) == ("agents/a.md:5:1", "PB202", "error")
    assert diag.message == "unknown test 'shouting'"


def test_include_cycle_is_reported_once(make_bundle):
    root = make_bundle(
        {
            "agents/a.md": agent("a", "{{ fragment('x') }}\n"),
            "fragments/x.md": "{% include 'y.md' %}\n",
            "fragments/y.md": "{{ fragment('x') }}\n",
        }
    )
    report = run_check(root)
    assert [(str(d.location), d.code, d.message) for d in report.diagnostics] == [
        (
            "fragments/y.md:1:1",
            "PB203",
            "include cycle: fragments/x.md -> fragments/y.md -> fragments/x.md",
        )
    ]


def test_missing_fragment_is_reported(make_bundle):
    root = make_bundle({"agents/a.md": agent("a", "{{ fragment('nope') }}\n")})
    [diag] = run_check(root).diagnostics
    assert (str(diag.location), diag.code, diag.severity) == ("agents/a.md:5:1", "PB210", "error")
    assert diag.message == "template 'nope' not found (looked in fragments/ and the root)"


def test_unused_fragment_is_a_warning(make_bundle):
    root = make_bundle({"agents/a.md": agent("a"), "fragments/old.md": "old\n"})
    assert found(root) == {("fragments/old.md:1:1", "PB204", "warning")}
    assert run_check(root).exit_code() == 0
    assert run_check(root).exit_code(strict=True) == 1


def test_heading_jump_after_composition_points_at_the_output(make_bundle):
    root = make_bundle(
        {
            "agents/a.md": agent("a", "# A\n\n{{ fragment('f', level=3) }}"),
            "fragments/f.md": "# Rules\n\ntext\n",
        }
    )
    jumps = [d for d in run_check(root).diagnostics if d.code == "PB207"]
    assert len(jumps) == 1  # once per agent, not once per target
    assert str(jumps[0].location) == "dist/claude-code/agents/a.md:7:1"
    assert jumps[0].message == (
        "heading level jumps from 1 to 3 after composition;"
        " use fragment(..., level=N) to place included headings"
    )


def test_unclosed_code_fence_is_an_error(make_bundle):
    root = make_bundle({"agents/a.md": agent("a", "text\n\n```python\nprint(1)\n")})
    assert found(root) == {("agents/a.md:7:1", "PB208", "error")}


def test_fence_closed_before_a_jinja_tag_is_closed(make_bundle):
    root = make_bundle({"agents/a.md": agent("a", "{% raw %}\n```\nx\n```{% endraw %}\n")})
    assert codes(root) == set()


def test_closed_code_fence_is_fine(make_bundle):
    root = make_bundle({"agents/a.md": agent("a", "~~~~\n```\n~~~~\n")})
    assert codes(root) == set()


def test_agent_listing_an_undefined_target(make_bundle):
    root = make_bundle({"agents/a.md": agent("a", extra="targets: [claude-code, nowhere]\n")})
    [diag] = run_check(root).diagnostics
    assert (str(diag.location), diag.code, diag.severity) == ("agents/a.md:4:1", "PB205", "error")
    assert diag.message == (
        "target 'nowhere' is not a target of this bundle"
        " (agent-skill, claude-code, claude-plugin, opencode, skill-table)"
    )


def test_an_agent_id_is_its_path_so_a_name_naming_another_file_is_an_error(make_bundle):
    root = make_bundle({"agents/a.md": agent("a"), "agents/b.md": agent("a")})
    assert [(str(d.location), d.code, d.message) for d in run_check(root).diagnostics] == [
        ("agents/b.md:2:1", "PB001", "'name' 'a' does not match the file name 'b.md'"),
    ]


def test_same_paragraph_in_two_agents_suggests_a_fragment(make_bundle):
    root = make_bundle(
        {"agents/a.md": agent("a", PARAGRAPH + "\n"), "agents/b.md": agent("b", PARAGRAPH + "\n")}
    )
    hits = [d for d in run_check(root).diagnostics if d.code == "PB209"]
    assert [(str(d.location), d.severity, d.message) for d in hits] == [
        (
            "agents/a.md:5:1",
            "warning",
            "paragraph 'Always run the full test suite before yo'... is also in agents/b.md;"
            " move it into a fragment: promptbundle extract --apply --only"
            " always-run-the-full-test-suite",
        ),
        (
            "agents/b.md:5:1",
            "warning",
            "paragraph 'Always run the full test suite before yo'... is also in agents/a.md;"
            " move it into a fragment: promptbundle extract --apply --only"
            " always-run-the-full-test-suite",
        ),
    ]


def test_template_syntax_error(make_bundle):
    root = make_bundle({"agents/a.md": agent("a", "ok\n{% if %}\n")})
    [diag] = run_check(root).diagnostics
    assert (str(diag.location), diag.code, diag.severity) == ("agents/a.md:6:1", "PB002", "error")
    assert diag.message == (
        "template syntax error: Expected an expression, got 'end of statement block'"
    )


def test_one_broken_agent_does_not_hide_the_others(make_bundle):
    root = make_bundle(
        {
            "agents/a.md": agent("a", "{{ 1 / 0 }}\n"),
            "agents/b.md": agent("b", extra="model: gpt-4\n"),
        }
    )
    # b's three outputs fail on the one line of b's source that sets the model.
    assert found(root) == {
        ("agents/a.md:5:1", "PB003", "error"),
        ("agents/b.md:4:1", "PB111", "error"),
    }
    outputs = sorted(d.output for d in run_check(root).diagnostics if d.code == "PB111")
    assert outputs == [
        "claude-code/agents/b.md",
        "claude-plugin/plugins/demo/agents/b.md",
        "opencode/agent/b.md",
    ]


def test_config_error_becomes_a_diagnostic(make_bundle):
    root = make_bundle({"promptbundle.toml": 'name = "Bad Name"\n'})
    report = run_check(root)
    assert [(d.code, d.severity, d.message) for d in report.diagnostics] == [
        (
            "PB001",
            "error",
            "'name' must be an id like 'my-bundle' (lowercase, digits, hyphens), got 'Bad Name'",
        )
    ]


def test_cli_text_output_and_exit_codes(make_bundle):
    root = make_bundle({"agents/a.md": agent("a"), "fragments/old.md": "old\n"})
    runner = CliRunner()
    result = runner.invoke(main, ["check", "--root", str(root)])
    assert result.exit_code == 0
    assert result.stdout == (
        "fragments/old.md:1:1: warning: fragment is not used by any agent [PB204]\n"
    )
    assert result.stderr == "checked 6 outputs: 0 error(s), 1 warning(s), 0 dropped field(s)\n"
    strict = runner.invoke(main, ["check", "--root", str(root), "--strict"])
    assert strict.exit_code == 1
    assert (strict.stdout, strict.stderr) == (result.stdout, result.stderr)


def test_cli_json_output(make_bundle):
    # agent-skill and skill-table take the agent only because their targets convert it.
    root = make_bundle(
        {
            "agents/a.md": agent("a", extra="model: gpt-4\n"),
            "targets/agent-skill.toml": 'convert = ["agent"]\n',
            "targets/skill-table.toml": 'convert = ["agent"]\n',
        }
    )
    result = CliRunner().invoke(main, ["check", "--root", str(root), "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["summary"] == {"outputs": 8, "errors": 3, "warnings": 0, "suppressed": 0}
    assert data["message"] == "checked 8 outputs: 3 error(s), 0 warning(s), 2 dropped field(s)"
    first = data["diagnostics"][0]
    assert first == {
        "path": "agents/a.md",
        "line": 4,
        "column": 1,
        "severity": "error",
        "code": "PB111",
        "message": "'model' is not a model Claude Code resolves"
        " (opus, sonnet, haiku, inherit or a claude-* id) (in dist/claude-code/agents/a.md)",
        "output": "claude-code/agents/a.md",
    }
    # claude-code, claude-plugin, opencode: all at the source line that sets the model
    assert [(d["path"], d["line"], d["output"]) for d in data["diagnostics"]] == [
        ("agents/a.md", 4, "claude-code/agents/a.md"),
        ("agents/a.md", 4, "claude-plugin/plugins/demo/agents/a.md"),
        ("agents/a.md", 4, "opencode/agent/a.md"),
    ]
    assert data["lossy"] == [
        {
            "agent": "a",
            "target": "agent-skill",
            "field": "model",
            "reason": "agent-skill has no such field",
        },
        {
            "agent": "a",
            "target": "skill-table",
            "field": "model",
            "reason": "skill-table has no such field",
        },
    ]
    assert data["command"] == "check" and data["exit_code"] == 1


def test_cli_without_a_bundle_reports_an_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 1
    assert result.stdout == (
        f"(bundle):1:1: error: no bundle found in {tmp_path.resolve()} or its parents"
        " (looked for promptbundle.toml or [tool.promptbundle] in pyproject.toml);"
        " use --root [PB001]\n"
    )
    assert result.stderr == "checked 0 outputs: 1 error(s), 0 warning(s), 0 dropped field(s)\n"


def _codes_in_source():
    text = ""
    for path in sorted((REPO / "src" / "promptbundle").rglob("*")):
        if path.suffix in (".py", ".json"):
            text += path.read_text(encoding="utf-8")
    return set(re.findall(r"\bPB\d{3}\b", text))


def test_every_code_is_documented_and_every_documented_code_exists():
    table = (REPO / "docs" / "checks.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| (PB\d{3}) \|", table, flags=re.MULTILINE))
    assert documented == _codes_in_source()


def test_a_readme_that_looks_like_an_agent_is_reported_not_silently_skipped(make_bundle):
    root = make_bundle(
        {
            "agents/one.md": "---\nname: one\ndescription: One\n---\nBody\n",
            "agents/README.md": "---\nname: readme\ndescription: Looks like one\n---\nDocs.\n",
            "commands/README.md": "# Commands\n\nPlain documentation.\n",
        }
    )
    found = [(str(d.location), d.code, d.severity) for d in run_check(root).diagnostics]
    assert found == [("agents/README.md:1:1", "PB211", "warning")]
