"""The no-op build: it stops early only when nothing it read or wrote has changed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import promptbundle.build.pipeline
import promptbundle.commands.rebuild
import promptbundle.core.errors
from promptbundle.build import cache as buildcache
from promptbundle.build.cache import CACHE_FOLDER, STATE_FILE
from promptbundle.commands.build import run_build
from tests.support import BundleFactory

AGENT = """\
---
name: alpha
description: Alpha agent
model: sonnet
tools: [Read, Bash]
---
# Alpha

{{ fragment("testing", level=2) }}
"""

FILES = {
    "agents/alpha.md": AGENT,
    "agents/beta.md": AGENT.replace("alpha", "beta").replace("Alpha", "Beta"),
    "fragments/testing.md": "# Testing\n\nRun pytest.\n",
    "targets/opencode.toml": 'format = "opencode"\n',
}
# Alpha with a key opencode drops: a build with a lossy line to report (or fail with --strict).
LOSSY = AGENT.replace("model: sonnet", "model: sonnet\nopencode: {bogus: 1}")


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts real builds (calls of build_outputs, in memory or staged)."""
    calls: list[int] = []
    for module, name in (
        (promptbundle.build.pipeline, "build_outputs"),
        (promptbundle.commands.rebuild, "build_outputs"),
    ):
        real = getattr(module, name)

        def counting(*args: object, _real: Any = real, **kwargs: object) -> object:
            calls.append(1)
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, counting)
    yield calls


def _age(root: Path, seconds: int = 10) -> None:
    """Make every file look older, so the test's next edits get a later mtime for sure."""
    for folder, dirs, names in os.walk(root):
        for name in [*dirs, *names]:
            path = os.path.join(folder, name)
            st = os.stat(path)
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - seconds * 10**9))


def _built(root: Path) -> Path:
    """Build for real, then age the tree (as if the build were a while ago)."""
    run_build(root)
    _age(root)
    run_build(root)  # records the aged tree
    return root


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_second_build_with_nothing_changed_does_not_render(
    make_bundle: BundleFactory, renders: list[int]
) -> None:
    root = make_bundle({**FILES, "agents/alpha.md": LOSSY})
    first = run_build(root)
    _age(root)
    renders.clear()
    second = run_build(root)
    third = run_build(root)
    assert len(renders) == 1  # the second build renders (the tree was aged), the third does not
    assert third.summary == second.summary
    assert third.summary == (
        "built 9 outputs for 2 prompts into dist/: 0 written, 9 unchanged, 0 removed;"
        " 1 field(s) dropped by formats (see 'lossy:' lines)"
    )
    assert third.messages == first.messages == []


def test_no_op_build_reports_what_a_real_no_op_build_reports(
    make_bundle: BundleFactory, renders: list[int]
) -> None:
    gamma = AGENT.replace("alpha", "gamma")
    root = _built(make_bundle({**FILES, "agents/alpha.md": LOSSY, "agents/gamma.md": gamma}))
    renders.clear()
    fast = run_build(root)
    assert renders == []
    (root / CACHE_FOLDER / STATE_FILE).unlink()
    slow = run_build(root)
    assert renders == [1]
    assert (fast.summary, fast.messages) == (slow.summary, slow.messages)


@pytest.mark.parametrize(
    ("edit", "expect"),
    [
        ("fragments/testing.md", ("claude-code/agents/alpha.md", "Run tox.")),
        ("agents/alpha.md", ("claude-code/agents/alpha.md", "Edited alpha.")),
        ("targets/opencode.toml", ("opencode/agent/alpha.md", "acme/opus-x")),
        ("promptbundle.toml", ("README.md", "# demo 9.9.9")),
    ],
)
def test_an_edited_source_rebuilds(
    make_bundle: BundleFactory, renders: list[int], edit: str, expect: tuple[str, str]
) -> None:
    root = _built(make_bundle(FILES))
    path = root / edit
    text = path.read_text(encoding="utf-8")
    edits = {
        "fragments/testing.md": text.replace("pytest", "tox"),
        "agents/alpha.md": text + "\nEdited alpha.\n",
        "targets/opencode.toml": text + '[models]\nsonnet = "acme/opus-x"\n',
        "promptbundle.toml": text.replace('"1.2.3"', '"9.9.9"'),
    }
    _write(path, edits[edit])
    renders.clear()
    run_build(root)
    assert renders == [1]
    output, needle = expect
    assert needle in (root / "dist" / output).read_text(encoding="utf-8")


def test_a_new_fragment_in_a_new_subfolder_rebuilds(
    make_bundle: BundleFactory, renders: list[int]
) -> None:
    root = _built(make_bundle(FILES))
    _write(root / "fragments/extra/more.md", "More.\n")
    renders.clear()
    run_build(root)
    assert renders == [1]


def test_a_new_agent_rebuilds(make_bundle: BundleFactory, renders: list[int]) -> None:
    root = _built(make_bundle(FILES))
    _write(root / "agents/gamma.md", AGENT.replace("alpha", "gamma"))
    renders.clear()
    run_build(root)
    assert renders == [1]
    assert (root / "dist/claude-code/agents/gamma.md").is_file()


