"""`install --user` / `uninstall --user`: each tool's user scope, under the home folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from promptbundle.cli import main
from promptbundle.commands.build import run_build
from promptbundle.commands.init import run_init


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    return folder


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    root = tmp_path / "demo"
    run_init(root)
    return root


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_user_install_puts_each_tool_where_it_reads_files_for_every_project(
    home: Path, bundle: Path
) -> None:
    code, out, err = _cli("install", "--root", str(bundle), "--user")
    assert code == 0, err
    # claude-plugin has no user scope to install into: it is left out of the default set.
    assert _files(home) == [
        ".claude/agents/reviewer.md",
        ".claude/commands/review.md",
        ".claude/rules/AGENTS.md",
        ".config/opencode/AGENTS.md",
        ".config/opencode/agent/reviewer.md",
        ".config/opencode/command/review.md",
        ".promptbundle-install.json",
    ]
    run_build(bundle)
    dist = bundle / "dist"
    assert (home / ".claude/agents/reviewer.md").read_bytes() == (
        dist / "claude-code/agents/reviewer.md"
    ).read_bytes()
    assert (home / ".config/opencode/AGENTS.md").read_bytes() == (
        dist / "opencode/@project/AGENTS.md"
    ).read_bytes()
    assert f"installed claude-code into {home}" in out

    code, out, err = _cli("uninstall", "--root", str(bundle), "--user")
    assert code == 0, err
    assert _files(home) == []
    assert f"removed 6 file(s) of demo (claude-code, opencode) from {home}" in out


def test_user_install_of_a_target_without_a_user_scope_is_a_usage_error(
    home: Path, bundle: Path
) -> None:
    code, _, err = _cli("install", "--root", str(bundle), "--user", "claude-plugin")
    assert code == 2
    assert err == (
        "error: target 'claude-plugin' (claude-plugin) has no user (--user) install location"
        " (installable targets: claude-code, opencode)\n"
    )
    assert _files(home) == []


@pytest.mark.parametrize("command", ["install", "uninstall"])
def test_into_and_user_are_one_or_the_other(home: Path, bundle: Path, command: str) -> None:
    code, _, err = _cli(command, "--root", str(bundle), "--user", "--into", str(bundle))
    assert code == 2 and "give --into DIR or --user, not both" in err
    code, _, err = _cli(command, "--root", str(bundle))
    assert code == 2 and "give --into DIR (a project folder) or --user (every project)" in err
