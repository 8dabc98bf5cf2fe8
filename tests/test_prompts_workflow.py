"""The pull-request workflow: its diff step and its comment, run here on a real git repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from promptbundle.core.yamlio import load_yaml
from promptbundle.review.report import COMMENT_MARKER
from tests.gitrepo import GitRepo

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "prompts.yml"
CONFIG = 'name = "demo"\nversion = "1.0.0"\ntargets = ["claude-code", "opencode"]\n'
FILES = {
    "promptbundle.toml": CONFIG,
    "fragments/testing.md": "# Testing\n\nRun pytest.\n",
    "agents/alpha.md": '---\nname: alpha\ndescription: A\n---\n{{ fragment("testing") }}\n',
}


def steps() -> list[dict[str, Any]]:
    data = load_yaml(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    [job] = data["jobs"].values()
    result: list[dict[str, Any]] = job["steps"]
    return result


def step(name: str) -> dict[str, Any]:
    return next(s for s in steps() if s.get("name") == name)


def test_workflow_runs_tests_check_and_diff_on_pull_requests() -> None:
    data = load_yaml(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    triggers = data.get("on", data.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "pull_request" in triggers
    assert data["permissions"]["pull-requests"] == "write"
    runs = [s.get("run", "") for s in steps()]
    assert "make test" in runs
    assert ".venv/bin/promptbundle build --check" in runs
    assert any("promptbundle diff HEAD^1 HEAD --format markdown" in r for r in runs)
    uses = [s["uses"] for s in steps() if "uses" in s]
    assert all("@v" in u for u in uses), uses


def run_diff_step(repo: GitRepo, runner_temp: Path) -> subprocess.CompletedProcess[str]:
    """The workflow's diff step, verbatim, in `repo` with this environment's promptbundle."""
    bin_dir = repo.root / ".venv" / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    (bin_dir / "promptbundle").symlink_to(Path(sys.executable).parent / "promptbundle")
    return subprocess.run(
        ["bash", "-e", "-c", step("Diff the rendered prompts")["run"]],
        cwd=repo.root,
        env={**os.environ, "RUNNER_TEMP": str(runner_temp)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_diff_step_writes_the_comment_for_two_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = GitRepo(tmp_path / "repo", monkeypatch)
    repo.commit(FILES, "base")
    repo.commit({"fragments/testing.md": "# Testing\n\nRun pytest -q.\n"}, "pull request")
    proc = run_diff_step(repo, tmp_path)
    assert proc.returncode == 0, proc.stderr
    comment = (tmp_path / "prompt-diff.md").read_text(encoding="utf-8")
    assert comment.startswith(COMMENT_MARKER + "\n### Prompt changes: 3 outputs changed in 1 agent")
    assert "| `fragments/testing.md` modified | 3 | 1 | +3 -3 |" in comment
    assert "<details><summary><code>claude-code/agents/alpha.md</code> · modified" in comment
    assert "-Run pytest.\n+Run pytest -q.\n" in comment


def test_diff_step_fails_when_the_pull_request_does_not_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = GitRepo(tmp_path / "repo", monkeypatch)
    repo.commit(FILES, "base")
    repo.commit({"fragments/testing.md": "{{ nope }}\n"}, "broken")
    proc = run_diff_step(repo, tmp_path)
    assert proc.returncode == 2
    head = repo.git("rev-parse", "HEAD")[:12]
    assert proc.stderr == (
        f"error: cannot build HEAD ({head}): the build fails there\n"
        "HEAD:fragments/testing.md:1:1: error: 'nope' is undefined"
        " (while rendering agents/alpha.md for target claude-code) [PB003]\n"
    )


HARNESS = """
const calls = [];
const existing = JSON.parse(process.env.EXISTING);
const github = {
  paginate: async (method, args) => { calls.push(['list', args]); return existing; },
  rest: { issues: {
    listComments: 'listComments',
    updateComment: async (args) => { calls.push(['update', args]); },
    createComment: async (args) => { calls.push(['create', args]); },
  } },
};
const context = { repo: { owner: 'o', repo: 'r' }, issue: { number: 7 } };
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
const script = require('fs').readFileSync(process.env.SCRIPT, 'utf8');
new AsyncFunction('require', 'github', 'context', script)(require, github, context)
  .then(() => console.log(JSON.stringify(calls)));
"""


def run_comment_script(tmp_path: Path, existing: list[dict[str, Any]]) -> list[Any]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the github-script step cannot run here")
    script = tmp_path / "script.js"
    script.write_text(step("Post or update the diff comment")["with"]["script"], encoding="utf-8")
    harness = tmp_path / "harness.js"
    harness.write_text(HARNESS, encoding="utf-8")
    env = {
        "PATH": "/usr/bin:/bin",
        "RUNNER_TEMP": str(tmp_path),
        "SCRIPT": str(script),
        "EXISTING": json.dumps(existing),
    }
    proc = subprocess.run([node, str(harness)], env=env, capture_output=True, text=True, check=True)
    result: list[Any] = json.loads(proc.stdout)
    return result


def test_comment_step_creates_one_comment_then_updates_it(tmp_path: Path) -> None:
    body = COMMENT_MARKER + "\n### Prompt changes\n"
    (tmp_path / "prompt-diff.md").write_text(body, encoding="utf-8")
    calls = run_comment_script(tmp_path, [{"id": 1, "user": {"type": "User"}, "body": "hi"}])
    assert calls == [
        ["list", {"owner": "o", "repo": "r", "issue_number": 7, "per_page": 100}],
        ["create", {"owner": "o", "repo": "r", "issue_number": 7, "body": body}],
    ]
    earlier = {"id": 42, "user": {"type": "Bot"}, "body": COMMENT_MARKER + "\nold"}
    calls = run_comment_script(tmp_path, [earlier])
    assert calls[-1] == ["update", {"owner": "o", "repo": "r", "comment_id": 42, "body": body}]
    assert len(calls) == 2
