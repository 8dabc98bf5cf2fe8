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
    assert report.outputs == 8


def test_undefined_variable_is_found_statically_with_its_line(make_bundle):
    root = make_bundle(
        {"agents/a.md": agent("a", "x\n{% if target.name == 'nope' %}{{ ghost }}{% endif %}\n")}
    )
    assert ("agents/a.md:6:1", "PB201", "error") in found(root)


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
    assert "agents/a.md" in diag.message


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
    assert "PB201" not in codes(root)


def test_unknown_filter_is_an_error(make_bundle):
    root = make_bundle({"agents/a.md": agent("a", "{{ 'x' | shout }}\n")})
    assert ("agents/a.md:5:1", "PB202", "error") in found(root)


def test_unknown_test_is_an_error(make_bundle):
    root = make_bundle({"agents/a.md": agent("a", "{% if 'x' is shouting %}x{% endif %}\n")})
    assert ("agents/a.md:5:1", "PB202", "error") in found(root)


def test_include_cycle_is_reported_once(make_bundle):
    root = make_bundle(
        {
            "agents/a.md": agent("a", "{{ fragment('x') }}\n"),
            "fragments/x.md": "{% include 'y.md' %}\n",
            "fragments/y.md": "{{ fragment('x') }}\n",
        }
    )
    report = run_check(root)
    assert [d.code for d in report.diagnostics if d.code == "PB203"] == ["PB203"]
    assert "PB003" not in {d.code for d in report.diagnostics}


def test_missing_fragment_is_reported(make_bundle):
    root = make_bundle({"agents/a.md": agent("a", "{{ fragment('nope') }}\n")})
    assert ("agents/a.md:5:1", "PB210", "error") in found(root)


def test_unused_fragment_is_a_warning(make_bundle):
    root = make_bundle({"agents/a.md": agent("a"), "fragments/old.md": "old\n"})
    assert ("fragments/old.md:1:1", "PB204", "warning") in found(root)
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
    assert str(jumps[0].location.path).startswith("dist/")


def test_unclosed_code_fence_is_an_error(make_bundle):
    root = make_bundle({"agents/a.md": agent("a", "text\n\n```python\nprint(1)\n")})
    assert ("agents/a.md:7:1", "PB208", "error") in found(root)


def test_fence_closed_before_a_jinja_tag_is_closed(make_bundle):
    root = make_bundle({"agents/a.md": agent("a", "{% raw %}\n```\nx\n```{% endraw %}\n")})
    assert "PB208" not in codes(root)


def test_closed_code_fence_is_fine(make_bundle):
    root = make_bundle({"agents/a.md": agent("a", "~~~~\n```\n~~~~\n")})
    assert "PB208" not in codes(root)


def test_agent_listing_an_undefined_target(make_bundle):
    root = make_bundle({"agents/a.md": agent("a", extra="targets: [claude-code, nowhere]\n")})
    assert ("agents/a.md:4:1", "PB205", "error") in found(root)


def test_duplicate_agent_ids(make_bundle):
    root = make_bundle({"agents/a.md": agent("a"), "agents/b.md": agent("a")})
    assert ("agents/b.md:1:1", "PB206", "error") in found(root)


def test_same_paragraph_in_two_agents_suggests_a_fragment(make_bundle):
    root = make_bundle(
        {"agents/a.md": agent("a", PARAGRAPH + "\n"), "agents/b.md": agent("b", PARAGRAPH + "\n")}
    )
    hits = [d for d in run_check(root).diagnostics if d.code == "PB209"]
    assert {str(d.location) for d in hits} == {"agents/a.md:5:1", "agents/b.md:5:1"}
    assert "fragment" in hits[0].message


def test_template_syntax_error(make_bundle):
    root = make_bundle({"agents/a.md": agent("a", "ok\n{% if %}\n")})
    assert ("agents/a.md:6:1", "PB002", "error") in found(root)


def test_one_broken_agent_does_not_hide_the_others(make_bundle):
    root = make_bundle(
        {
            "agents/a.md": agent("a", "{{ 1 / 0 }}\n"),
            "agents/b.md": agent("b", extra="model: gpt-4\n"),
        }
    )
    assert {"PB003", "PB111"} <= codes(root)


def test_config_error_becomes_a_diagnostic(make_bundle):
    root = make_bundle({"promptbundle.toml": 'name = "Bad Name"\n'})
    report = run_check(root)
    assert [d.code for d in report.diagnostics] == ["PB001"]


def test_cli_text_output_and_exit_codes(make_bundle):
    root = make_bundle({"agents/a.md": agent("a"), "fragments/old.md": "old\n"})
    runner = CliRunner()
    result = runner.invoke(main, ["check", "--root", str(root)])
    assert result.exit_code == 0
    assert "fragments/old.md:1:1: warning: fragment is not used by any agent [PB204]" in (
        result.stdout
    )
    assert "1 warning(s)" in result.stderr
    strict = runner.invoke(main, ["check", "--root", str(root), "--strict"])
    assert strict.exit_code == 1


def test_cli_json_output(make_bundle):
    root = make_bundle({"agents/a.md": agent("a", extra="model: gpt-4\n")})
    result = CliRunner().invoke(main, ["check", "--root", str(root), "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["summary"]["errors"] == 3  # claude-code, claude-plugin, opencode
    first = data["diagnostics"][0]
    assert set(first) == {"path", "line", "column", "severity", "code", "message", "output"}
    assert data["command"] == "check" and data["exit_code"] == 1


def test_cli_without_a_bundle_reports_an_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 1
    assert "[PB001]" in result.stdout


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
