"""Incremental builds: only agents whose recorded sources changed are rendered, and the result
is the same bytes as a full build (checked after every step of random edit sequences)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import promptbundle.build.pool
from promptbundle.build.cache import CACHE_FOLDER
from promptbundle.build.incremental import MEMO_FILE, static_loads
from promptbundle.commands.build import run_build
from tests.support import BASIC_CONFIG, BundleFactory, write_tree

FRAGMENTS = ("alpha", "beta", "gamma")
AGENTS = ("one", "two", "three")


def _agent(name: str, fragments: tuple[str, ...], extra: str = "") -> str:
    calls = "\n\n".join(f'{{{{ fragment("{f}") }}}}' for f in fragments)
    return (
        f"---\nname: {name}\ndescription: Agent {name}\nmodel: sonnet\ntools: [Read]\n---\n"
        f"# {name.title()}\n\n{calls}\n\n"
        "{% for item in ['a', 'b'] %}- {{ item }} for {{ target.name }}\n{% endfor %}"
        f"{extra}"
    )


def _files() -> dict[str, str]:
    files: dict[str, str] = {
        "promptbundle.toml": BASIC_CONFIG,
        "targets/opencode.toml": 'format = "opencode"\n',
    }
    for index, name in enumerate(AGENTS):
        files[f"agents/{name}.md"] = _agent(name, FRAGMENTS[: index + 1])
    for name in FRAGMENTS:
        files[f"fragments/{name}.md"] = f"## {name.title()}\n\nAbout {name}.\n"
    return files


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The labels of the agents each build renders (in this process: jobs=1)."""
    labels: list[str] = []
    real = promptbundle.build.pool.render_prompt

    def counting(env: Any, bundle: Any, agent: Any, target: Any) -> Any:
        labels.append(agent.label)
        return real(env, bundle, agent, target)

    monkeypatch.setattr(promptbundle.build.pool, "render_prompt", counting)
    yield labels


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _full_build(root: Path, into: Path) -> dict[str, bytes]:
    """The output folder a build of a clean copy of the sources (no cache, no output) makes."""
    shutil.rmtree(into, ignore_errors=True)
    shutil.copytree(root, into, ignore=shutil.ignore_patterns("dist", CACHE_FOLDER))
    outcome = run_build(into, jobs=1)
    assert outcome.exit_code == 0, outcome.summary
    return _tree(into / "dist")


def _edit(root: Path, step: tuple[str, int, int]) -> None:
    kind, which, value = step
    if kind == "agent":
        name = AGENTS[which % len(AGENTS)]
        uses = tuple(FRAGMENTS[i] for i in range(len(FRAGMENTS)) if (value >> i) & 1)
        (root / f"agents/{name}.md").write_text(_agent(name, uses, f"\nEdit {value}.\n"))
    elif kind == "fragment":
        name = FRAGMENTS[which % len(FRAGMENTS)]
        (root / f"fragments/{name}.md").write_text(f"## {name.title()}\n\nVersion {value}.\n")
    elif kind == "config":
        (root / "promptbundle.toml").write_text(
            BASIC_CONFIG.replace("Demo agents", f"Demo agents {value}")
        )
    else:  # a target option every agent sees
        (root / "targets/opencode.toml").write_text(
            f'format = "opencode"\n[options]\nflavour = "{value}"\n'
        )


