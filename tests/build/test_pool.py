"""Rendering in several processes gives the same build as one; target-free renders are shared."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from promptbundle.build import pool as renderpool
from promptbundle.build.pipeline import build_outputs, load
from promptbundle.commands.build import run_build
from promptbundle.core.errors import PromptBundleError
from tests.support import BundleFactory


def _agent(name: str, body: str) -> str:
    return (
        f"---\nname: {name}\ndescription: Prompt {name}\nmodel: sonnet\n"
        f"tools: [Read, NotebookEdit]\nvars: {{n: {len(name)}}}\n---\n{body}"
    )


def _bundle(make_bundle: BundleFactory, count: int = 9) -> Path:
    files = {
        f"agents/a{i}.md": _agent(f"a{i}", f'# A{i}\n\n{{{{ fragment("shared", level=2) }}}}\n')
        for i in range(count)
    }
    files["agents/t.md"] = _agent("t", "Built for {{ target.name }}.\n")
    files["fragments/shared.md"] = "# Shared\n\nFor {{ agent.name }} ({{ n }}).\n"
    return make_bundle(files)


@pytest.fixture
def small_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let even a tiny bundle use several processes."""
    monkeypatch.setattr(renderpool, "MIN_AGENTS_PER_JOB", 1)


def _snapshot(root: Path, jobs: int) -> tuple[list[object], list[str], list[str]]:
    result = build_outputs(load(root), jobs=jobs)
    return (
        [(o.path, o.content, o.target, o.agent, o.sources) for o in result.outputs],
        [str(x) for x in result.lossy],
        [d.line() for d in result.diagnostics],
    )


@pytest.mark.usefixtures("small_slices")
def test_outputs_lossiness_and_diagnostics_do_not_depend_on_jobs(
    make_bundle: BundleFactory,
) -> None:
    root = _bundle(make_bundle)
    one = _snapshot(root, 1)
    outputs, lossy, diagnostics = one
    # 10 agents in claude-code, claude-plugin and opencode, the plugin and marketplace
    # manifests and the catalog; opencode drops NotebookEdit from each agent's tools.
    assert (len(outputs), len(lossy), diagnostics) == (33, 10, [])
    for jobs in (2, 3, 7):
        assert _snapshot(root, jobs) == one


@pytest.mark.usefixtures("small_slices")
def test_written_output_folder_does_not_depend_on_jobs(make_bundle: BundleFactory) -> None:
    root = _bundle(make_bundle)
    trees = []
    for jobs in (1, 3):
        run_build(root, jobs=jobs)
        dist = root / "dist"
        trees.append(
            {
                p.relative_to(dist): p.read_bytes()
                for p in dist.rglob("*")
                if p.is_file() and p.parent.name != "schemas"
            }
        )
        shutil.rmtree(dist)
    assert len(trees[0]) == 34  # 33 outputs and the manifest
    assert trees[0] == trees[1]


@pytest.mark.usefixtures("small_slices")
def test_errors_are_reported_the_same_way_with_any_jobs(make_bundle: BundleFactory) -> None:
    root = _bundle(make_bundle)
    (root / "agents/a3.md").write_text(_agent("a3", "{{ missing }}\n"), encoding="utf-8")
    (root / "agents/a7.md").write_text(_agent("a7", "{{ 1 / 0 }}\n"), encoding="utf-8")
    reports = []
    for jobs in (1, 2, 4):
        with pytest.raises(PromptBundleError) as caught:
            build_outputs(load(root), jobs=jobs)
        reports.append(caught.value.lines())
    assert reports[0] == reports[1] == reports[2]
    assert reports[0] == [
        f"{root / 'agents/a3.md'}:8:1: error: 'missing' is undefined [PB003]",
        f"{root / 'agents/a7.md'}:8:1: error: division by zero [PB003]",
    ]