@pytest.mark.parametrize(
    ("rel", "text"),
    [
        ("skills/s/SKILL.md", "---\nname: s\ndescription: A skill\n---\nBody\n"),
        ("commands/go.md", "Go.\n"),
        ("rules/style.md", "Be brief.\n"),
        ("files/notes.txt", "carried\n"),
        ("plugins/p/plugin.toml", 'name = "p"\n'),
    ],
)
def test_a_new_source_of_any_kind_rebuilds(
    make_bundle: BundleFactory, renders: list[int], rel: str, text: str
) -> None:
    root = _built(make_bundle(FILES))
    _write(root / rel, text)
    renders.clear()
    run_build(root)
    assert renders == [1]


def test_a_deleted_agent_rebuilds_and_its_outputs_go(
    make_bundle: BundleFactory, renders: list[int]
) -> None:
    root = _built(make_bundle(FILES))
    (root / "agents/beta.md").unlink()
    renders.clear()
    run_build(root)
    assert renders == [1]
    assert not (root / "dist/claude-code/agents/beta.md").exists()


@pytest.mark.parametrize("change", ["delete", "edit", "same-size edit", "add", "delete folder"])
def test_a_changed_output_folder_rebuilds(
    make_bundle: BundleFactory, renders: list[int], change: str
) -> None:
    root = _built(make_bundle(FILES))
    dist = root / "dist"
    target = dist / "claude-code/agents/alpha.md"
    expected = target.read_bytes()
    if change == "delete":
        target.unlink()
    elif change == "edit":
        target.write_text("tampered\n", encoding="utf-8")
    elif change == "same-size edit":
        target.write_bytes(expected.replace(b"Alpha", b"ALPHA"))
    elif change == "add":
        (dist / "claude-code/agents/stray.md").write_text("stray\n", encoding="utf-8")
    else:
        for path in sorted((dist / "opencode").rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        (dist / "opencode").rmdir()
    renders.clear()
    run_build(root)
    assert renders == [1]
    assert target.read_bytes() == expected
    assert not (dist / "claude-code/agents/stray.md").exists()
    assert (dist / "opencode/agent/alpha.md").is_file()


def test_an_output_written_in_the_recording_tick_is_checked_by_content(
    make_bundle: BundleFactory, renders: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same size and mtime (an edit within the tick the record was made in): the content
    fingerprint kept for such fresh outputs still tells."""
    root = make_bundle(FILES)
    run_build(root)
    _age(root)
    real_tick = buildcache._tick
    calls: list[Path] = []

    def tick(folder: Path) -> int:
        calls.append(folder)  # the build starts now; the record is made "at the epoch"
        return real_tick(folder) if len(calls) == 1 else 0

    monkeypatch.setattr(buildcache, "_tick", tick)
    run_build(root)
    monkeypatch.setattr(buildcache, "_tick", real_tick)
    renders.clear()
    run_build(root)
    assert renders == []  # fingerprints match: still a no-op
    target = root / "dist/claude-code/agents/alpha.md"
    st = target.stat()
    target.write_bytes(target.read_bytes().replace(b"Alpha", b"ALPHA"))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    run_build(root)
    assert renders == [1]
    assert b"# Alpha" in target.read_bytes()


def test_strict_and_plain_builds_do_not_share_a_record(
    make_bundle: BundleFactory, renders: list[int]
) -> None:
    root = _built(make_bundle({**FILES, "agents/alpha.md": LOSSY}))
    renders.clear()
    with pytest.raises(promptbundle.core.errors.PromptBundleError) as info:
        run_build(root, strict=True)
    assert info.value.message == "build failed: 1 dropped field(s) with --strict; nothing written"
    assert renders == [1]


def test_partial_and_check_builds_never_stop_early(
    make_bundle: BundleFactory, renders: list[int]
) -> None:
    root = _built(make_bundle(FILES))
    renders.clear()
    run_build(root, targets=["claude-code"])
    assert run_build(root, check=True).exit_code == 0
    assert renders == [1, 1]


def test_a_failed_build_is_not_skipped_next_time(
    make_bundle: BundleFactory, renders: list[int]
) -> None:
    root = _built(make_bundle(FILES))
    _write(root / "fragments/testing.md", "{{ undefined_name }}\n")
    renders.clear()
    for _ in range(2):
        with pytest.raises(promptbundle.core.errors.PromptBundleError) as info:
            run_build(root)
        assert info.value.message == (
            "'undefined_name' is undefined (while rendering agents/alpha.md for target claude-code)"
        )
    assert renders == [1, 1]


def test_the_cache_folder_ignores_itself_in_git(make_bundle: BundleFactory) -> None:
    root = make_bundle(FILES)
    run_build(root)
    gitignore = (root / CACHE_FOLDER / ".gitignore").read_text(encoding="utf-8")
    assert gitignore == "# Created by promptbundle.\n*\n"


def test_compiled_templates_are_cached_and_a_changed_source_is_recompiled(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle(FILES)
    run_build(root)
    cached = list((root / CACHE_FOLDER / "templates").iterdir())
    assert len(cached) == 3  # two agents, one fragment
    _write(root / "fragments/testing.md", "# Testing\n\nRun nox.\n")
    run_build(root)
    assert "Run nox." in (root / "dist/claude-code/agents/alpha.md").read_text(encoding="utf-8")


def test_a_folder_without_a_bundle_gets_no_cache_folder(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
    with pytest.raises(promptbundle.core.errors.PromptBundleError) as info:
        run_build(tmp_path)
    assert info.value.message == (
        f"{tmp_path} has no promptbundle.toml and no [tool.promptbundle] in pyproject.toml"
    )
    assert not (tmp_path / CACHE_FOLDER).exists()
