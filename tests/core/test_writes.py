"""Where a build may write: no link out of the bundle, no half-written output folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptbundle.core.errors import BundleError
from promptbundle.core.writes import (
    INCOMPLETE,
    refuse_escapes,
    refuse_escapes_within,
    refuse_incomplete,
)


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "bundle").mkdir()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "bundle")
    return tmp_path / "bundle"


def test_plain_folders_and_links_inside_the_bundle_pass(root: Path) -> None:
    (root / "real").mkdir()
    (root / "out").symlink_to(root / "real")
    (root / "up").symlink_to(".")  # the bundle itself
    refuse_escapes(root, [root / "out/dist", root / "up/dist", root / "missing/deeper"])


def test_a_link_out_of_the_bundle_is_refused_where_it_is(root: Path) -> None:
    (root / "site").mkdir()
    (root / "site/out").symlink_to(root.parent / "elsewhere")
    with pytest.raises(BundleError) as info:
        refuse_escapes(root, [root / "site/out/dist"])
    assert info.value.code == "PB310"
    assert str(info.value.location) == "site/out:1:1"


def test_a_link_inside_that_leads_to_one_outside_is_refused(root: Path) -> None:
    (root / "hop").symlink_to(root.parent / "elsewhere")
    (root / "dist").symlink_to("hop")
    with pytest.raises(BundleError) as info:
        refuse_escapes(root, [root / "dist"])
    assert str(info.value.location) == "dist:1:1"


def test_a_dangling_link_out_of_the_bundle_is_refused(root: Path) -> None:
    (root / "dist").symlink_to(root.parent / "not-yet")
    with pytest.raises(BundleError) as info:
        refuse_escapes(root, [root / "dist"])
    assert f"to {root.parent / 'not-yet'}, outside the bundle" in info.value.message


def test_links_anywhere_in_a_folder_are_found_except_in_skipped_folders(root: Path) -> None:
    (root / "cache/deep/er").mkdir(parents=True)
    (root / "cache/staging-1").mkdir()
    (root / "cache/staging-1/x").symlink_to(root.parent / "elsewhere")  # skipped: not read
    refuse_escapes_within(root, root / "cache", skip=("staging-",))
    refuse_escapes_within(root, root / "missing")
    (root / "cache/deep/er/file").symlink_to(root.parent / "elsewhere/file")
    with pytest.raises(BundleError) as info:
        refuse_escapes_within(root, root / "cache", skip=("staging-",))
    assert str(info.value.location) == "cache/deep/er/file:1:1"


def test_a_linked_skipped_entry_is_still_refused(root: Path) -> None:
    (root / "cache").mkdir()
    (root / "cache/staging-1").symlink_to(root.parent / "elsewhere")
    with pytest.raises(BundleError):
        refuse_escapes_within(root, root / "cache", skip=("staging-",))


def test_an_incomplete_folder_is_refused_at_its_marker(root: Path) -> None:
    (root / "dist").mkdir()
    refuse_incomplete(root / "dist")
    refuse_incomplete(root / "missing")
    (root / "dist" / INCOMPLETE).write_text("")
    with pytest.raises(BundleError) as info:
        refuse_incomplete(root / "dist")
    assert info.value.lines() == [
        "dist/.promptbundle-incomplete:1:1: error: dist is incomplete: a build was interrupted "
        "while writing it, so it holds parts of two builds; run promptbundle build [PB311]"
    ]
