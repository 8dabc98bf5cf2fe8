"""The output folder changes as a whole: switched in, or file by file with a marker."""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from promptbundle.build import cache as buildcache
from promptbundle.build import emit, staging, switch
from promptbundle.build.cache import CACHE_FOLDER, STATE_FILE
from promptbundle.cli import main
from promptbundle.commands.build import run_build
from promptbundle.core.errors import PromptBundleError
from promptbundle.core.writes import INCOMPLETE
from tests.support import BASIC_CONFIG, BundleFactory

AGENT = "---\nname: {name}\ndescription: Prompt {name}\nmodel: sonnet\n---\n# {name}\n\n{body}\n"


def _sources(names: list[str], body: str = "Do the work.") -> dict[str, str]:
    return {f"agents/{n}.md": AGENT.format(name=n, body=body) for n in names}


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _tree(folder: Path) -> dict[str, bytes | str]:
    """Every file (bytes), link (its target) and empty folder ('') under `folder`."""
    found: dict[str, bytes | str] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            found[rel] = f"-> {os.readlink(path)}"
        elif path.is_file():
            found[rel] = path.read_bytes()
        elif not any(path.iterdir()):
            found[rel] = ""
    return found


def _stats(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file() and not p.is_symlink()
    }


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in (root / CACHE_FOLDER).glob("staging-*"))


def _clean(tmp_path: Path, files: dict[str, str]) -> dict[str, bytes | str]:
    """The output folder a build of `files` makes in a fresh bundle."""
    root = tmp_path / "clean"
    _write(root, {"promptbundle.toml": BASIC_CONFIG, **files})
    run_build(root, jobs=1)
    return _tree(root / "dist")


