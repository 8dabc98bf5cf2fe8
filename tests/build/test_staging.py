"""Writing builds stage outputs on disk: the same result as in memory, dist/ changes last."""

from __future__ import annotations

import errno
import hashlib
import os
import re
from pathlib import Path

import pytest

from promptbundle.build import pool as renderpool
from promptbundle.build import staging
from promptbundle.build.cache import CACHE_FOLDER
from promptbundle.build.emit import check_outputs
from promptbundle.build.pipeline import build_outputs, load
from promptbundle.build.staging import staging_folder
from promptbundle.commands.build import run_build
from promptbundle.core.errors import BuildFailedError, PromptBundleError
from tests.support import BundleFactory


def _agent(name: str, extra: str = "") -> str:
    return (
        f"---\nname: {name}\ndescription: Prompt {name}\nmodel: sonnet\n"
        f"tools: [Read, NotebookEdit]\n{extra}---\n"
        f'# {name}\n\n{{{{ fragment("shared", level=2) }}}}\n'
    )


# A warning one agent accepts (PB112) and the other does not.
WARNED = "claude-plugin: {capabilities: [review]}\n"


def _bundle(make_bundle: BundleFactory, count: int = 7) -> Path:
    files = {f"agents/a{i}.md": _agent(f"a{i}") for i in range(count)}
    files["agents/w.md"] = _agent("w", WARNED)
    files["agents/s.md"] = _agent("s", WARNED + "suppress: [PB112]\n")
    files["agents/t.md"] = "---\nname: t\ndescription: T\n---\nBuilt for {{ target.name }}.\n"
    files["fragments/shared.md"] = "# Shared\n\nFor {{ agent.name }}.\n"
    return make_bundle(files)


