"""diff: rendered output changes between two git revisions, grouped by the sources behind them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from promptbundle.build.pipeline import build_outputs, load
from promptbundle.cli import main
from promptbundle.commands.diff import run_diff
from promptbundle.core.errors import PromptBundleError
from promptbundle.review.diff import BundleDiff, diff_revisions
from promptbundle.review.report import COMMENT_LIMIT, COMMENT_MARKER, format_markdown
from tests.gitrepo import GitRepo

CONFIG = 'name = "demo"\nversion = "1.0.0"\ndescription = "Demo agents"\n'
ONE_TARGET = CONFIG + 'targets = ["claude-code"]\n'
TWO_TARGETS = CONFIG + 'targets = ["claude-code", "opencode"]\n'


def agent(name: str, body: str) -> str:
    return f"---\nname: {name}\ndescription: The {name} agent\nmodel: sonnet\n---\n{body}\n"


FILES = {
    "promptbundle.toml": CONFIG,
    "fragments/testing.md": "# Testing\n\nRun pytest.\n",
    "fragments/git.md": "# Git\n\nSmall commits.\n",
    "agents/alpha.md": agent("alpha", '{{ fragment("testing", level=2) }}'),
    "agents/beta.md": agent("beta", '{{ fragment("testing") }}\n\n{{ fragment("git") }}'),
    "agents/gamma.md": agent("gamma", '{{ fragment("git") }}'),
}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    return GitRepo(tmp_path / "repo", monkeypatch)


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


GIT_OUTPUTS = [
    "README.md",
    "claude-code/agents/beta.md",
    "claude-code/agents/gamma.md",
    "claude-plugin/plugins/demo/agents/beta.md",
    "claude-plugin/plugins/demo/agents/gamma.md",
    "opencode/agent/beta.md",
    "opencode/agent/gamma.md",
]  # every output fragments/git.md reaches with the default targets (agent-skill and
# skill-table carry skills only, and these are agents)
# Every output of FILES: 3 agents x (claude-code, claude-plugin, opencode), the plugin's
# plugin.json, the marketplace.json and the catalog README.md.
ALL_OUTPUTS = 12


def paths(diff: BundleDiff, status: str | None = None) -> set[str]:
    return {o.path for o in diff.outputs if status is None or o.status == status}


def test_fragment_edit_reports_exactly_the_outputs_that_include_it(repo: GitRepo) -> None:
    repo.commit(FILES, "first")
    repo.commit({"fragments/testing.md": "# Testing\n\nRun pytest -q, always.\n"}, "edit")
    diff = diff_revisions(repo.root, "HEAD~1", "HEAD")
    including = {
        o.path
        for o in build_outputs(load(repo.root)).outputs
        if "fragments/testing.md" in o.sources
    }
    assert paths(diff) == including
    assert {o.agent for o in diff.outputs} == {"alpha", "beta", None}
    assert [str(s) for s in diff.sources] == ["fragments/testing.md changed"]
    [group] = diff.groups
    assert group.title() == "fragments/testing.md changed → 7 outputs in 2 agents"
    beta = next(o for o in diff.outputs if o.path == "claude-code/agents/beta.md")
    assert "-Run pytest.\n+Run pytest -q, always.\n" in beta.diff
    assert beta.diff.startswith(
        "--- a/claude-code/agents/beta.md\n+++ b/claude-code/agents/beta.md\n"
    )


def test_agent_rename_shows_one_removed_and_one_added_output(repo: GitRepo) -> None:
    repo.commit({**FILES, "promptbundle.toml": ONE_TARGET}, "first")
    repo.git("mv", "agents/gamma.md", "agents/delta.md")
    repo.commit({"agents/delta.md": agent("delta", '{{ fragment("git") }}')}, "rename")
    diff = diff_revisions(repo.root, "HEAD~1", "HEAD")
    assert paths(diff, "removed") == {"claude-code/agents/gamma.md"}
    assert paths(diff, "added") == {"claude-code/agents/delta.md"}
    assert paths(diff, "modified") == {"README.md"}
    assert [g.title() for g in diff.groups] == [
        "agents/delta.md added → 1 output in 1 agent (1 added)",
        "agents/delta.md added, agents/gamma.md removed → 1 output",
        "agents/gamma.md removed → 1 output in 1 agent (1 removed)",
    ]
    removed = next(o for o in diff.outputs if o.status == "removed")
    assert removed.diff.startswith("--- a/claude-code/agents/gamma.md\n+++ /dev/null\n")


def test_target_config_change_shows_up_as_the_cause(repo: GitRepo) -> None:
    models = '[models]\nsonnet = "{}"\n'
    repo.commit(
        {
            **FILES,
            "promptbundle.toml": TWO_TARGETS,
            "targets/opencode.toml": models.format("anthropic/claude-sonnet-4-0"),
        },
        "first",
    )
    repo.commit({"targets/opencode.toml": models.format("anthropic/claude-sonnet-4-5")}, "model")
    diff = diff_revisions(repo.root, "HEAD~1", "HEAD")
    assert paths(diff) == {f"opencode/agent/{a}.md" for a in ("alpha", "beta", "gamma")}
    [group] = diff.groups
    assert group.title() == "targets/opencode.toml changed → 3 outputs in 3 agents"
    assert all("+model: anthropic/claude-sonnet-4-5\n" in o.diff for o in diff.outputs)


def test_a_new_target_config_file_is_a_cause_too(repo: GitRepo) -> None:
    repo.commit({**FILES, "promptbundle.toml": TWO_TARGETS}, "first")
    repo.commit({"targets/opencode.toml": '[models]\nsonnet = "my/sonnet"\n'}, "configure")
    diff = diff_revisions(repo.root, "HEAD~1", "HEAD")
    assert {str(c) for o in diff.outputs for c in o.causes} == {"targets/opencode.toml added"}


def test_outputs_with_several_changed_sources_group_by_the_whole_set(repo: GitRepo) -> None:
    repo.commit({**FILES, "promptbundle.toml": ONE_TARGET}, "first")
    repo.commit(
        {"fragments/testing.md": "# Testing\n\nNew.\n", "fragments/git.md": "# Git\n\nNew.\n"},
        "both",
    )
    diff = diff_revisions(repo.root, "HEAD~1", "HEAD")
    causes = {o.path: [c.path for c in o.causes] for o in diff.outputs}
    assert causes["claude-code/agents/alpha.md"] == ["fragments/testing.md"]
    assert causes["claude-code/agents/beta.md"] == ["fragments/git.md", "fragments/testing.md"]
    assert causes["claude-code/agents/gamma.md"] == ["fragments/git.md"]
    assert [g.title() for g in diff.groups] == [
        "fragments/git.md changed → 1 output in 1 agent",
        "fragments/git.md changed, fragments/testing.md changed → 2 outputs in 1 agent",
        "fragments/testing.md changed → 1 output in 1 agent",
    ]


def test_revision_whose_build_fails_is_named_with_the_source_location(repo: GitRepo) -> None:
    repo.commit(FILES, "first")
    bad = repo.commit({"agents/alpha.md": agent("alpha", "{{ nope }}")}, "broken")
    with pytest.raises(PromptBundleError) as caught:
        run_diff(repo.root, "HEAD~1", "HEAD")
    assert caught.value.exit_code == 2
    assert caught.value.lines() == [
        f"error: cannot build HEAD ({bad[:12]}): the build fails there",
        "HEAD:agents/alpha.md:6:1: error: 'nope' is undefined [PB003]",
    ]


def test_base_revision_failure_is_reported_against_the_base(repo: GitRepo) -> None:
    repo.commit({**FILES, "fragments/git.md": "{% if %}\n"}, "broken")
    repo.commit(FILES, "fixed")
    code, out, err = cli("diff", "--root", str(repo.root), "HEAD~1")
    assert code == 2 and out == ""
    base = repo.git("rev-parse", "HEAD~1")[:12]
    assert err.splitlines()[:2] == [
        f"error: cannot build HEAD~1 ({base}): the build fails there",
        "HEAD~1:fragments/git.md:1:1: error: template syntax error: Expected an expression,"
        " got 'end of statement block' (in a fragment included by agents/beta.md) [PB002]",
    ]
    assert "Traceback" not in err


def test_working_tree_is_the_default_head_and_nothing_is_written(repo: GitRepo) -> None:
    repo.commit(FILES, "first")
    repo.write({"fragments/git.md": "# Git\n\nSigned commits.\n"})
    diff = diff_revisions(repo.root, "HEAD")
    assert str(diff.head) == "working tree"
    assert [str(s) for s in diff.sources] == ["fragments/git.md changed"]
    assert sorted(paths(diff)) == GIT_OUTPUTS
    assert not (repo.root / "dist").exists()
    assert repo.git("status", "--porcelain") == "M fragments/git.md"
    assert repo.git("worktree", "list").count("\n") == 0


def test_untracked_fragment_in_the_working_tree_counts_as_added(repo: GitRepo) -> None:
    repo.commit(FILES, "first")
    repo.write(
        {
            "fragments/review.md": "Review carefully.\n",
            "agents/gamma.md": agent("gamma", '{{ fragment("git") }}\n{{ fragment("review") }}'),
        }
    )
    diff = diff_revisions(repo.root, "HEAD")
    assert {str(s) for s in diff.sources} == {
        "agents/gamma.md changed",
        "fragments/review.md added",
    }


def test_default_base_is_the_merge_base_with_main(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.commit(FILES, "first")
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit({"fragments/git.md": "# Git\n\nFeature change.\n"}, "feature")
    repo.git("checkout", "-q", "main")
    repo.commit({"fragments/testing.md": "# Testing\n\nMain moved on.\n"}, "main")
    repo.git("checkout", "-q", "feature")
    monkeypatch.chdir(repo.root)
    diff = diff_revisions(None)
    assert diff.base.label == "merge-base(HEAD, main)"
    assert diff.base.commit == repo.git("rev-parse", "main~1")
    assert [str(s) for s in diff.sources] == ["fragments/git.md changed"]


def test_no_default_branch_is_a_usage_error(repo: GitRepo) -> None:
    repo.commit(FILES, "first")
    repo.git("branch", "-m", "main", "trunk")
    code, _, err = cli("diff", "--root", str(repo.root))
    assert code == 2
    assert err == (
        "error: no default branch to compare with (tried origin/HEAD, main, master,"
        " origin/main, origin/master); name the base: promptbundle diff BASE\n"
    )


def test_exit_codes_are_zero_unchanged_one_changed_two_on_error(repo: GitRepo) -> None:
    repo.commit(FILES, "first")
    repo.commit({"fragments/git.md": "# Git\n\nChanged.\n"}, "second")
    root = str(repo.root)
    head = repo.git("rev-parse", "HEAD")[:12]
    code, out, _ = cli("diff", "--root", root, "HEAD", "HEAD")
    assert code == 0
    assert out == (
        f"promptbundle diff: HEAD ({head}) → HEAD ({head})\n"
        f"no output changed ({ALL_OUTPUTS} outputs compared)\n"
    )
    assert cli("diff", "--root", root, "HEAD~1", "HEAD")[0] == 1
    code, _, err = cli("diff", "--root", root, "no-such-ref")
    assert code == 2
    assert err == "error: unknown revision 'no-such-ref': git knows no commit by that name\n"


def test_a_folder_outside_git_exits_two(tmp_path: Path) -> None:
    (tmp_path / "promptbundle.toml").write_text(CONFIG)
    code, _, err = cli("diff", "--root", str(tmp_path), "HEAD")
    assert code == 2
    # What follows in parentheses is git's own message.
    assert err.startswith(f"error: {tmp_path} is not inside a git repository (")
    assert err.count("\n") == 1


def test_source_change_that_changes_no_output_is_listed(repo: GitRepo) -> None:
    repo.commit(FILES, "first")
    repo.commit({"fragments/git.md": "# Git\n\nSmall commits.\n{# a comment #}"}, "comment")
    code, out, _ = cli("diff", "--root", str(repo.root), "HEAD~1", "HEAD")
    assert code == 0
    base, head = repo.git("rev-parse", "HEAD~1")[:12], repo.git("rev-parse", "HEAD")[:12]
    assert out == (
        f"promptbundle diff: HEAD~1 ({base}) → HEAD ({head})\n"
        f"no output changed ({ALL_OUTPUTS} outputs compared)\n"
        "\n"
        "changed without changing any output: fragments/git.md changed\n"
    )


def test_stat_prints_counts_without_diffs(repo: GitRepo) -> None:
    repo.commit(FILES, "first")
    repo.commit({"fragments/git.md": "# Git\n\nChanged.\n"}, "second")
    code, out, _ = cli("diff", "--root", str(repo.root), "HEAD~1", "HEAD", "--stat")
    assert code == 1
    base, head = repo.git("rev-parse", "HEAD~1")[:12], repo.git("rev-parse", "HEAD")[:12]
    assert out == (
        f"promptbundle diff: HEAD~1 ({base}) → HEAD ({head})\n"
        "7 outputs changed in 2 agents (7 modified)\n"
        "\n"
        "fragments/git.md changed → 7 outputs in 2 agents\n"
        "  M README.md  +2 -2\n"
        "  M claude-code/agents/beta.md  +1 -1\n"
        "  M claude-code/agents/gamma.md  +1 -1\n"
        "  M claude-plugin/plugins/demo/agents/beta.md  +1 -1\n"
        "  M claude-plugin/plugins/demo/agents/gamma.md  +1 -1\n"
        "  M opencode/agent/beta.md  +1 -1\n"
        "  M opencode/agent/gamma.md  +1 -1\n"
    )
    code, full, _ = cli("diff", "--root", str(repo.root), "HEAD~1", "HEAD")
    assert full.startswith(out) and "\n=== fragments/git.md changed → " in full
    assert "-Small commits.\n+Changed.\n" in full


def test_target_and_agent_filters_narrow_the_comparison(repo: GitRepo) -> None:
    repo.commit(FILES, "first")
    repo.commit({"fragments/testing.md": "# Testing\n\nChanged.\n"}, "second")
    diff = diff_revisions(repo.root, "HEAD~1", "HEAD", targets=["opencode"], agents=["beta"])
    assert paths(diff) == {"opencode/agent/beta.md"}
    code, _, err = cli("diff", "--root", str(repo.root), "HEAD~1", "HEAD", "--agent", "zeta")
    assert code == 2
    assert err == "error: unknown agent 'zeta' in both revisions (agents: alpha, beta, gamma)\n"


def test_a_revision_without_the_bundle_counts_as_no_outputs(repo: GitRepo) -> None:
    repo.commit({"README.md": "nothing yet\n"}, "first")
    repo.commit(FILES, "bundle")
    diff = diff_revisions(repo.root, "HEAD~1", "HEAD")
    assert len(diff.outputs) == ALL_OUTPUTS
    assert {o.status for o in diff.outputs} == {"added"}
    assert diff.notes == (
        "HEAD~1 (" + repo.git("rev-parse", "HEAD~1")[:12] + ") has no "
        "bundle configuration: it counts as no outputs",
    )


def test_bundle_in_a_subfolder_of_the_repository(repo: GitRepo) -> None:
    repo.commit({f"prompts/{k}": v for k, v in FILES.items()}, "first")
    repo.commit({"prompts/fragments/git.md": "# Git\n\nChanged.\n"}, "second")
    diff = diff_revisions(repo.root / "prompts", "HEAD~1", "HEAD")
    assert [str(s) for s in diff.sources] == ["fragments/git.md changed"]


def test_json_format_lists_sources_groups_and_outputs(repo: GitRepo) -> None:
    repo.commit(FILES, "first")
    repo.commit({"fragments/git.md": "# Git\n\nChanged.\n"}, "second")
    code, out, _ = cli("diff", "--root", str(repo.root), "HEAD~1", "HEAD", "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["changed"] is True
    assert data["head"] == {"label": "HEAD", "commit": repo.git("rev-parse", "HEAD")}
    assert data["compared"] == ALL_OUTPUTS
    assert data["summary"] == {"modified": 7, "added": 0, "removed": 0}
    assert data["sources"] == [
        {"path": "fragments/git.md", "status": "modified", "outputs": GIT_OUTPUTS}
    ]
    assert data["groups"] == [
        {
            "title": "fragments/git.md changed → 7 outputs in 2 agents",
            "causes": ["fragments/git.md"],
            "outputs": GIT_OUTPUTS,
            "agents": ["beta", "gamma"],
        }
    ]
    gamma = next(o for o in data["outputs"] if o["path"] == "claude-code/agents/gamma.md")
    assert gamma["causes"] == ["fragments/git.md"]
    assert gamma["diff"] == (
        "--- a/claude-code/agents/gamma.md\n+++ b/claude-code/agents/gamma.md\n"
        "@@ -5,4 +5,4 @@\n"
        " ---\n"
        " # Git\n"
        " \n"
        "-Small commits.\n"
        "+Changed.\n"
    )
    _, stat, _ = cli(
        "diff", "--root", str(repo.root), "HEAD~1", "HEAD", "--format", "json", "--stat"
    )
    stat_gamma = next(
        o for o in json.loads(stat)["outputs"] if o["path"] == "claude-code/agents/gamma.md"
    )
    assert stat_gamma == {key: value for key, value in gamma.items() if key != "diff"}
    assert stat_gamma == {
        "path": "claude-code/agents/gamma.md",
        "status": "modified",
        "target": "claude-code",
        "agent": "gamma",
        "causes": ["fragments/git.md"],
        "added_lines": 1,
        "removed_lines": 1,
    }


def test_markdown_comment_has_marker_table_and_collapsible_diffs(repo: GitRepo) -> None:
    repo.commit(FILES, "first")
    repo.commit({"fragments/git.md": "# Git\n\n```sh\ngit commit\n```\n"}, "fence")
    code, out, _ = cli("diff", "--root", str(repo.root), "HEAD~1", "HEAD", "--format", "markdown")
    assert code == 1
    assert out.startswith(COMMENT_MARKER + "\n### Prompt changes: 7 outputs changed in 2 agents")
    assert "| `fragments/git.md` modified | 7 | 2 | +" in out
    assert "#### fragments/git.md changed → 7 outputs in 2 agents" in out
    assert out.count("<details>") == out.count("</details>")
    summaries = "".join(line for line in out.splitlines() if line.startswith("<details>"))
    changed = paths(diff_revisions(repo.root, "HEAD~1", "HEAD"))
    assert all(f"<code>{path}</code>" in summaries for path in changed)
    # One block per distinct change: README.md's, and beta's and gamma's edits, each the
    # same in every target.
    assert out.count("<details>") == 3 < len(changed)
    assert (
        "<code>claude-code/agents/beta.md</code> · modified · +3 -1 · the same change in"
        " <code>claude-plugin/plugins/demo/agents/beta.md</code>,"
        " <code>opencode/agent/beta.md</code>"
    ) in summaries
    # The diff holds a ``` fence, so the comment's own fence is longer.
    assert "````diff\n--- a/claude-code/agents/gamma.md" in out
    assert "+```sh\n+git commit\n+```\n````\n" in out


def test_markdown_comment_stays_under_githubs_limit_with_a_note(repo: GitRepo) -> None:
    big = "".join(f"- rule {n}: keep the change small and tested\n" for n in range(800))
    repo.commit(FILES, "first")
    repo.commit({"fragments/git.md": big, "fragments/testing.md": big}, "big")
    code, out, _ = cli("diff", "--root", str(repo.root), "HEAD~1", "HEAD", "--format", "markdown")
    assert code == 1
    assert len(out) <= COMMENT_LIMIT
    assert out.startswith(COMMENT_MARKER)
    assert "**Truncated** to 65,536 characters (GitHub refuses comments over 65,536)" in out
    assert out.count("<details>") == out.count("</details>") == 2
    assert out.count("```diff\n") == out.count("\n```\n")


def test_markdown_truncation_cuts_a_diff_and_counts_what_it_left_out(repo: GitRepo) -> None:
    repo.commit({**FILES, "promptbundle.toml": ONE_TARGET}, "first")
    many = "".join(f"line {n} of a long fragment, one rule per line\n" for n in range(400))
    repo.commit({"fragments/git.md": many}, "long")
    diff = diff_revisions(repo.root, "HEAD~1", "HEAD")
    text = format_markdown(diff, limit=6000)
    assert len(text) <= 6000
    assert "diff lines shown" in text
    assert "1 of 3 output diffs shown in full, 1 cut, 1 left out" in text
    assert "<code>claude-code/agents/beta.md</code> · modified · +400 -3 · cut: " in text
    assert f"promptbundle diff {diff.base.short} {diff.head.short}" in text
    assert format_markdown(diff) == format_markdown(diff, limit=10**9)


def test_diff_output_is_deterministic(repo: GitRepo) -> None:
    repo.commit(FILES, "first")
    repo.commit({"fragments/testing.md": "# Testing\n\nChanged.\n"}, "second")
    first = cli("diff", "--root", str(repo.root), "HEAD~1", "HEAD", "--format", "markdown")
    assert cli("diff", "--root", str(repo.root), "HEAD~1", "HEAD", "--format", "markdown") == first


def test_missing_final_newline_is_marked_in_the_diff(repo: GitRepo) -> None:
    repo.commit({**FILES, "promptbundle.toml": ONE_TARGET}, "first")
    repo.commit({"agents/gamma.md": agent("gamma", "No newline").rstrip("\n")}, "second")
    diff = diff_revisions(repo.root, "HEAD~1", "HEAD")
    gamma = next(o for o in diff.outputs if o.path == "claude-code/agents/gamma.md")
    assert gamma.diff.endswith("+No newline\n\\ No newline at end of file\n")


def test_working_tree_that_does_not_build_is_named(repo: GitRepo) -> None:
    repo.commit(FILES, "first")
    repo.write({"fragments/git.md": "{{ nope }}\n"})
    code, out, err = cli("diff", "--root", str(repo.root), "HEAD")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "error: cannot build working tree: the build fails there",
        f"{repo.root.resolve() / 'fragments/git.md'}:1:1: error: 'nope' is undefined "
        "(while rendering agents/beta.md for target claude-code) [PB003]",
    ]


def test_bundle_variable_change_shows_the_bundle_config_as_the_cause(repo: GitRepo) -> None:
    files = {**FILES, "agents/gamma.md": agent("gamma", "Team: {{ team }}.")}
    repo.commit({**files, "promptbundle.toml": CONFIG + '[vars]\nteam = "red"\n'}, "first")
    repo.commit({"promptbundle.toml": CONFIG + '[vars]\nteam = "blue"\n'}, "rename team")
    diff = diff_revisions(repo.root, "HEAD~1", "HEAD")
    assert paths(diff) == {
        "README.md",
        "claude-code/agents/gamma.md",
        "claude-plugin/plugins/demo/agents/gamma.md",
        "opencode/agent/gamma.md",
    }
    group = next(g for g in diff.groups if g.agents == ["gamma"])
    assert [str(c) for c in group.causes] == ["promptbundle.toml changed"]
