"""`promptbundle init`: a new bundle that builds, checks and passes its own snapshot tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from promptbundle import __version__
from promptbundle.cli import main
from promptbundle.commands.build import run_build
from promptbundle.commands.init import run_init
from promptbundle.core.errors import UsageError
from promptbundle.core.yamlio import load_yaml

FILES = [
    "promptbundle.toml",
    "agents/reviewer.md",
    "commands/review.md",
    "rules/AGENTS.md",
    "fragments/testing.md",
    "fragments/git.md",
    "tests/test_outputs.py",
    "Makefile",
    ".gitignore",
    ".github/workflows/prompts.yml",
    ".pre-commit-config.yaml",
]
# Three prompts for claude-code, claude-plugin and opencode (the plugin takes no rule, and
# brings its plugin.json and the marketplace), and the catalog.
OUTPUTS = [
    "README.md",
    "claude-code/agents/reviewer.md",
    "claude-code/commands/review.md",
    "claude-code/rules/AGENTS.md",
    "claude-plugin/.claude-plugin/marketplace.json",
    "claude-plugin/plugins/team-prompts/.claude-plugin/plugin.json",
    "claude-plugin/plugins/team-prompts/agents/reviewer.md",
    "claude-plugin/plugins/team-prompts/commands/review.md",
    "opencode/@project/AGENTS.md",
    "opencode/agent/reviewer.md",
    "opencode/command/review.md",
]
# This checkout is installed from a local folder, which a CI runner cannot install from.
UNPUBLISHED = (
    f"note: the CI workflow and pre-commit config install 'promptbundle=={__version__}', which"
    " is not on PyPI: run init with --requirement 'promptbundle @ git+URL@TAG' (where your"
    " team gets promptbundle from), or edit both files"
)
NEXT = (
    "next: cd team-prompts && pytest --snapshot-update (records the first snapshots), "
    f"then make test\n{UNPUBLISHED}\n"
)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def bundle_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The bundle's own tests, run as its users run them: `pytest` in its folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_init_writes_a_bundle_that_builds_checks_and_passes_its_tests(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run("init", "team-prompts")
    assert code == 0, err
    assert out == "".join(f"team-prompts/{rel}\n" for rel in FILES) + (
        "created bundle 'team-prompts' in team-prompts: 11 files written\n"
    )
    assert err == NEXT
    bundle = in_tmp / "team-prompts"
    assert files_under(bundle) == sorted(FILES)
    assert (bundle / "promptbundle.toml").read_text(encoding="utf-8").splitlines()[2:] == [
        'name = "team-prompts"',
        'version = "0.1.0"',
        'description = "A reviewer agent, a /review command and an AGENTS.md rule from shared '
        'rules"',
        'targets = ["claude-code", "claude-plugin", "opencode"]',
    ]

    monkeypatch.chdir(bundle)
    built = run_build(None)
    assert built.exit_code == 0, built.messages
    assert built.summary == (
        "built 11 outputs for 3 prompts into dist/: 11 written, 0 unchanged, 0 removed"
    )
    assert built.messages == [] and built.notes == []
    manifest = json.loads((bundle / "dist" / "manifest.json").read_text(encoding="utf-8"))
    assert [entry["path"] for entry in manifest["outputs"]] == OUTPUTS

    code, out, err = run("check", "--strict")
    assert (code, out, err) == (
        0,
        "",
        "checked 11 outputs: 0 error(s), 0 warning(s), 0 dropped field(s)\n",
    )
    code, out, err = run("build", "--check")
    assert (code, out, err) == (0, "dist/ is up to date (11 outputs)\n", "")

    recorded = bundle_pytest(bundle, "--snapshot-update")
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    assert "11 snapshots generated." in recorded.stdout
    snapshots = bundle / "tests" / "__snapshots__" / "test_outputs"
    assert sorted(p.name for p in snapshots.iterdir()) == sorted(
        f"test_output[{path.replace('/', '__')}].md" for path in OUTPUTS
    )
    again = bundle_pytest(bundle)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "11 snapshots passed." in again.stdout
    assert "12 passed" in again.stdout  # one test per output, and the unused-snapshots check


def test_a_changed_fragment_fails_the_bundles_snapshot_test(in_tmp: Path) -> None:
    run_init(in_tmp / "team-prompts")
    bundle = in_tmp / "team-prompts"
    assert bundle_pytest(bundle, "--snapshot-update").returncode == 0
    with (bundle / "fragments" / "git.md").open("a", encoding="utf-8") as handle:
        handle.write("- Rebase onto the base branch before you ask for review.\n")
    changed = bundle_pytest(bundle)
    assert changed.returncode == 1
    # The fragment reaches all 8 prompt outputs (3 claude-code, 2 plugin, 3 opencode), and the
    # catalog counts their characters; the plugin.json and the marketplace stay the same.
    assert "\n9 failed, 3 passed in " in changed.stdout


def test_the_gates_run_in_order_and_ci_checks_dist_before_anything_rebuilds(
    in_tmp: Path,
) -> None:
    run_init(in_tmp / "b")
    bundle = in_tmp / "b"
    workflow = load_yaml((bundle / ".github/workflows/prompts.yml").read_text(encoding="utf-8"))
    assert isinstance(workflow, dict)
    assert set(workflow.get("on", workflow.get(True))) == {"push", "pull_request"}
    [job] = workflow["jobs"].values()
    runs = [step["run"] for step in job["steps"] if "run" in step]
    assert runs[0] == f'python -m pip install "promptbundle=={__version__}" pytest syrupy'
    assert "promptbundle build --check" in runs[1]
    assert runs[2:] == ["promptbundle check --strict", "pytest"]

    hooks = load_yaml((bundle / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    assert isinstance(hooks, dict)
    [repo] = hooks["repos"]
    assert repo["repo"] == "local"
    assert [hook["entry"] for hook in repo["hooks"]] == [
        "promptbundle build --check",
        "promptbundle check",
    ]

    makefile = (bundle / "Makefile").read_text(encoding="utf-8")
    test_recipe = makefile.split("\ntest: build\n", 1)[1].split("\n\n", 1)[0]
    assert test_recipe.splitlines() == [
        "\t$(PYTEST)",
        "\t$(PROMPTBUNDLE) check --strict",
        "\t$(PROMPTBUNDLE) build --check",
    ]
    assert "\nbuild:\n\t$(PROMPTBUNDLE) build\n" in makefile
    gitignore = (bundle / ".gitignore").read_text(encoding="utf-8")
    assert "/dist/" in gitignore.splitlines()
    assert "Committing dist/ is the other\n# valid choice" in gitignore


def _ci_dist_step(bundle: Path) -> subprocess.CompletedProcess[str]:
    """The workflow's dist/ step, verbatim, with this environment's promptbundle on PATH."""
    workflow = load_yaml((bundle / ".github/workflows/prompts.yml").read_text(encoding="utf-8"))
    assert isinstance(workflow, dict)
    [job] = workflow["jobs"].values()
    step: dict[str, Any] = next(s for s in job["steps"] if "dist/" in s.get("name", ""))
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        cwd=bundle,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_ci_dist_check_passes_without_dist_and_fails_on_a_stale_one(in_tmp: Path) -> None:
    run_init(in_tmp / "b")
    bundle = in_tmp / "b"
    fresh_checkout = _ci_dist_step(bundle)
    assert fresh_checkout.returncode == 0, fresh_checkout.stderr
    assert fresh_checkout.stdout == "dist/ is not committed (see .gitignore): nothing to compare\n"

    assert run_build(bundle).exit_code == 0
    assert _ci_dist_step(bundle).returncode == 0
    (bundle / "fragments" / "testing.md").write_text("# Testing\n\nRun the tests.\n")
    stale = _ci_dist_step(bundle)
    assert stale.returncode == 1
    # The 8 prompt outputs, the catalog and the manifest.
    assert stale.stdout.startswith(
        "dist/ is out of date: 10 stale, 0 missing, 0 orphan (run promptbundle build)\n"
    )


def test_init_refuses_to_overwrite_and_writes_nothing(in_tmp: Path) -> None:
    (in_tmp / "agents").mkdir()
    (in_tmp / "agents" / "reviewer.md").write_text("mine\n", encoding="utf-8")
    (in_tmp / "Makefile").write_text("all:\n", encoding="utf-8")
    (in_tmp / ".github").write_text("not a folder\n", encoding="utf-8")
    code, out, err = run("init")
    assert (code, out) == (1, "")
    assert err == (
        "agents/reviewer.md: error: already exists\n"
        "Makefile: error: already exists\n"
        ".github: error: already exists\n"
        "error: 3 file(s) of the new bundle already exist; nothing written (init only creates "
        "a new bundle: move them away, or init another folder)\n"
    )
    assert files_under(in_tmp) == [".github", "Makefile", "agents/reviewer.md"]
    assert (in_tmp / "agents" / "reviewer.md").read_text(encoding="utf-8") == "mine\n"


def test_init_refuses_even_a_single_existing_file_as_json(in_tmp: Path) -> None:
    (in_tmp / "b").mkdir()
    (in_tmp / "b" / ".gitignore").write_text("*.pyc\n", encoding="utf-8")
    code, out, err = run("init", "b", "--json")
    assert (code, err) == (1, "")
    message = (
        "1 file(s) of the new bundle already exist; nothing written (init only creates a new "
        "bundle: move them away, or init another folder)"
    )
    assert json.loads(out) == {
        "command": "init",
        "exit_code": 1,
        "message": message,
        "diagnostics": [],
        "errors": ["b/.gitignore: error: already exists", f"error: {message}"],
    }
    assert files_under(in_tmp / "b") == [".gitignore"]


def test_init_creates_a_missing_folder_with_its_parents(in_tmp: Path) -> None:
    outcome = run_init(Path("work") / "Team Prompts!")
    bundle = in_tmp / "work" / "Team Prompts!"
    assert (
        outcome.summary == "created bundle 'team-prompts' in work/Team Prompts!: 11 files written"
    )
    assert outcome.notes == [
        "next: cd 'work/Team Prompts!' && pytest --snapshot-update (records the first "
        "snapshots), then make test",
        UNPUBLISHED,
    ]
    assert files_under(bundle) == sorted(FILES)
    assert 'name = "team-prompts"\n' in (bundle / "promptbundle.toml").read_text(encoding="utf-8")


def test_init_without_dir_writes_into_the_current_folder(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (in_tmp / "Ünïcode_Bundle").mkdir()
    monkeypatch.chdir(in_tmp / "Ünïcode_Bundle")
    code, out, err = run("init")
    assert code == 0, err
    assert out.splitlines()[0] == "promptbundle.toml"
    assert out.splitlines()[-1] == "created bundle 'unicode-bundle' in .: 11 files written"
    assert err == (
        "next: pytest --snapshot-update (records the first snapshots), then make test\n"
        f"{UNPUBLISHED}\n"
    )


def test_init_json_lists_the_files_written(in_tmp: Path) -> None:
    code, out, err = run("init", "team-prompts", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "command": "init",
        "exit_code": 0,
        "message": "created bundle 'team-prompts' in team-prompts: 11 files written",
        "diagnostics": [],
        "name": "team-prompts",
        "root": str((in_tmp / "team-prompts").resolve()),
        "written": FILES,
        "requirement": f"promptbundle=={__version__}",
    }


def test_init_into_a_file_is_a_usage_error(in_tmp: Path) -> None:
    (in_tmp / "notes.txt").write_text("x\n", encoding="utf-8")
    code, _, err = run("init", "notes.txt")
    assert code == 2
    assert (
        err.splitlines()[-1] == "Error: Invalid value for '[DIR]': Directory 'notes.txt' is a file."
    )
    with pytest.raises(UsageError) as raised:
        run_init(Path("notes.txt"))
    assert raised.value.lines() == ["error: notes.txt is not a folder"]
    assert files_under(in_tmp) == ["notes.txt"]


class _Dist:
    def __init__(self, direct_url: str | None) -> None:
        self.direct_url = direct_url

    def read_text(self, name: str) -> str | None:
        assert name == "direct_url.json"
        return self.direct_url


@pytest.mark.parametrize(
    ("direct_url", "expected"),
    [
        (
            '{"url": "https://github.com/team/promptbundle.git",'
            ' "vcs_info": {"vcs": "git", "commit_id": "0123abc"}}',
            ("promptbundle @ git+https://github.com/team/promptbundle.git@0123abc", True),
        ),
        # A local checkout or wheel: a CI runner cannot install from this machine's files.
        ('{"url": "file:///work/promptbundle", "dir_info": {"editable": true}}', None),
        (None, None),
    ],
)
def test_the_requirement_init_writes_comes_from_where_promptbundle_was_installed(
    monkeypatch: pytest.MonkeyPatch, direct_url: str | None, expected: tuple[str, bool] | None
) -> None:
    from promptbundle.commands import init as module

    monkeypatch.setattr(module.metadata, "distribution", lambda name: _Dist(direct_url))
    assert module.install_requirement() == (expected or (f"promptbundle=={__version__}", False))


def test_init_writes_the_requirement_into_ci_and_pre_commit_and_warns_when_unpublished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from promptbundle.commands import init as module

    monkeypatch.setattr(module.metadata, "distribution", lambda name: _Dist(None))
    outcome = run_init(tmp_path / "a")
    assert outcome.data["requirement"] == f"promptbundle=={__version__}"
    assert any("which is not on PyPI" in note for note in outcome.notes)

    spec = "promptbundle @ git+https://example.org/pb.git@v1.0.0"
    outcome = run_init(tmp_path / "b", requirement=spec)
    assert not any("not on PyPI" in note for note in outcome.notes)
    workflow = load_yaml((tmp_path / "b/.github/workflows/prompts.yml").read_text())
    steps = workflow["jobs"]["prompts"]["steps"]
    assert f'python -m pip install "{spec}" pytest syrupy' in [s.get("run") for s in steps]
    hooks = load_yaml((tmp_path / "b/.pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    assert [h["additional_dependencies"] for h in hooks] == [[spec], [spec]]
