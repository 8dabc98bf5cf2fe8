"""`promptbundle uninstall`: remove exactly what installs of this bundle wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from promptbundle.cli import main
from promptbundle.commands.install import run_install
from promptbundle.commands.uninstall import run_uninstall
from promptbundle.core.errors import PromptBundleError, UsageError
from promptbundle.release.install import OWNERSHIP_FILE
from tests.support import BundleFactory

AGENT = "---\nname: one\ndescription: One\n---\nHello.\n"


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def installed(make_bundle: BundleFactory, tmp_path: Path) -> tuple[Path, Path]:
    root = make_bundle({"agents/one.md": AGENT})
    into = tmp_path / "project"
    into.mkdir()
    (into / "notes.txt").write_text("mine\n")
    run_install(root, targets=["claude-code", "opencode"], into=into)
    return root, into


def test_uninstall_removes_every_file_the_bundle_installed_and_its_record(
    installed: tuple[Path, Path],
) -> None:
    root, into = installed
    assert files_under(into) == [
        ".claude/agents/one.md",
        ".opencode/agent/one.md",
        ".promptbundle-install.json",
        "notes.txt",
    ]
    outcome = run_uninstall(root, into=into)
    assert outcome.summary == f"removed 2 file(s) of demo (claude-code, opencode) from {into}"
    assert outcome.lines == ["remove: .claude/agents/one.md", "remove: .opencode/agent/one.md"]
    assert files_under(into) == ["notes.txt"]
    assert sorted(p.name for p in into.iterdir()) == ["notes.txt"]  # empty folders went too


def test_uninstall_of_one_target_keeps_the_other_and_its_record(
    installed: tuple[Path, Path],
) -> None:
    root, into = installed
    run_uninstall(root, targets=["opencode"], into=into)
    assert files_under(into) == [".claude/agents/one.md", OWNERSHIP_FILE, "notes.txt"]
    record = json.loads((into / OWNERSHIP_FILE).read_text())
    assert [(i["bundle"], i["target"]) for i in record["installs"]] == [("demo", "claude-code")]


def test_a_file_changed_since_it_was_installed_is_kept_and_nothing_is_removed(
    installed: tuple[Path, Path],
) -> None:
    root, into = installed
    (into / ".opencode/agent/one.md").write_text("edited by hand\n")
    with pytest.raises(PromptBundleError) as caught:
        run_uninstall(root, into=into)
    assert caught.value.lines() == [
        f"{into / '.opencode/agent/one.md'}:1:1: error: changed since it was installed;"
        " will not remove it",
        "error: 1 file(s) this install may not overwrite or remove; nothing written"
        " (use --force to overwrite or remove them)",
    ]
    assert files_under(into) == [
        ".claude/agents/one.md",
        ".opencode/agent/one.md",
        OWNERSHIP_FILE,
        "notes.txt",
    ]
    outcome = run_uninstall(root, into=into, force=True)
    assert outcome.lines == [
        "remove: .claude/agents/one.md",
        "remove: .opencode/agent/one.md (--force)",
    ]
    assert files_under(into) == ["notes.txt"]


def test_dry_run_removes_nothing(installed: tuple[Path, Path]) -> None:
    root, into = installed
    before = files_under(into)
    outcome = run_uninstall(root, into=into, dry_run=True)
    assert outcome.summary == (
        f"would remove 2 file(s) of demo (claude-code, opencode) from {into}"
    )
    assert files_under(into) == before


def test_unknown_target_and_nothing_installed_are_usage_errors(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    root, into = installed
    with pytest.raises(UsageError) as caught:
        run_uninstall(root, targets=["agent-skill"], into=into)
    assert caught.value.message == (
        f"demo has no install of agent-skill in {into} (installed: claude-code, opencode)"
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UsageError) as caught:
        run_uninstall(root, into=empty)
    assert caught.value.message == f"nothing of demo is installed in {empty}"


def test_cli_uninstall(installed: tuple[Path, Path]) -> None:
    root, into = installed
    result = CliRunner().invoke(
        main, ["uninstall", "--root", str(root), "--into", str(into), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["command"], data["targets"][0]["removed"]) == (
        "uninstall",
        [".claude/agents/one.md"],
    )
    assert files_under(into) == ["notes.txt"]
