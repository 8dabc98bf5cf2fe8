"""install and uninstall never write through a link out of their folder, and an install
that stopped half-way is finished by the next one, never mistaken for the user's edits."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import promptbundle.release.install as install_module
from promptbundle.commands.install import run_install as install
from promptbundle.commands.uninstall import run_uninstall as uninstall
from promptbundle.core.errors import BundleError, Location
from promptbundle.release.install import OWNERSHIP_FILE, InstallConflictError
from tests.support import BundleFactory


def agent(name: str, body: str = "Hello {{ agent.name }}.\n") -> str:
    return f"---\nname: {name}\ndescription: The {name} agent\nmodel: sonnet\n---\n{body}"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


class Crash(BaseException):
    """The process dying: nothing catches it."""


@pytest.fixture
def three_agents(make_bundle: BundleFactory) -> Path:
    return make_bundle({f"agents/{n}.md": agent(n) for n in ("one", "two", "three")})


# -- links out of the install folder -------------------------------------------------------


def test_an_into_whose_claude_folder_links_elsewhere_is_refused_before_any_write(
    three_agents: Path, tmp_path: Path
) -> None:
    into, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    into.mkdir()
    elsewhere.mkdir()
    (into / ".claude").symlink_to(elsewhere)
    with pytest.raises(BundleError) as caught:
        install(three_agents, targets=["claude-code"], into=into)
    assert caught.value.lines() == [
        f"{into / '.claude'}:1:1: error: .claude is a symbolic link to {elsewhere}, outside "
        f"{into}; refusing to go through it [PB307]"
    ]
    assert list(elsewhere.iterdir()) == []
    assert sorted(p.name for p in into.iterdir()) == [".claude"]


def test_a_link_inside_the_recorded_folders_is_refused_by_install_and_uninstall(
    three_agents: Path, tmp_path: Path
) -> None:
    into, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    install(three_agents, targets=["claude-code"], into=into)
    # The recorded folder becomes a link to a folder holding the same files elsewhere.
    (into / ".claude/agents").rename(elsewhere)
    (into / ".claude/agents").symlink_to(elsewhere)
    before = snapshot(elsewhere)
    (three_agents / "agents/two.md").unlink()
    for attempt in (
        lambda: install(three_agents, targets=["claude-code"], into=into, force=True),
        lambda: uninstall(three_agents, into=into, force=True),
    ):
        with pytest.raises(BundleError) as caught:
            attempt()
        # One error for the link, not one per file behind it.
        assert (caught.value.code, caught.value.location) == (
            "PB307",
            Location(into / ".claude/agents"),
        )
        assert snapshot(elsewhere) == before
    assert json.loads((into / OWNERSHIP_FILE).read_text())["installs"][0]["files"]


def test_a_link_that_stays_inside_the_folder_is_followed(
    three_agents: Path, tmp_path: Path
) -> None:
    into = tmp_path / "project"
    (into / "shared").mkdir(parents=True)
    (into / ".claude").symlink_to(into / "shared")
    install(three_agents, targets=["claude-code"], into=into)
    assert sorted(p.name for p in (into / "shared/agents").iterdir()) == [
        "one.md",
        "three.md",
        "two.md",
    ]


# -- an install that stops half-way --------------------------------------------------------


def crash_after(monkeypatch: pytest.MonkeyPatch, files: int) -> None:
    """Make the install die after writing `files` agent files."""
    real = install_module.atomic_write
    written = []

    def dying(path: Path, content: bytes) -> None:
        if path.suffix == ".md":
            if len(written) == files:
                raise Crash
            written.append(path)
        real(path, content)

    monkeypatch.setattr(install_module, "atomic_write", dying)


def half_installed(
    bundle: Path, into: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Install, change every agent, and let the second install die after one file: the
    folder then holds one new file and two old ones. Returns (old, new) folder contents."""
    install(bundle, targets=["claude-code"], into=into)
    old = snapshot(into)
    for name in ("one", "two", "three"):
        (bundle / f"agents/{name}.md").write_text(agent(name, "Changed.\n"))
    with monkeypatch.context() as patch:
        crash_after(patch, 1)
        with pytest.raises(Crash):
            install(bundle, targets=["claude-code"], into=into)
    return old, snapshot(into)