@pytest.fixture
def bundle(make_bundle: BundleFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_bundle(_sources(["alpha", "beta", "gamma"]))
    monkeypatch.chdir(root)
    run_build(root, jobs=1)
    return root


def _change(root: Path) -> dict[str, str]:
    """Change one agent, drop one, add one: written, unchanged and removed files."""
    (root / "agents/gamma.md").unlink()
    files = {
        **_sources(["alpha", "beta"]),
        **_sources(["delta"]),
        "agents/alpha.md": AGENT.format(name="alpha", body="Do it differently."),
    }
    _write(root, files)
    return files


def test_a_changed_build_switches_in_a_new_folder_keeping_unchanged_files(
    bundle: Path, tmp_path: Path
) -> None:
    dist = bundle / "dist"
    folder = dist.stat().st_ino
    before = _stats(dist)
    files = _change(bundle)
    outcome = run_build(bundle, jobs=1)
    assert outcome.data["removed"] == [
        "claude-code/agents/gamma.md",
        "claude-plugin/plugins/demo/agents/gamma.md",
        "opencode/agent/gamma.md",
    ]
    assert dist.stat().st_ino != folder  # a new folder, switched in
    after = _stats(dist)
    kept = "claude-code/agents/beta.md"
    assert after[kept] == before[kept]  # the very same file: inode and mtime
    assert after["claude-code/agents/alpha.md"] != before["claude-code/agents/alpha.md"]
    assert _tree(dist) == _clean(tmp_path, files)
    assert _leftovers(bundle) == []
    mask = os.umask(0)
    os.umask(mask)
    assert dist.stat().st_mode & 0o777 == 0o777 & ~mask


def test_a_build_that_changes_nothing_switches_nothing(bundle: Path) -> None:
    dist = bundle / "dist"
    folder = dist.stat().st_ino
    before = _stats(dist)
    (bundle / CACHE_FOLDER / STATE_FILE).unlink()  # no shortcut: render and compare
    outcome = run_build(bundle, jobs=1)
    assert outcome.data["written"] == [] and outcome.data["removed"] == []
    assert dist.stat().st_ino == folder
    assert _stats(dist) == before
    # And the next build is skipped: it reads nothing and writes nothing.
    assert run_build(bundle, jobs=1).summary == outcome.summary
    assert dist.stat().st_ino == folder and _stats(dist) == before


def test_release_files_and_the_manifest_survive_a_switch(bundle: Path) -> None:
    release = bundle / "dist/release"
    (release / "python/empty").mkdir(parents=True)
    (release / "demo-1.2.3.tar.gz").write_bytes(b"archive")
    (release / "python/pkg.whl").write_bytes(b"wheel")
    (release / "latest").symlink_to("demo-1.2.3.tar.gz")
    kept = _tree(release)
    _change(bundle)
    run_build(bundle, jobs=1)
    assert _tree(release) == kept
    assert kept["python/empty"] == "" and kept["latest"] == "-> demo-1.2.3.tar.gz"
    assert (bundle / "dist/manifest.json").is_file()


def test_files_users_left_in_the_output_folder_are_removed(bundle: Path) -> None:
    outside = bundle.parent / "outside.txt"
    outside.write_text("theirs")
    (bundle / "dist/notes.txt").write_text("mine")
    (bundle / "dist/claude-code/link.md").symlink_to(outside)
    outcome = run_build(bundle, jobs=1)
    assert outcome.data["removed"] == ["claude-code/link.md", "notes.txt"]
    assert not (bundle / "dist/notes.txt").exists()
    assert not os.path.lexists(bundle / "dist/claude-code/link.md")
    assert outside.read_text() == "theirs"


def test_a_partial_build_keeps_the_files_it_did_not_make(bundle: Path) -> None:
    dist = bundle / "dist"
    before = _stats(dist)
    _write(bundle, {"agents/alpha.md": AGENT.format(name="alpha", body="Changed.")})
    outcome = run_build(bundle, targets=["opencode"], jobs=1)
    assert outcome.data["written"] == ["opencode/agent/alpha.md"]
    after = _stats(dist)
    assert set(after) == set(before)
    changed = {rel for rel in after if after[rel] != before[rel]}
    assert changed == {"opencode/agent/alpha.md", "manifest.json"}


def test_without_an_exchange_two_renames_switch_the_folder(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(switch, "exchange", lambda first, second: False)
    files = _change(bundle)
    run_build(bundle, jobs=1)
    assert _tree(bundle / "dist") == _clean(tmp_path, files)
    assert _leftovers(bundle) == []


def test_the_exchange_swaps_two_folders(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a/one").write_text("1")
    (tmp_path / "b").mkdir()
    (tmp_path / "b/two").write_text("2")
    assert switch.exchange(tmp_path / "a", tmp_path / "b")  # Linux has renameat2
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["two"]
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["one"]


def test_a_failed_exchange_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    with pytest.raises(OSError) as info:
        switch.exchange(tmp_path / "a", tmp_path / "missing")
    assert info.value.errno == errno.ENOENT
    assert info.value.filename == str(tmp_path / "missing")


def _full_disk(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


_real_write = os.write


def _full_staging(fd: int, data: bytes) -> int:
    """os.write on a full disk, for files in a staging folder only (not the build lock)."""
    if "/staging-" in os.readlink(f"/proc/self/fd/{fd}"):
        _full_disk()
    return _real_write(fd, data)


@pytest.mark.parametrize(
    ("where", "name", "fake"),
    [
        (staging.os, "write", _full_staging),  # staging an output
        (switch.os, "link", _full_disk),  # completing the new tree
        (switch, "exchange", _full_disk),  # the switch itself
    ],
)
def test_a_full_disk_leaves_the_output_folder_as_it_was(
    bundle: Path, monkeypatch: pytest.MonkeyPatch, where: object, name: str, fake: object
) -> None:
    dist = bundle / "dist"
    before, stats = _tree(dist), _stats(dist)
    _change(bundle)
    monkeypatch.setattr(where, name, fake)
    with pytest.raises(PromptBundleError) as info:
        run_build(bundle, jobs=1)
    (line,) = info.value.lines()
    assert re.fullmatch(r"\S+:1:1: error: cannot (stage|write) .*No space left on device.*", line)
    assert line.endswith("[PB300]")
    assert _tree(dist) == before and _stats(dist) == stats
    assert _leftovers(bundle) == []


def test_a_switch_refused_across_mounts_falls_back_to_writing_file_by_file(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def across_mounts(first: Path, second: Path) -> bool:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(switch, "exchange", across_mounts)
    folder = (bundle / "dist").stat().st_ino
    files = _change(bundle)
    outcome = run_build(bundle, jobs=1)
    assert len(outcome.data["written"]) == 7 and len(outcome.data["removed"]) == 3
    assert (bundle / "dist").stat().st_ino == folder  # updated in place
    assert _tree(bundle / "dist") == _clean(tmp_path, files)
    assert _leftovers(bundle) == []


def test_the_command_line_reports_a_full_disk_as_one_located_line(
    bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _tree(bundle / "dist")
    _change(bundle)
    monkeypatch.setattr(switch, "exchange", _full_disk)
    result = CliRunner().invoke(main, ["build", "--jobs", "1"])
    assert result.exit_code == 1
    assert result.output == (
        "dist:1:1: error: cannot write the output: [Errno 28] No space left on device; dist is "
        "unchanged [PB300]\n"
    )
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert _tree(bundle / "dist") == before


def test_a_full_disk_between_two_renames_puts_the_old_folder_back(
    bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist = bundle / "dist"
    before = _tree(dist)
    _change(bundle)
    monkeypatch.setattr(switch, "exchange", lambda first, second: False)
    real = os.rename

    def second_fails(src: str | Path, dst: str | Path) -> None:
        if Path(dst) == dist.resolve() and "staging-" in str(src) and "previous" not in str(src):
            raise OSError(errno.ENOSPC, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(switch.os, "rename", second_fails)
    with pytest.raises(PromptBundleError) as info:
        run_build(bundle, jobs=1)
    assert info.value.lines()[0].startswith("dist:1:1: error: cannot write the output: ")
    assert "dist is unchanged" in info.value.message
    assert _tree(dist) == before
    assert _leftovers(bundle) == []


def test_an_output_folder_that_is_a_file_is_an_error(
    make_bundle: BundleFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_bundle({**_sources(["alpha"]), "dist": "not a folder"})
    monkeypatch.chdir(root)
    with pytest.raises(PromptBundleError) as info:
        run_build(root, jobs=1)
    assert info.value.lines() == ["dist:1:1: error: dist is a file, not a folder [PB300]"]
    assert (root / "dist").read_text() == "not a folder"


def test_the_staging_folder_and_a_new_output_folder_can_switch(tmp_path: Path) -> None:
    (tmp_path / "staged").mkdir()
    assert switch.can_switch(tmp_path / "staged", tmp_path / "out/nested/dist")
    assert not switch.can_switch(tmp_path / "missing", tmp_path / "dist")


def test_an_output_folder_on_another_device_cannot_switch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "staged").mkdir()
    (tmp_path / "dist").mkdir()
    real = switch._device

    def mounted(path: Path) -> int:
        """The output folder is a mount point: its own device."""
        return real(path) + (path.name == "dist")

    monkeypatch.setattr(switch, "_device", mounted)
    assert not switch.can_switch(tmp_path / "staged", tmp_path / "dist")


def test_where_files_cannot_be_linked_they_are_copied_with_their_times(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist = bundle / "dist"
    (dist / "release").mkdir()
    (dist / "release/demo.tar.gz").write_bytes(b"archive")
    before = _stats(dist)
    files = _change(bundle)

    def no_links(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(switch.os, "link", no_links)
    run_build(bundle, jobs=1)
    after = _stats(dist)
    for rel in ("claude-code/agents/beta.md", "release/demo.tar.gz"):
        assert after[rel][0] != before[rel][0]  # a copy, not the same file
        assert after[rel][1] == before[rel][1]  # with the same mtime
    assert (dist / "release/demo.tar.gz").read_bytes() == b"archive"
    tree = _tree(dist)
    del tree["release/demo.tar.gz"]
    assert tree == _clean(tmp_path, files)


def test_a_full_disk_while_preparing_the_cache_is_an_error(
    make_bundle: BundleFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_bundle(_sources(["alpha"]))
    monkeypatch.chdir(root)
    monkeypatch.setattr(buildcache, "_write_atomically", _full_disk)
    with pytest.raises(PromptBundleError) as info:
        run_build(root, jobs=1)
    assert info.value.lines() == [
        ".promptbundle-cache:1:1: error: cannot write the build cache: [Errno 28] No space "
        "left on device [PB300]"
    ]
    assert not (root / "dist").exists()


def test_a_full_disk_when_stamping_the_build_start_is_an_error(
    bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _tree(bundle / "dist")
    _change(bundle)
    real = Path.write_bytes

    def full(path: Path, data: bytes) -> int:
        if path.name == buildcache.STAMP_FILE:
            _full_disk()
        return real(path, data)

    monkeypatch.setattr(buildcache.Path, "write_bytes", full)
    with pytest.raises(PromptBundleError) as info:
        run_build(bundle, jobs=1)
    assert info.value.lines() == [
        ".promptbundle-cache/build-started:1:1: error: cannot write the build cache: "
        "[Errno 28] No space left on device [PB300]"
    ]
    assert _tree(bundle / "dist") == before


def test_a_bind_mounted_output_folder_cannot_switch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "staged").mkdir()
    (tmp_path / "dist").mkdir()
    assert switch.can_switch(tmp_path / "staged", tmp_path / "dist")
    monkeypatch.setattr(switch.os.path, "ismount", lambda path: Path(path).name == "dist")
    assert not switch.can_switch(tmp_path / "staged", tmp_path / "dist")


# Across filesystems: file by file, marked incomplete meanwhile.


@pytest.fixture
def across(monkeypatch: pytest.MonkeyPatch) -> None:
    """The output folder is a mount point of its own: another device than the cache's."""
    real = switch._device
    monkeypatch.setattr(switch, "_device", lambda path: real(path) + (path.name == "dist"))


@pytest.mark.usefixtures("across")
def test_across_filesystems_the_folder_is_marked_from_first_write_to_last(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = bundle / "dist" / INCOMPLETE
    seen: list[tuple[str, bool]] = []
    real_move, real_remove = staging._move, emit._remove_orphans

    def move(source: Path, path: Path) -> None:
        seen.append((path.name, marker.exists()))
        real_move(source, path)

    def remove(out_dir: Path, orphans: set[str], report: emit.EmitReport) -> None:
        seen.append(("orphans", marker.exists()))
        real_remove(out_dir, orphans, report)

    monkeypatch.setattr(staging, "_move", move)
    monkeypatch.setattr(emit, "_remove_orphans", remove)
    files = _change(bundle)
    run_build(bundle, jobs=1)
    assert len(seen) > 3 and all(marked for _, marked in seen)
    assert not marker.exists()
    assert _tree(bundle / "dist") == _clean(tmp_path, files)


@pytest.mark.usefixtures("across")
def test_across_filesystems_an_unchanged_build_writes_nothing(bundle: Path) -> None:
    dist = bundle / "dist"
    before = _stats(dist)
    (bundle / CACHE_FOLDER / STATE_FILE).unlink()
    run_build(bundle, jobs=1)
    assert _stats(dist) == before
    assert not (dist / INCOMPLETE).exists()


@pytest.mark.usefixtures("across")
def test_an_interrupted_write_across_filesystems_is_refused_until_the_next_build(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _change(bundle)
    real = staging.os.replace
    moved: list[str] = []

    def fills_up(src: str | Path, dst: str | Path) -> None:
        if "staging-" in str(src):  # the disk fills after two outputs are moved in
            if len(moved) == 2:
                raise OSError(errno.ENOSPC, "No space left on device")
            moved.append(str(dst))
        real(src, dst)

    monkeypatch.setattr(staging.os, "replace", fills_up)
    with pytest.raises(PromptBundleError) as info:
        run_build(bundle, jobs=1)
    assert info.value.lines()[0].startswith(
        "dist:1:1: error: cannot write the output: [Errno 28] No space left on device"
    )
    monkeypatch.setattr(staging.os, "replace", real)
    assert (bundle / "dist" / INCOMPLETE).is_file()
    assert buildcache.up_to_date(bundle, key={"strict": False}) is None
    with pytest.raises(PromptBundleError) as refused:
        run_build(bundle, check=True, jobs=1)
    assert refused.value.lines() == [
        "dist/.promptbundle-incomplete:1:1: error: dist is incomplete: a build was interrupted "
        "while writing it, so it holds parts of two builds; run promptbundle build [PB311]"
    ]
    run_build(bundle, jobs=1)
    assert _tree(bundle / "dist") == _clean(tmp_path, files)
    assert run_build(bundle, check=True, jobs=1).exit_code == 0


def test_a_switched_build_repairs_a_folder_left_incomplete(bundle: Path, tmp_path: Path) -> None:
    (bundle / "dist" / INCOMPLETE).write_text("")
    (bundle / CACHE_FOLDER / STATE_FILE).unlink()
    run_build(bundle, jobs=1)
    assert not (bundle / "dist" / INCOMPLETE).exists()
    assert _tree(bundle / "dist") == _clean(tmp_path, _sources(["alpha", "beta", "gamma"]))


def test_a_record_that_cannot_be_written_costs_only_the_shortcut(
    bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _change(bundle)
    for path in (bundle / "agents").iterdir():  # older than the build: a record is kept
        os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    os.utime(bundle / "agents", ns=(1_000_000_000, 1_000_000_000))
    monkeypatch.setattr(buildcache, "_write_atomically", _full_disk)
    outcome = run_build(bundle, jobs=1)
    assert outcome.messages[-1] == (
        "warning: the next build cannot be skipped: [Errno 28] No space left on device"
    )
    assert not (bundle / CACHE_FOLDER / STATE_FILE).exists()


# Builds racing each other: the lock makes them take turns, the switch keeps dist/ whole.

RACES = 20


def _racer(root: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("promptbundle")), "build"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def test_two_builds_racing_each_other_never_break(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    names = [f"a{i}" for i in range(12)]
    versions = {"a": _sources(names), "b": _sources(names[2:], body="Do it otherwise.")}
    expected = {variant: _clean(tmp_path / variant, files) for variant, files in versions.items()}
    root = make_bundle({})
    for race in range(RACES):
        variant = "ab"[race % 2]
        for path in (root / "agents").glob("*.md"):
            path.unlink()
        _write(root, versions[variant])
        racers = [_racer(root), _racer(root)]
        for proc in racers:
            try:
                out, err = proc.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate(timeout=120)
                raise
            assert proc.returncode == 0, f"race {race}: {err}"
            assert "Traceback" not in out + err, f"race {race}: {err}"
        assert _tree(root / "dist") == expected[variant], f"race {race}"
        assert _leftovers(root) == []
