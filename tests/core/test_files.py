"""Paths kept inside their folder: plain relative paths, no symbolic link leading out."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from promptbundle.core.errors import BundleError, ErrorGroup, Location
from promptbundle.core.files import (
    check_no_symlink_escape,
    check_paths_inside,
    file_sha256,
    resolve_inside,
    sha256,
)


def test_a_plain_path_inside_the_root_resolves(tmp_path: Path) -> None:
    assert resolve_inside(tmp_path, "a/b.md") == tmp_path / "a/b.md"


@pytest.mark.parametrize(
    "rel", ["", ".", "a/./b", "a//b", "../x", "a/../../x", "/etc/passwd", "a\\b", "C:x", "a\0b"]
)
def test_a_path_that_is_not_plain_and_relative_is_refused(tmp_path: Path, rel: str) -> None:
    with pytest.raises(BundleError) as caught:
        resolve_inside(tmp_path, rel)
    assert caught.value.code == "PB307"
    assert caught.value.message == f"{rel!r} is not a relative path inside {tmp_path}"
    assert caught.value.location == Location(tmp_path)


def test_a_folder_link_leading_outside_is_refused_at_the_link(tmp_path: Path) -> None:
    root, elsewhere = tmp_path / "root", tmp_path / "elsewhere"
    root.mkdir()
    elsewhere.mkdir()
    (root / ".claude").symlink_to(elsewhere)
    with pytest.raises(BundleError) as caught:
        resolve_inside(root, ".claude/agents/a.md")
    assert caught.value.code == "PB307"
    assert caught.value.location == Location(root / ".claude")
    assert caught.value.message == (
        f".claude is a symbolic link to {elsewhere}, outside {root}; refusing to go through it"
    )
    assert caught.value.lines() == [
        f"{root / '.claude'}:1:1: error: {caught.value.message} [PB307]"
    ]


def test_a_file_link_and_a_dangling_link_leading_outside_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "victim.md").write_text("mine\n")
    (root / "a.md").symlink_to(tmp_path / "victim.md")
    (root / "gone.md").symlink_to(tmp_path / "nowhere.md")
    for name in ("a.md", "gone.md"):
        with pytest.raises(BundleError) as caught:
            check_no_symlink_escape(root, root / name)
        assert caught.value.location == Location(root / name)


def test_links_that_stay_inside_and_a_root_reached_through_a_link_are_allowed(
    tmp_path: Path,
) -> None:
    real = tmp_path / "real"
    (real / "shared").mkdir(parents=True)
    (real / ".claude").symlink_to(real / "shared")
    via = tmp_path / "via"
    via.symlink_to(real)
    assert resolve_inside(via, ".claude/agents/a.md") == via / ".claude/agents/a.md"
    (real / "self").symlink_to(".")
    check_no_symlink_escape(via, via / "self/x.md")


def test_a_path_outside_the_root_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BundleError) as caught:
        check_no_symlink_escape(tmp_path / "root", tmp_path / "other.md")
    assert caught.value.code == "PB307"


def test_file_sha256_reads_in_chunks_and_matches_sha256(tmp_path: Path) -> None:
    data = os.urandom(200_000)
    (tmp_path / "f").write_bytes(data)
    assert file_sha256(tmp_path / "f") == sha256(data)


def test_check_paths_inside_reports_each_offending_link_once(tmp_path: Path) -> None:
    root, elsewhere = tmp_path / "root", tmp_path / "elsewhere"
    (root / "ok").mkdir(parents=True)
    elsewhere.mkdir()
    (root / "a").symlink_to(elsewhere)
    (root / "b").symlink_to(elsewhere)
    with pytest.raises(ErrorGroup) as caught:
        check_paths_inside(root, ["a/1.md", "a/2.md", "b/1.md", "ok/1.md", "../x"])
    assert [(err.code, err.location) for err in caught.value.errors] == [
        ("PB307", Location(root)),
        ("PB307", Location(root / "a")),
        ("PB307", Location(root / "b")),
    ]
    check_paths_inside(root, ["ok/1.md", "new/2.md"])
