"""`.pre-commit-hooks.yaml`: each hook runs a real command that passes on an up-to-date bundle
and fails on a stale one."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml
from click.testing import CliRunner

from promptbundle.cli import main
from promptbundle.commands.build import run_build
from promptbundle.commands.init import run_init

REPO = Path(__file__).resolve().parent.parent


def _hooks() -> dict[str, list[str]]:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    for hook in hooks:
        assert hook["language"] == "python" and hook["pass_filenames"] is False, hook
    return {hook["id"]: shlex.split(hook["entry"]) for hook in hooks}


def _run(entry: list[str], root: Path) -> int:
    assert entry[0] == "promptbundle"
    return CliRunner().invoke(main, [*entry[1:], "--root", str(root)]).exit_code


def test_each_hook_passes_on_a_built_bundle_and_build_check_fails_on_a_stale_one(
    tmp_path: Path,
) -> None:
    hooks = _hooks()
    assert sorted(hooks) == ["promptbundle-build-check", "promptbundle-check"]
    root = tmp_path / "demo"
    run_init(root)
    run_build(root)
    assert {name: _run(entry, root) for name, entry in hooks.items()} == {
        "promptbundle-build-check": 0,
        "promptbundle-check": 0,
    }
    agent = root / "agents/reviewer.md"
    agent.write_text(agent.read_text() + "\nOne more rule.\n")
    assert _run(hooks["promptbundle-build-check"], root) == 1


def test_check_hook_fails_on_a_broken_source(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    run_init(root)
    (root / "agents/reviewer.md").write_text("---\nname: reviewer\n---\n{{ nope }}\n")
    assert _run(_hooks()["promptbundle-check"], root) == 1
