from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from promptbundle import __version__
from promptbundle.cli import main
from tests.support import BundleFactory

AGENT = "---\nname: one\ndescription: One\nmodel: opus\n---\nHello {{ agent.name }}.\n"
# agent-skill and skill-table carry skills: they take agents (and drop their `model`) only
# when their targets convert them.
CONVERTING = {
    "targets/agent-skill.toml": 'convert = ["agent"]\n',
    "targets/skill-table.toml": 'convert = ["agent"]\n',
}
LOSSY = (
    "lossy: agent-skill drops 'model' (agent-skill has no such field): one\n"
    "lossy: skill-table drops 'model' (skill-table has no such field): one\n"
)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_version_prints_the_package_version() -> None:
    code, out, _ = run("--version")
    assert code == 0 and out.strip() == f"promptbundle, version {__version__}"


def test_build_writes_dist_and_summarises(make_bundle: BundleFactory) -> None:
    root = make_bundle({"agents/one.md": AGENT})
    code, out, err = run("build", "--root", str(root))
    assert code == 0, err
    assert out == "built 6 outputs for 1 prompt into dist/: 6 written, 0 unchanged, 0 removed\n"
    assert err == ""
    assert (root / "dist/claude-code/agents/one.md").read_text().endswith("Hello one.\n")