def test_an_interrupted_install_leaves_a_journal_naming_both_sides(
    three_agents: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    into = tmp_path / "project"
    old, mixed = half_installed(three_agents, into, monkeypatch)
    changed = sorted(rel for rel in old if rel != OWNERSHIP_FILE and mixed[rel] != old[rel])
    assert changed == [".claude/agents/one.md"]
    [entry] = json.loads((into / OWNERSHIP_FILE).read_text())["installs"]
    assert sorted(entry["files"]) == sorted(entry["pending"])
    assert entry["files"] != entry["pending"]


def test_the_next_install_finishes_an_interrupted_one_without_calling_its_files_edits(
    three_agents: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    into = tmp_path / "project"
    half_installed(three_agents, into, monkeypatch)
    outcome = install(three_agents, targets=["claude-code"], into=into)
    assert outcome.lines == [
        f"note: the last install of claude-code into {into} was interrupted; its files "
        "(old or new) count as installed and are put right",
        "update: .claude/agents/three.md",
        "update: .claude/agents/two.md",
    ]
    assert all(b"Changed." in data for rel, data in snapshot(into).items() if rel.endswith(".md"))
    [entry] = json.loads((into / OWNERSHIP_FILE).read_text())["installs"]
    assert "pending" not in entry
    assert install(three_agents, targets=["claude-code"], into=into).lines == []


def test_an_interrupted_install_can_be_rolled_back_by_installing_the_old_version(
    three_agents: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    into = tmp_path / "project"
    old, _ = half_installed(three_agents, into, monkeypatch)
    for name in ("one", "two", "three"):
        (three_agents / f"agents/{name}.md").write_text(agent(name))
    install(three_agents, targets=["claude-code"], into=into)
    assert snapshot(into) == old


def test_uninstall_after_an_interrupted_install_removes_old_and_new_files(
    three_agents: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    into = tmp_path / "project"
    half_installed(three_agents, into, monkeypatch)
    outcome = uninstall(three_agents, into=into)
    assert outcome.summary == f"removed 3 file(s) of demo (claude-code) from {into}"
    assert list(into.iterdir()) == []


def test_a_file_edited_after_an_interrupted_install_is_still_the_users(
    three_agents: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    into = tmp_path / "project"
    half_installed(three_agents, into, monkeypatch)
    (into / ".claude/agents/two.md").write_text("my edit\n")
    with pytest.raises(InstallConflictError) as caught:
        install(three_agents, targets=["claude-code"], into=into)
    assert caught.value.conflicts == [
        (into / ".claude/agents/two.md", "changed since it was installed; will not overwrite it")
    ]


def test_a_first_install_interrupted_is_finished_too(
    three_agents: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    into = tmp_path / "project"
    with monkeypatch.context() as patch:
        crash_after(patch, 2)
        with pytest.raises(Crash):
            install(three_agents, targets=["claude-code"], into=into)
    assert len([rel for rel in snapshot(into) if rel.endswith(".md")]) == 2
    outcome = install(three_agents, targets=["claude-code"], into=into)
    assert outcome.lines[1:] == ["add: .claude/agents/two.md"]
    assert outcome.lines[0].startswith("note: the last install of claude-code into ")


def test_a_bad_pending_map_in_the_record_is_an_error(three_agents: Path, tmp_path: Path) -> None:
    into = tmp_path / "project"
    install(three_agents, targets=["claude-code"], into=into)
    path = into / OWNERSHIP_FILE
    data = json.loads(path.read_text())
    data["installs"][0]["pending"] = {"../x.md": "0" * 64}
    path.write_text(json.dumps(data))
    with pytest.raises(BundleError) as caught:
        install(three_agents, targets=["claude-code"], into=into)
    assert caught.value.location == Location(path)
    assert caught.value.message.startswith("install record entry '../x.md' (demo:claude-code)")
    data["installs"][0]["pending"] = ["x"]
    path.write_text(json.dumps(data))
    with pytest.raises(BundleError) as caught:
        install(three_agents, targets=["claude-code"], into=into)
    assert caught.value.message == (
        "install record entry demo:claude-code has an invalid 'pending' map; fix or delete the "
        "record to install again"
    )


KILLED_AFTER_ONE_FILE = """
import os, signal, sys
from pathlib import Path
import promptbundle.release.install as install_module
from promptbundle.commands.install import run_install

real = install_module.atomic_write
written = []

def dying(path, content):
    if path.suffix == ".md":
        if written:
            os.kill(os.getpid(), signal.SIGKILL)
        written.append(path)
    real(path, content)

install_module.atomic_write = dying
run_install(Path(sys.argv[1]), targets=["claude-code"], into=Path(sys.argv[2]))
"""


def test_an_install_killed_half_way_is_finished_by_the_next(
    three_agents: Path, tmp_path: Path
) -> None:
    into = tmp_path / "project"
    install(three_agents, targets=["claude-code"], into=into)
    for name in ("one", "two", "three"):
        (three_agents / f"agents/{name}.md").write_text(agent(name, "Changed.\n"))
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_ONE_FILE, str(three_agents), str(into)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL
    mixed = snapshot(into)
    assert [b"Changed." in mixed[f".claude/agents/{n}.md"] for n in ("one", "three", "two")] == [
        True,
        False,
        False,
    ]
    outcome = install(three_agents, targets=["claude-code"], into=into)
    assert outcome.lines[1:] == ["update: .claude/agents/three.md", "update: .claude/agents/two.md"]
    assert not [p for p in (into / ".claude/agents").iterdir() if p.name.startswith(".pb-")]


def test_an_interrupted_uninstall_is_finished_by_the_next(
    three_agents: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    into = tmp_path / "project"
    install(three_agents, targets=["claude-code"], into=into)
    real = Path.unlink
    removed: list[Path] = []

    def dying(self: Path, missing_ok: bool = False) -> None:
        if self.suffix == ".md":
            if removed:
                raise Crash
            removed.append(self)
        real(self, missing_ok=missing_ok)

    with monkeypatch.context() as patch:
        patch.setattr(Path, "unlink", dying)
        with pytest.raises(Crash):
            uninstall(three_agents, into=into)
    [entry] = json.loads((into / OWNERSHIP_FILE).read_text())["installs"]
    assert (len(entry["files"]), entry["pending"]) == (3, {})
    outcome = uninstall(three_agents, into=into)
    assert outcome.lines[1:] == ["remove: .claude/agents/three.md", "remove: .claude/agents/two.md"]
    assert list(into.iterdir()) == []
