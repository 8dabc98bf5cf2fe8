"""A build writes nothing through a symbolic link that leads out of the bundle."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptbundle.build.cache import CACHE_FOLDER
from promptbundle.commands.build import run_build
from promptbundle.core.errors import PromptBundleError
from tests.support import BASIC_CONFIG, BundleFactory

AGENT = "---\nname: alpha\ndescription: Prompt alpha\nmodel: sonnet\n---\n# alpha\n\nWork.\n"


@pytest.fixture
def root(make_bundle: BundleFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = make_bundle({"agents/alpha.md": AGENT})
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the bundle, with a file in it."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "theirs.txt").write_text("theirs")
    return folder


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def _refused(root: Path, link: str, target: Path, **options: bool) -> None:
    """The build fails naming the link and where it leads, and writes nothing there."""
    watched = target if target.is_dir() else target.parent
    before = _snapshot(watched)
    with pytest.raises(PromptBundleError) as info:
        run_build(root, jobs=1, **options)
    assert info.value.lines() == [
        f"{link}:1:1: error: {link} is a symbolic link to {target.resolve()}, outside the "
        "bundle: a build writes nothing through it; remove the link [PB310]"
    ]
    assert _snapshot(watched) == before
    cache = root / CACHE_FOLDER
    assert [p for p in cache.glob("staging-*") if not p.is_symlink()] == []


def test_a_linked_output_folder_is_refused(root: Path, outside: Path) -> None:
    (root / "dist").symlink_to(outside, target_is_directory=True)
    _refused(root, "dist", outside)


def test_a_folder_on_the_way_to_the_output_folder_is_refused(
    make_bundle: BundleFactory, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = make_bundle(
        {"agents/alpha.md": AGENT, "promptbundle.toml": BASIC_CONFIG + 'out = "site/dist"\n'}
    )
    monkeypatch.chdir(folder)
    (folder / "site").symlink_to(outside, target_is_directory=True)
    _refused(folder, "site", outside)
    assert not (outside / "dist").exists()


def test_a_linked_cache_folder_is_refused(root: Path, outside: Path) -> None:
    (root / CACHE_FOLDER).symlink_to(outside, target_is_directory=True)
    _refused(root, CACHE_FOLDER, outside)
    _refused(root, CACHE_FOLDER, outside, check=True)


@pytest.mark.parametrize("name", ["build.lock", "build-state.json", "build-started"])
def test_a_linked_file_in_the_cache_is_refused(root: Path, outside: Path, name: str) -> None:
    run_build(root, jobs=1)
    (root / "agents/alpha.md").write_text(AGENT.replace("Work.", "Other work."))
    link = root / CACHE_FOLDER / name
    link.unlink()
    link.symlink_to(outside / "theirs.txt")
    _refused(root, f"{CACHE_FOLDER}/{name}", outside / "theirs.txt")
    assert not (root / "dist/claude-code/agents/alpha.md").read_text().count("Other")


@pytest.mark.parametrize("name", ["templates", "staging-left"])
def test_a_linked_folder_in_the_cache_is_refused(root: Path, outside: Path, name: str) -> None:
    (root / CACHE_FOLDER).mkdir()
    (root / CACHE_FOLDER / name).symlink_to(outside, target_is_directory=True)
    _refused(root, f"{CACHE_FOLDER}/{name}", outside)
    assert not (root / "dist").exists()


def test_a_link_inside_the_bundle_is_followed(root: Path) -> None:
    (root / "site").mkdir()
    (root / "dist").symlink_to(root / "site", target_is_directory=True)
    run_build(root, jobs=1)
    assert (root / "dist").is_symlink()
    assert (root / "site/claude-code/agents/alpha.md").is_file()
    (root / "agents/alpha.md").write_text(AGENT.replace("Work.", "Other work."))
    run_build(root, jobs=1)
    assert (root / "dist").is_symlink()
    assert "Other work." in (root / "site/claude-code/agents/alpha.md").read_text()
    assert list((root / CACHE_FOLDER).glob("staging-*")) == []