def test_build_of_converted_agents_reports_what_the_formats_drop(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle({"agents/one.md": AGENT, **CONVERTING})
    code, out, err = run("build", "--root", str(root))
    assert code == 0, err
    assert out == (
        "built 8 outputs for 1 prompt into dist/: 8 written, 0 unchanged, 0 removed;"
        " 2 field(s) dropped by formats (see 'lossy:' lines)\n"
    )
    assert err == LOSSY
    assert (root / "dist/agent-skill/one/SKILL.md").read_text().endswith("Hello one.\n")


def test_build_check_exits_one_when_dist_is_stale(make_bundle: BundleFactory) -> None:
    root = make_bundle({"agents/one.md": AGENT})
    code, out, err = run("build", "--root", str(root), "--check")
    assert code == 1
    assert out == "dist/ is out of date: 0 stale, 7 missing, 0 orphan (run promptbundle build)\n"
    assert err == (
        "missing: README.md\n"
        "missing: claude-code/agents/one.md\n"
        "missing: claude-plugin/.claude-plugin/marketplace.json\n"
        "missing: claude-plugin/plugins/demo/.claude-plugin/plugin.json\n"
        "missing: claude-plugin/plugins/demo/agents/one.md\n"
        "missing: manifest.json\n"
        "missing: opencode/agent/one.md\n"
    )
    run("build", "--root", str(root))
    code, out, err = run("build", "--root", str(root), "--check")
    assert code == 0
    assert out == "dist/ is up to date (6 outputs)\n"
    assert err == ""


def test_user_error_prints_location_and_exits_one_without_traceback(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle({"agents/one.md": "---\nname: one\ndescription: x\n---\n{{ nope }}\n"})
    code, out, err = run("build", "--root", str(root))
    assert code == 1
    assert err == f"{root / 'agents/one.md'}:5:1: error: 'nope' is undefined [PB003]\n"
    assert "Traceback" not in out + err
    assert not (root / "dist").exists()


def test_unknown_target_is_a_usage_error_with_exit_two(make_bundle: BundleFactory) -> None:
    root = make_bundle({"agents/one.md": AGENT})
    code, _, err = run("build", "--root", str(root), "--target", "vim")
    assert code == 2
    assert err == (
        "error: unknown target 'vim' (targets: agent-skill, claude-code, claude-plugin,"
        " opencode, skill-table)\n"
    )


def test_build_check_with_agent_is_a_usage_error_with_exit_two(make_bundle: BundleFactory) -> None:
    root = make_bundle({"agents/one.md": AGENT})
    code, _, err = run("build", "--root", str(root), "--check", "--agent", "one")
    assert code == 2
    assert err == "error: --check compares the whole output folder; drop --target/--agent\n"


def test_bad_option_exits_two() -> None:
    code, out, err = run("build", "--no-such-option")
    assert code == 2 and out == ""
    assert err.splitlines()[-1] == "Error: No such option '--no-such-option'."


def test_strict_fails_on_lossy_fields(make_bundle: BundleFactory) -> None:
    root = make_bundle({"agents/one.md": AGENT, **CONVERTING})
    code, _, err = run("build", "--root", str(root), "--strict")
    assert code == 1
    assert err == LOSSY + "error: build failed: 2 dropped field(s) with --strict; nothing written\n"


def _commands(group: click.Group) -> list[tuple[str, click.Command]]:
    ctx = click.Context(group)
    return [(name, group.get_command(ctx, name)) for name in group.list_commands(ctx)]  # type: ignore[misc]


@pytest.mark.parametrize("name", [name for name, _ in _commands(main)])
def test_every_command_has_help(name: str) -> None:
    code, out, _ = run(name, "--help")
    assert code == 0
    command = dict(_commands(main))[name]
    # Click wraps the help text to the terminal's width.
    assert command.help and " ".join(command.help.split("\n")[0].split()) in " ".join(out.split())


def test_cli_runs_from_inside_the_bundle(
    make_bundle: BundleFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_bundle({"agents/one.md": AGENT})
    monkeypatch.chdir(root / "agents")
    code, out, err = run("build")
    assert code == 0, err
    assert out == "built 6 outputs for 1 prompt into dist/: 6 written, 0 unchanged, 0 removed\n"
    assert Path(root / "dist/manifest.json").is_file()


def test_lossiness_report_groups_agents_per_field_and_quiet_hides_it(
    make_bundle: BundleFactory,
) -> None:
    agents = {
        f"agents/a{i}.md": f"---\nname: a{i}\ndescription: A\nmodel: opus\n---\nHi\n"
        for i in range(5)
    }
    root = make_bundle({**agents, **CONVERTING})
    code, _, err = run("build", "--root", str(root))
    assert code == 0
    # agent-skill and skill-table, each on one line
    assert err.splitlines() == [
        "lossy: agent-skill drops 'model' (agent-skill has no such field): a0, a1, a2 and 2 more",
        "lossy: skill-table drops 'model' (skill-table has no such field): a0, a1, a2 and 2 more",
    ]
    code, out, err = run("build", "--root", str(root), "--quiet")
    assert code == 0 and out == "" and err == ""


def test_a_build_never_writes_into_the_sources(make_bundle: BundleFactory) -> None:
    root = make_bundle({"agents/one.md": AGENT, "fragments/x.md": "X\n"})
    before = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    code, out, _ = run("build", "--root", str(root))
    assert code == 0
    assert out == "built 6 outputs for 1 prompt into dist/: 6 written, 0 unchanged, 0 removed\n"
    after = sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not p.relative_to(root).as_posix().startswith(("dist/", ".promptbundle"))
    )
    assert after == before
    code, out, _ = run("build", "--root", str(root))
    assert code == 0
    assert out == "built 6 outputs for 1 prompt into dist/: 0 written, 6 unchanged, 0 removed\n"


def test_error_paths_are_relative_to_the_current_folder(
    make_bundle: BundleFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_bundle({"agents/one.md": "---\nname: one\ndescription: x\n---\n{{ nope }}\n"})
    monkeypatch.chdir(root)
    code, _, err = run("build")
    assert code == 1
    assert err == "agents/one.md:5:1: error: 'nope' is undefined [PB003]\n"


def _broken(make_bundle: BundleFactory) -> Path:
    return make_bundle({"agents/one.md": "---\nname: one\ndescription: x\n---\n{{ nope }}\n"})


def test_errors_are_coloured_on_a_terminal(make_bundle: BundleFactory) -> None:
    root = _broken(make_bundle)
    result = CliRunner().invoke(main, ["build", "--root", str(root)], color=True)
    assert result.exit_code == 1
    assert "\x1b[31m\x1b[1merror\x1b[0m: 'nope' is undefined [PB003]" in result.stderr


def test_no_colour_when_not_a_terminal_or_no_color_is_set(
    make_bundle: BundleFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _broken(make_bundle)
    plain = CliRunner().invoke(main, ["build", "--root", str(root)])
    assert "\x1b[" not in plain.stderr and "error: 'nope' is undefined" in plain.stderr
    monkeypatch.setenv("NO_COLOR", "1")
    asked = CliRunner().invoke(main, ["build", "--root", str(root)], color=True)
    assert "\x1b[" not in asked.stderr and "error: 'nope' is undefined" in asked.stderr