@pytest.fixture
def small_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let even a tiny bundle use several processes."""
    monkeypatch.setattr(renderpool, "MIN_AGENTS_PER_JOB", 1)


def _dist(root: Path) -> dict[str, bytes]:
    dist = root / "dist"
    # schemas/ holds the editor schemas a build keeps there: not outputs.
    return {
        p.relative_to(dist).as_posix(): p.read_bytes()
        for p in dist.rglob("*")
        if p.is_file() and not p.relative_to(dist).as_posix().startswith("schemas/")
    }


def _stamps(root: Path) -> dict[Path, tuple[bytes, int]]:
    files = [p for p in (root / "dist").rglob("*") if p.is_file()]
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files}


def _staging_folders(root: Path) -> list[Path]:
    return sorted((root / CACHE_FOLDER).glob("staging-*"))


@pytest.mark.usefixtures("small_slices")
@pytest.mark.parametrize("jobs", [1, 3])
def test_staged_outputs_match_the_in_memory_build(
    make_bundle: BundleFactory, tmp_path: Path, jobs: int
) -> None:
    root = _bundle(make_bundle)
    bundle = load(root)
    expected = build_outputs(bundle)
    with staging_folder(tmp_path) as folder:
        staged = build_outputs(bundle, jobs=jobs, stage_into=folder)
        assert [o.path for o in staged.outputs] == [o.path for o in expected.outputs]
        for made, want in zip(staged.outputs, expected.outputs, strict=True):
            assert (made.target, made.agent) == (want.target, want.agent)
            assert made.sources == want.sources
            assert made.size == len(want.content)
            assert made.sha256 == hashlib.sha256(want.content).hexdigest()
            assert (folder / made.path).read_bytes() == want.content
    assert [d.line() for d in staged.diagnostics] == [d.line() for d in expected.diagnostics]
    assert [d.code for d in staged.suppressed] == ["PB112"]
    assert staged.suppressed == expected.suppressed
    assert staged.lossy == expected.lossy
    assert len(staged.lossy) == 9  # opencode drops NotebookEdit of the nine agents with tools
    assert not folder.exists()


@pytest.mark.usefixtures("small_slices")
def test_written_folder_is_what_the_in_memory_build_expects_with_any_jobs(
    make_bundle: BundleFactory,
) -> None:
    root = _bundle(make_bundle)
    trees = []
    for jobs in (1, 3):
        outcome = run_build(root, jobs=jobs)
        assert check_outputs(load(root).config, build_outputs(load(root)).outputs).clean
        trees.append((_dist(root), outcome.messages, outcome.notes))
        assert _staging_folders(root) == []
        (root / "dist" / "manifest.json").unlink()
        for path in sorted((root / "dist").rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
    assert len(trees[0][0]) == 34  # 33 outputs and the manifest
    assert trees[0] == trees[1]


def test_staged_files_are_readable_by_everyone(make_bundle: BundleFactory) -> None:
    root = _bundle(make_bundle, count=1)
    old = os.umask(0o077)
    try:
        run_build(root)
    finally:
        os.umask(old)
    assert (root / "dist/claude-code/agents/a0.md").stat().st_mode & 0o777 == 0o644


@pytest.mark.usefixtures("small_slices")
@pytest.mark.parametrize("jobs", [1, 3])
def test_an_invalid_output_changes_nothing_in_the_output_folder(
    make_bundle: BundleFactory, jobs: int
) -> None:
    root = _bundle(make_bundle)
    run_build(root, jobs=jobs)
    before = _stamps(root)
    (root / "fragments/shared.md").write_text("# Shared\n\nChanged for {{ agent.name }}.\n")
    (root / "agents/a3.md").write_text(_agent("a3", "opencode: {mode: bogus}\n"))
    with pytest.raises(BuildFailedError) as info:
        run_build(root, jobs=jobs)
    assert info.value.message == "build failed: 1 error(s); nothing written"
    assert _stamps(root) == before
    assert _staging_folders(root) == []


def test_a_render_error_leaves_no_staging_folder(make_bundle: BundleFactory) -> None:
    root = _bundle(make_bundle, count=1)
    run_build(root)
    before = _dist(root)
    (root / "fragments/shared.md").write_text("# Shared\n\n{{ missing }}\n")
    with pytest.raises(PromptBundleError) as info:
        run_build(root)
    assert info.value.message == (
        "'missing' is undefined (while rendering agents/a0.md for target claude-code)"
    )
    assert _dist(root) == before
    assert _staging_folders(root) == []


def test_outputs_colliding_as_file_and_folder_change_nothing(
    make_bundle: BundleFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _bundle(make_bundle, count=1)
    run_build(root)
    before = _dist(root)
    real = staging.Stager.keep

    def colliding(self: staging.Stager, output: staging.OutputFile) -> staging.StagedOutput:
        if output.path.endswith("a0.md"):  # a file where another output needs a folder
            (self.folder / "claude-code/agents/w.md").mkdir(parents=True, exist_ok=True)
        return real(self, output)

    monkeypatch.setattr(staging.Stager, "keep", colliding)
    (root / "fragments/shared.md").write_text("# Shared\n\nChanged.\n")
    with pytest.raises(PromptBundleError) as info:
        run_build(root, jobs=1)
    assert re.fullmatch(
        r"cannot stage claude-code/agents/w\.md: \[Errno \d+\] Is a directory: "
        r"'.*/staging-[^/]+/claude-code/agents/w\.md'",
        info.value.message,
    )
    assert _dist(root) == before
    assert _staging_folders(root) == []


def test_an_output_folder_on_another_filesystem_is_written_by_copy(
    make_bundle: BundleFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _bundle(make_bundle, count=2)
    run_build(root)
    expected = _dist(root)
    for path in sorted((root / "dist").rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    real = os.replace
    renames: list[str] = []

    def cross_device(src: str | Path, dst: str | Path) -> None:
        if "staging-" in str(src):
            renames.append(str(dst))
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real(src, dst)

    monkeypatch.setattr(staging, "can_switch", lambda staged, out_dir: False)
    monkeypatch.setattr(staging.os, "replace", cross_device)
    outcome = run_build(root)
    assert len(renames) == 18
    assert outcome.summary == (
        "built 18 outputs for 5 prompts into dist/: 18 written, 0 unchanged, 0 removed;"
        " 4 field(s) dropped by formats (see 'lossy:' lines)"
    )
    assert _dist(root) == expected


def test_temporary_files_killed_builds_left_are_removed(make_bundle: BundleFactory) -> None:
    root = _bundle(make_bundle, count=1)
    run_build(root)
    cache = root / CACHE_FOLDER
    left = [
        cache / ".pb-x1y2.tmp",  # core.files.atomic_write
        cache / "headings.json.4242.tmp",  # build/pool.py
        cache / "templates/__jinja2_0123.cacheab12.tmp",  # jinja2's bytecode cache
    ]
    for path in left:
        path.write_bytes(b"half")
    (cache / "templates/keep.cache").write_bytes(b"kept")
    (root / "fragments/shared.md").write_text("# Shared\n\nChanged.\n")
    outcome = run_build(root)
    assert [path for path in left if path.exists()] == []
    assert (cache / "templates/keep.cache").read_bytes() == b"kept"
    assert not any("cannot remove" in line for line in outcome.messages)


def test_a_temporary_file_that_cannot_be_removed_is_a_warning(
    make_bundle: BundleFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _bundle(make_bundle, count=1)
    monkeypatch.chdir(root)
    run_build(root)
    (root / CACHE_FOLDER / ".pb-stuck.tmp").write_bytes(b"half")
    real = os.unlink

    def refuse(path: str | Path, *args: object, **kwargs: object) -> None:
        if str(path).endswith(".pb-stuck.tmp"):
            raise OSError(errno.EACCES, "Permission denied")
        real(path)

    monkeypatch.setattr(staging.os, "unlink", refuse)
    (root / "fragments/shared.md").write_text("# Shared\n\nChanged.\n")
    outcome = run_build(root)
    assert outcome.messages[-1] == (
        ".promptbundle-cache/.pb-stuck.tmp:1:1: warning: cannot remove the temporary file an "
        "interrupted build left: [Errno 13] Permission denied"
    )