STEPS = st.lists(
    st.tuples(
        st.sampled_from(["agent", "fragment", "config", "target"]),
        st.integers(0, 2),
        st.integers(0, 7),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=STEPS)
def test_incremental_builds_equal_full_builds_after_every_edit(
    steps: list[tuple[str, int, int]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_tree(Path(tmp) / "bundle", _files())
        assert run_build(root, jobs=1).exit_code == 0
        for step in steps:
            _edit(root, step)
            outcome = run_build(root, jobs=1)
            assert outcome.exit_code == 0, outcome.summary
            assert _tree(root / "dist") == _full_build(root, Path(tmp) / "full"), step


def test_one_agent_edited_renders_only_that_agent(
    make_bundle: BundleFactory, rendered: list[str]
) -> None:
    root = make_bundle(_files())
    run_build(root, jobs=1)
    assert sorted(set(rendered)) == sorted(AGENTS)
    rendered.clear()
    _edit(root, ("agent", 1, 3))
    outcome = run_build(root, jobs=1)
    assert outcome.exit_code == 0
    assert set(rendered) == {"two"}
    written = outcome.data["written"]
    assert "opencode/agent/two.md" in written
    assert [path for path in written if "two" not in path] == ["README.md"]  # its line count


def test_one_fragment_edited_renders_the_agents_that_include_it(
    make_bundle: BundleFactory, rendered: list[str]
) -> None:
    root = make_bundle(_files())
    run_build(root, jobs=1)
    rendered.clear()
    _edit(root, ("fragment", 2, 5))  # gamma: only agent three includes it
    assert run_build(root, jobs=1).exit_code == 0
    assert set(rendered) == {"three"}


def test_config_change_renders_everything(make_bundle: BundleFactory, rendered: list[str]) -> None:
    root = make_bundle(_files())
    run_build(root, jobs=1)
    rendered.clear()
    _edit(root, ("config", 0, 1))
    assert run_build(root, jobs=1).exit_code == 0
    assert set(rendered) == set(AGENTS)


def test_a_computed_fragment_name_always_renders(
    make_bundle: BundleFactory, rendered: list[str]
) -> None:
    files = _files()
    files["agents/one.md"] = files["agents/one.md"].replace(
        'fragment("alpha")', 'fragment(["al", "pha"] | join)'
    )
    root = make_bundle(files)
    run_build(root, jobs=1)
    rendered.clear()
    _edit(root, ("agent", 1, 3))
    assert run_build(root, jobs=1).exit_code == 0
    assert set(rendered) == {"one", "two"}


def test_an_output_changed_in_the_folder_is_rendered_again(
    make_bundle: BundleFactory, rendered: list[str]
) -> None:
    root = make_bundle(_files())
    run_build(root, jobs=1)
    expected = _tree(root / "dist")
    (root / "dist/opencode/agent/one.md").write_text("changed by hand\n")
    (root / "dist/claude-code/agents/three.md").unlink()
    rendered.clear()
    assert run_build(root, jobs=1).exit_code == 0
    assert set(rendered) == {"one", "three"}
    assert _tree(root / "dist") == expected


@pytest.mark.parametrize("content", [b"{not json", b"[" * 100_000, b'{"key": 1}', b""])
def test_an_unreadable_memo_means_a_full_build(
    make_bundle: BundleFactory, rendered: list[str], content: bytes
) -> None:
    root = make_bundle(_files())
    run_build(root, jobs=1)
    expected = _tree(root / "dist")
    (root / CACHE_FOLDER / MEMO_FILE).write_bytes(content)
    _edit(root, ("fragment", 0, 1))
    _edit(root, ("fragment", 0, 0))  # back to other bytes than the first build's
    rendered.clear()
    assert run_build(root, jobs=1).exit_code == 0
    assert set(rendered) == set(AGENTS)
    assert _tree(root / "dist").keys() == expected.keys()


@pytest.mark.parametrize(
    ("text", "static"),
    [
        ("plain text, no template", True),
        ("{{ fragment(\"a\") }}\n{{ fragment('b', level=2) }}", True),
        ('{% include "x.md" %}{% import "m.md" as m %}{% from "m.md" import f %}', True),
        ("a fragment of prose {{ name }}", True),
        ("{{ fragment(name) }}", False),
        ('{{ fragment("a" ~ suffix) }}', False),
        ("{% include name %}", False),
        ('{% include "x.md" ignore missing %}', False),
        ('{% include ["a.md", "b.md"] %}', False),
        ("{% set f = fragment %}{{ f('a') }}", False),
        ("{% extends parent %}", False),
    ],
)
def test_static_loads(text: str, static: bool) -> None:
    assert static_loads(text) is static


def test_jobs_give_the_same_incremental_result(make_bundle: BundleFactory) -> None:
    files = _files()
    for index in range(90):  # enough agents for two processes
        files[f"agents/extra{index:02}.md"] = _agent(f"extra{index:02}", FRAGMENTS[: index % 3])
    root = make_bundle(files)
    assert run_build(root, jobs=2).exit_code == 0
    _edit(root, ("fragment", 1, 4))
    assert run_build(root, jobs=2).exit_code == 0
    assert _tree(root / "dist") == _full_build(root, root.parent / "full")