def test_small_bundles_render_in_this_process(
    make_bundle: BundleFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a process pool was started")

    monkeypatch.setattr(renderpool, "ProcessPoolExecutor", no_pool)
    build_outputs(load(_bundle(make_bundle)), jobs=8)


def test_a_body_without_target_is_rendered_once_for_every_target(
    make_bundle: BundleFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _bundle(make_bundle, count=2)
    rendered: list[str] = []
    real = renderpool.render_prompt

    def counting(env: object, bundle: object, agent: object, target: object) -> object:
        rendered.append(agent.id)  # type: ignore[attr-defined]
        return real(env, bundle, agent, target)  # type: ignore[arg-type]

    monkeypatch.setattr(renderpool, "render_prompt", counting)
    result = build_outputs(load(root))
    names = [t.name for t in result.bundle.config.targets]
    assert names == ["agent-skill", "claude-code", "claude-plugin", "opencode", "skill-table"]
    # Agents are built by claude-code, claude-plugin and opencode (agent-skill and
    # skill-table convert none here); no template of a0 or a1 mentions `target`.
    assert rendered == ["a0", "a1", "t", "t", "t"]
    bodies = {o.path: o.content for o in result.outputs if o.agent == "t"}
    assert b"Built for claude-code." in bodies["claude-code/agents/t.md"]
    assert b"Built for opencode." in bodies["opencode/agent/t.md"]


def test_a_fragment_that_uses_target_is_rendered_per_target(make_bundle: BundleFactory) -> None:
    root = make_bundle(
        {
            "agents/a.md": _agent("a", '{{ fragment("where") }}\n'),
            "fragments/where.md": "Target: {{ target.name }}\n",
        }
    )
    result = build_outputs(load(root))
    claude = next(o for o in result.outputs if o.path == "claude-code/agents/a.md")
    opencode = next(o for o in result.outputs if o.path == "opencode/agent/a.md")
    assert b"Target: claude-code" in claude.content
    assert b"Target: opencode" in opencode.content


@pytest.mark.usefixtures("small_slices")
def test_a_shared_fragment_error_names_the_same_agent_with_any_jobs(
    make_bundle: BundleFactory,
) -> None:
    """The error is reported once, for the first (target, agent) one process would meet."""
    root = _bundle(make_bundle)
    for name, target in (("a2", "opencode"), ("a7", "claude-code")):
        text = _agent(name, '{{ fragment("broken") }}\n').replace(
            "model: sonnet", f"model: sonnet\ntargets: [{target}]"
        )
        (root / f"agents/{name}.md").write_text(text, encoding="utf-8")
    (root / "fragments/broken.md").write_text("{{ missing }}\n", encoding="utf-8")
    for jobs in (1, 2, 3):
        with pytest.raises(PromptBundleError) as caught:
            build_outputs(load(root), jobs=jobs)
        assert caught.value.lines() == [
            f"{root / 'fragments/broken.md'}:1:1: error: 'missing' is undefined "
            "(while rendering agents/a7.md for target claude-code) [PB003]"
        ]


def _outputs(root: Path, cache: Path | None) -> dict[str, bytes]:
    return {o.path: o.content for o in build_outputs(load(root), cache_dir=cache).outputs}


@pytest.mark.parametrize("jobs", [1, 3])
def test_kept_headings_give_the_same_outputs_as_a_fresh_parse(
    make_bundle: BundleFactory, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    monkeypatch.setattr(renderpool, "MIN_AGENTS_PER_JOB", 1)
    root = _bundle(make_bundle)
    cache = root / ".cache"
    (root / "fragments/shared.md").write_text("## Shared\n\n### Deeper\n", encoding="utf-8")
    build_outputs(load(root), cache_dir=cache, jobs=jobs)
    # As many lines as before, and the heading moved: only the text itself can be the key.
    (root / "fragments/shared.md").write_text("Shared\n\n# Deeper\n", encoding="utf-8")
    assert _outputs(root, cache) == _outputs(root, None)
    assert b"Shared\n\n## Deeper\n" in _outputs(root, cache)["claude-code/agents/a1.md"]


def test_the_heading_file_keeps_only_what_the_last_build_used(
    make_bundle: BundleFactory,
) -> None:
    root = _bundle(make_bundle, count=2)
    cache = root / ".cache"
    build_outputs(load(root), cache_dir=cache)
    first = json.loads((cache / renderpool.HEADINGS_FILE).read_text(encoding="utf-8"))
    assert len(first["headings"]) == 2  # one rendered fragment text per agent
    (root / "agents/a1.md").unlink()
    build_outputs(load(root), cache_dir=cache)
    second = json.loads((cache / renderpool.HEADINGS_FILE).read_text(encoding="utf-8"))
    assert len(second["headings"]) == 1


@pytest.mark.parametrize("content", ["not json", '{"markdown-it-py": "0.0", "headings": {}}'])
def test_an_unreadable_or_foreign_heading_file_is_ignored(
    make_bundle: BundleFactory, content: str
) -> None:
    root = _bundle(make_bundle, count=2)
    cache = root / ".cache"
    cache.mkdir()
    (cache / renderpool.HEADINGS_FILE).write_text(content, encoding="utf-8")
    assert _outputs(root, cache) == _outputs(root, None)
