"""The package, verify and install commands: options reach the library; output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from promptbundle.cli import main
from promptbundle.commands import install as install_command
from promptbundle.commands import package as package_command
from promptbundle.commands.outcome import Outcome
from tests.support import BundleFactory

AGENT = "---\nname: one\ndescription: One\nmodel: sonnet\n---\nHello.\n"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_package_passes_its_options_to_the_library(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[tuple[Any, dict[str, Any]]] = []

    def fake(root: Any, **kwargs: Any) -> Outcome:
        calls.append((root, kwargs))
        lines = [str(tmp_path / "a.tar.gz"), str(tmp_path / "SUMS")]
        return Outcome("package", "packaged demo 9: 3 files", lines=lines)

    monkeypatch.setattr(package_command, "run_package", fake)
    code, out, _ = run(
        "package", "--root", "r", "--out", "o", "--version", "9.0.0", "--since", "v1"
    )
    assert code == 0
    assert calls == [
        (
            Path("r"),
            {"out": Path("o"), "version": "9.0.0", "since": "v1", "allow_dirty": False},
        )
    ]
    assert out == f"{tmp_path / 'a.tar.gz'}\n{tmp_path / 'SUMS'}\npackaged demo 9: 3 files\n"


def test_install_passes_its_options_to_the_library(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, dict[str, Any]]] = []

    def fake(root: Any, **kwargs: Any) -> Outcome:
        calls.append((root, kwargs))
        summary = "would install opencode into p: 1 added, 0 updated, 0 removed, 0 unchanged"
        return Outcome("install", summary, lines=["add: x"])

    monkeypatch.setattr(install_command, "run_install", fake)
    code, out, _ = run(
        "install", "opencode", "--into", "p", "--from", "a.zip", "--dry-run", "--force"
    )
    assert code == 0
    assert calls == [
        (
            None,
            {
                "targets": ("opencode",),
                "into": Path("p"),
                "user": False,
                "dry_run": True,
                "force": True,
                "from_archive": Path("a.zip"),
                "skip_modified": False,
            },
        )
    ]
    assert (
        out == "add: x\nwould install opencode into p: 1 added, 0 updated, 0 removed, 0 unchanged\n"
    )


def test_install_takes_several_targets_or_none(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    def fake(root: Any, **kwargs: Any) -> Outcome:
        calls.append(kwargs)
        return Outcome("install", "installed")

    monkeypatch.setattr(install_command, "run_install", fake)
    assert run("install", "opencode", "claude-code", "--into", "p")[0] == 0
    assert run("install", "--into", "p")[0] == 0
    assert [call["targets"] for call in calls] == [("opencode", "claude-code"), ()]


def test_install_requires_into() -> None:
    code, _, err = run("install", "claude-code")
    assert code == 2
    assert err.splitlines()[-1] == (
        "Error: give --into DIR (a project folder) or --user (every project)"
    )


def test_package_then_verify_end_to_end(make_bundle: BundleFactory, tmp_path: Path) -> None:
    root = make_bundle({"agents/one.md": AGENT})
    code, out, err = run(
        "package", "--root", str(root), "--out", str(tmp_path / "rel"),
        env={"SOURCE_DATE_EPOCH": "1700000000"},
    )  # fmt: skip
    assert code == 0, err
    rel = tmp_path / "rel"
    assert out == (
        f"{rel / 'demo-1.2.3.tar.gz'}\n{rel / 'demo-1.2.3.zip'}\n{rel / 'SHA256SUMS'}\n"
        "packaged demo 1.2.3: 7 files\n"
    )
    code, out, err = run("verify", str(tmp_path / "rel/demo-1.2.3.zip"))
    assert (code, out, err) == (0, "demo-1.2.3.zip: OK (6 files match manifest.json)\n", "")


def test_verify_exits_one_and_names_each_problem(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    root = make_bundle({"agents/one.md": AGENT})
    run("package", "--root", str(root), "--out", str(tmp_path / "rel"))
    archive = tmp_path / "rel/demo-1.2.3.tar.gz"
    archive.write_bytes(archive.read_bytes() + b"\0")
    code, out, err = run("verify", str(archive))
    assert code == 1
    assert out == "demo-1.2.3.tar.gz: FAILED (1 problem(s))\n"
    assert err == f"{archive}: error: altered archive: its sha256 differs from SHA256SUMS\n"


def test_verify_of_a_bad_archive_prints_a_located_error(tmp_path: Path) -> None:
    (tmp_path / "x.zip").write_text("nope")
    code, out, err = run("verify", str(tmp_path / "x.zip"))
    assert code == 1 and out == ""
    message = "not a release archive: its content is neither a gzipped tar nor a zip"
    assert err == f"{tmp_path / 'x.zip'}:1:1: error: {message} [PB300]\n"


def test_install_conflict_exits_one_naming_the_file(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    root = make_bundle({"agents/one.md": AGENT})
    mine = tmp_path / "p/.claude/agents/one.md"
    mine.parent.mkdir(parents=True)
    mine.write_text("mine\n")
    code, out, err = run(
        "install", "claude-code", "--root", str(root), "--into", str(tmp_path / "p")
    )
    assert code == 1 and out == ""
    assert err == (
        f"{mine}:1:1: error: not installed by promptbundle; will not overwrite it\n"
        "error: 1 file(s) this install may not overwrite or remove; nothing written"
        " (use --force to overwrite or remove them)\n"
    )
    assert mine.read_text() == "mine\n"


def test_install_unknown_target_exits_two(make_bundle: BundleFactory, tmp_path: Path) -> None:
    root = make_bundle({"agents/one.md": AGENT})
    code, _, err = run("install", "vim", "--root", str(root), "--into", str(tmp_path / "p"))
    assert code == 2
    assert err == (
        "error: unknown target 'vim' (targets: agent-skill, claude-code, claude-plugin,"
        " opencode, skill-table)\n"
    )


def test_install_prints_what_it_wrote(make_bundle: BundleFactory, tmp_path: Path) -> None:
    root = make_bundle({"agents/one.md": AGENT})
    into = tmp_path / "p"
    code, out, err = run("install", "claude-code", "--root", str(root), "--into", str(into))
    assert code == 0, err
    assert out == (
        "add: .claude/agents/one.md\n"
        f"installed claude-code into {into}: 1 added, 0 updated, 0 removed, 0 unchanged\n"
    )


def test_install_without_a_target_prints_every_target(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    root = make_bundle({"agents/one.md": AGENT, "files/docs/guide.md": "Read me.\n"})
    into = tmp_path / "p"
    code, out, err = run("install", "--root", str(root), "--into", str(into))
    assert code == 0, err
    assert out == (
        "add: .claude/agents/one.md\n"
        "add: .claude-plugin/marketplace.json\n"
        "add: plugins/demo/.claude-plugin/plugin.json\n"
        "add: plugins/demo/agents/one.md\n"
        "add: .opencode/agent/one.md\n"
        "add: docs/guide.md\n"
        f"installed agent-skill into {into}: 0 added, 0 updated, 0 removed, 0 unchanged; "
        f"installed claude-code into {into}: 1 added, 0 updated, 0 removed, 0 unchanged; "
        f"installed claude-plugin into {into}: 3 added, 0 updated, 0 removed, 0 unchanged; "
        f"installed opencode into {into}: 1 added, 0 updated, 0 removed, 0 unchanged; "
        f"installed files into {into}: 1 added, 0 updated, 0 removed, 0 unchanged\n"
    )


def test_install_json_lists_each_target(make_bundle: BundleFactory, tmp_path: Path) -> None:
    root = make_bundle({"agents/one.md": AGENT})
    into = tmp_path / "p"
    code, out, err = run(
        "install", "opencode", "claude-code", "--root", str(root), "--into", str(into), "--json"
    )
    assert code == 0, err
    assert json.loads(out) == {
        "command": "install",
        "exit_code": 0,
        "message": (
            f"installed opencode into {into}: 1 added, 0 updated, 0 removed, 0 unchanged; "
            f"installed claude-code into {into}: 1 added, 0 updated, 0 removed, 0 unchanged"
        ),
        "diagnostics": [],
        "into": str(into),
        "user": False,
        "dry_run": False,
        "targets": [
            {
                "target": "opencode",
                "added": [".opencode/agent/one.md"],
                "updated": [],
                "removed": [],
                "unchanged": [],
                "forced": [],
                "skipped": [],
            },
            {
                "target": "claude-code",
                "added": [".claude/agents/one.md"],
                "updated": [],
                "removed": [],
                "unchanged": [],
                "forced": [],
                "skipped": [],
            },
        ],
    }


def test_install_of_targets_that_write_one_file_differently_exits_two(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    # The carried files/CLAUDE.md and the rule CLAUDE (claude-code) both go to CLAUDE.md.
    root = make_bundle({"files/CLAUDE.md": "Carried.\n", "rules/CLAUDE.md": "Be brief.\n"})
    code, out, err = run("install", "--root", str(root), "--into", str(tmp_path / "p"))
    assert (code, out) == (2, "")
    assert err == (
        "error: targets write 1 file(s) differently; install them one at a time"
        " (promptbundle install TARGET --into DIR): CLAUDE.md (claude-code and files differ)\n"
    )
    assert not (tmp_path / "p").exists()
