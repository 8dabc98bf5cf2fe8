"""package and verify: reproducible release archives, manifest, SHA256SUMS, CHANGES.md."""

from __future__ import annotations

import errno
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from promptbundle import __version__
from promptbundle.commands.package import run_package as package
from promptbundle.core.diagnostics import Diagnostic
from promptbundle.core.errors import (
    BundleError,
    Location,
    PromptBundleError,
    SourceError,
    UsageError,
)
from promptbundle.formats.claude_code import ClaudeCodeFormat
from promptbundle.release.archive import (
    FALLBACK_EPOCH,
    read_archive,
    source_date_epoch,
    tar_gz_bytes,
    verify_archive,
    zip_bytes,
)
from tests.support import BASIC_CONFIG, BundleFactory, write_tree

COMMIT_DATE = "2024-01-02T03:04:05+00:00"
COMMIT_EPOCH = 1704164645
NEEDS_GIT = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def agent(name: str, body: str = "Hello {{ agent.name }}.\n") -> str:
    return f"---\nname: {name}\ndescription: The {name} agent\nmodel: sonnet\n---\n{body}"


def bundle_files(**agents: str) -> dict[str, str]:
    return {
        "promptbundle.toml": BASIC_CONFIG,
        **{f"agents/{name}.md": text for name, text in agents.items()},
    }


def git(root: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
        "GIT_AUTHOR_DATE": COMMIT_DATE,
        "GIT_COMMITTER_DATE": COMMIT_DATE,
    }
    proc = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


def commit_all(root: Path, message: str = "change") -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")


def repo(root: Path, files: dict[str, str]) -> Path:
    write_tree(root, files)
    git(root, "init", "-q")
    commit_all(root, "first")
    return root


def tar_files(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }


@pytest.fixture
def no_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


@pytest.fixture
def released(make_bundle: BundleFactory, tmp_path: Path) -> Path:
    """A packaged two-agent bundle; returns the release folder."""
    root = make_bundle({"agents/one.md": agent("one"), "agents/two.md": agent("two")})
    package(root, out=tmp_path / "release", environ={"SOURCE_DATE_EPOCH": "1700000000"})
    return tmp_path / "release"


# -- reproducibility -----------------------------------------------------------------------


@NEEDS_GIT
def test_same_commit_in_two_folders_at_two_times_gives_identical_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_epoch: None
) -> None:
    first = repo(tmp_path / "a", bundle_files(one=agent("one"), two=agent("two")))
    second = tmp_path / "elsewhere" / "b"
    subprocess.run(["git", "clone", "-q", str(first), str(second)], check=True)
    for path in second.rglob("*.md"):
        os.utime(path, (2_000_000_000, 2_000_000_000))
    report_a = package(first, out=tmp_path / "out-a")
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 86_400 * 400)
    report_b = package(second, out=tmp_path / "out-b")
    names = ["demo-1.2.3.tar.gz", "demo-1.2.3.zip", "SHA256SUMS"]
    for name in names:
        assert (tmp_path / "out-a" / name).read_bytes() == (tmp_path / "out-b" / name).read_bytes()
    assert report_a.data["commit"] == report_b.data["commit"] == git(first, "rev-parse", "HEAD")
    with tarfile.open(tmp_path / "out-a/demo-1.2.3.tar.gz") as tar:
        assert {m.mtime for m in tar.getmembers()} == {COMMIT_EPOCH}


def test_agent_file_order_does_not_change_the_archives(tmp_path: Path) -> None:
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    forward = write_tree(tmp_path / "x", bundle_files(one=agent("one"), two=agent("two")))
    backward = write_tree(tmp_path / "y", bundle_files(two=agent("two"), one=agent("one")))
    package(forward, out=tmp_path / "rx", environ=env)
    package(backward, out=tmp_path / "ry", environ=env)
    for name in ("demo-1.2.3.tar.gz", "demo-1.2.3.zip"):
        assert (tmp_path / "rx" / name).read_bytes() == (tmp_path / "ry" / name).read_bytes()


def test_tar_entries_are_sorted_owned_by_root_with_fixed_modes(released: Path) -> None:
    data = (released / "demo-1.2.3.tar.gz").read_bytes()
    assert data[3] == 0, "gzip header must carry no file name"
    assert data[4:8] == b"\0\0\0\0", "gzip header must carry no time"
    with tarfile.open(released / "demo-1.2.3.tar.gz") as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names, key=lambda n: n.split("/"))
    assert names[0] == "demo-1.2.3" and "demo-1.2.3/manifest.json" in names
    for member in members:
        assert (member.uid, member.gid, member.uname, member.gname) == (0, 0, "", "")
        assert member.mtime == 1700000000
        assert member.mode == (0o755 if member.isdir() else 0o644)


def test_zip_entries_have_fixed_times_and_unix_modes(released: Path) -> None:
    with zipfile.ZipFile(released / "demo-1.2.3.zip") as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos][:2] == ["demo-1.2.3/", "demo-1.2.3/README.md"]
    for info in infos:
        assert info.date_time == time.gmtime(1700000000)[:6]
        mode = info.external_attr >> 16
        assert mode == (0o040755 if info.is_dir() else 0o100644)


def test_zip_time_before_1980_is_clamped_but_tar_keeps_it() -> None:
    files = {"a.md": b"a\n"}
    with zipfile.ZipFile(io.BytesIO(zip_bytes("p", files, 0))) as archive:
        assert archive.getinfo("p/a.md").date_time == (1980, 1, 1, 0, 0, 0)
    raw = gzip.decompress(tar_gz_bytes("p", files, 0))
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        assert tar.getmember("p/a.md").mtime == 0


def test_epoch_comes_from_the_environment_then_git_then_a_fixed_date(tmp_path: Path) -> None:
    assert source_date_epoch(tmp_path, {"SOURCE_DATE_EPOCH": "42"}) == 42
    if (
        shutil.which("git") is None
        or subprocess.run(["git", "-C", str(tmp_path), "rev-parse"], capture_output=True).returncode
        == 0
    ):
        pytest.skip("tmp_path is inside a git repository or git is absent")
    assert source_date_epoch(tmp_path, {}) == FALLBACK_EPOCH


def test_invalid_source_date_epoch_is_a_usage_error(make_bundle: BundleFactory) -> None:
    root = make_bundle({"agents/one.md": agent("one")})
    with pytest.raises(UsageError) as caught:
        package(root, environ={"SOURCE_DATE_EPOCH": "yesterday"})
    assert caught.value.message == (
        "SOURCE_DATE_EPOCH must be whole seconds since 1970, got 'yesterday'"
    )


# -- contents ------------------------------------------------------------------------------


def test_release_holds_every_output_and_a_manifest_with_digests(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    root = make_bundle({"agents/one.md": agent("one")})
    report = package(root, environ={"SOURCE_DATE_EPOCH": "1700000000"})
    assert [Path(p) for p in report.data["archives"]] == [
        root / "dist/release/demo-1.2.3.tar.gz",
        root / "dist/release/demo-1.2.3.zip",
    ]
    files = tar_files(Path(report.data["archives"][0]))
    manifest = json.loads(files.pop("demo-1.2.3/manifest.json"))
    assert manifest["bundle"] == "demo" and manifest["version"] == "1.2.3"
    assert manifest["promptbundle"] == __version__ and manifest["source_date_epoch"] == 1700000000
    assert "commit" in manifest
    listed = {e["path"]: e for e in manifest["outputs"]}
    assert set(listed) == {name.removeprefix("demo-1.2.3/") for name in files}
    # agent-skill and skill-table carry skills only: the bundle has none.
    assert sorted(listed) == [
        "README.md",
        "claude-code/agents/one.md",
        "claude-plugin/.claude-plugin/marketplace.json",
        "claude-plugin/plugins/demo/.claude-plugin/plugin.json",
        "claude-plugin/plugins/demo/agents/one.md",
        "opencode/agent/one.md",
    ]
    assert report.summary == "packaged demo 1.2.3: 7 files"
    entry = listed["opencode/agent/one.md"]
    content = files["demo-1.2.3/opencode/agent/one.md"]
    assert entry == {
        "path": "opencode/agent/one.md",
        "target": "opencode",
        "kind": "agent",
        "prompt": "one",
        "sha256": hashlib.sha256(content).hexdigest(),
        "bytes": len(content),
        "sources": ["agents/one.md", "promptbundle.toml"],
    }
    assert (listed["README.md"]["kind"], listed["README.md"]["prompt"]) == (None, None)
    assert not (root / "dist/manifest.json").exists(), "package must not need or write dist/"


def test_version_option_overrides_the_config(make_bundle: BundleFactory, tmp_path: Path) -> None:
    root = make_bundle({"agents/one.md": agent("one")})
    report = package(root, out=tmp_path / "r", version="2.0.0-rc1", environ={})
    assert [p.name for p in [Path(p) for p in report.data["archives"]]] == [
        "demo-2.0.0-rc1.tar.gz",
        "demo-2.0.0-rc1.zip",
    ]
    assert read_archive(Path(report.data["archives"][1])).manifest["version"] == "2.0.0-rc1"


def test_bad_version_is_a_usage_error(make_bundle: BundleFactory) -> None:
    root = make_bundle({"agents/one.md": agent("one")})
    with pytest.raises(UsageError) as caught:
        package(root, version="../evil")
    assert caught.value.message == "--version must be a semantic version like 1.2.3, got '../evil'"


def test_out_folder_that_is_a_file_is_reported(make_bundle: BundleFactory, tmp_path: Path) -> None:
    root = make_bundle({"agents/one.md": agent("one")})
    (tmp_path / "taken").write_text("x")
    with pytest.raises(BundleError) as caught:
        package(root, out=tmp_path / "taken", environ={})
    assert caught.value.message == (
        f"cannot write the release: [Errno {errno.EEXIST}] File exists: '{tmp_path / 'taken'}'"
    )
    assert caught.value.location == Location(tmp_path / "taken")


def test_render_error_stops_packaging(make_bundle: BundleFactory, tmp_path: Path) -> None:
    root = make_bundle({"agents/one.md": agent("one", "{{ missing }}\n")})
    with pytest.raises(SourceError) as caught:
        package(root, out=tmp_path / "r", environ={})
    assert caught.value.lines() == [
        f"{root / 'agents/one.md'}:6:1: error: 'missing' is undefined [PB003]"
    ]
    assert not (tmp_path / "r").exists()


def test_validation_error_stops_packaging(
    make_bundle: BundleFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def invalid(self: ClaudeCodeFormat, output: object) -> list[Diagnostic]:
        return [Diagnostic("error", "PB999", "broken", Location("x.md", 2, 1))]

    monkeypatch.setattr(ClaudeCodeFormat, "validate", invalid)
    root = make_bundle({"agents/one.md": agent("one")})
    with pytest.raises(PromptBundleError) as caught:
        package(root, out=tmp_path / "r", environ={})
    assert caught.value.lines() == [
        "x.md:2:1: error: broken [PB999]",
        "error: build failed: 1 error(s); nothing packaged",
    ]
    assert not (tmp_path / "r").exists()


def test_release_keeps_the_claude_plugin_marketplace_layout(released: Path, tmp_path: Path) -> None:
    with tarfile.open(released / "demo-1.2.3.tar.gz") as tar:
        tar.extractall(tmp_path / "x", filter="data")
    marketplace_dir = tmp_path / "x/demo-1.2.3/claude-plugin"
    marketplace = json.loads((marketplace_dir / ".claude-plugin/marketplace.json").read_text())
    [plugin] = marketplace["plugins"]
    assert plugin == {
        "name": "demo",
        "source": "./plugins/demo",
        "description": "Demo agents",
        "version": "1.2.3",
    }
    plugin_dir = marketplace_dir / plugin["source"]
    assert json.loads((plugin_dir / ".claude-plugin/plugin.json").read_text())["name"] == "demo"
    assert sorted(p.name for p in (plugin_dir / "agents").iterdir()) == ["one.md", "two.md"]


CLAUDE = Path(__file__).resolve().parents[2] / ".clients/claude/node_modules/.bin/claude"
CLAUDE_ENV = {
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "DISABLE_AUTOUPDATER": "1",
}


@pytest.mark.conformance
def test_claude_accepts_the_released_marketplace_and_plugin(released: Path, tmp_path: Path) -> None:
    assert CLAUDE.exists(), f"{CLAUDE} is missing: run `make conformance` to install it"
    with tarfile.open(released / "demo-1.2.3.tar.gz") as tar:
        tar.extractall(tmp_path / "x", filter="data")
    marketplace_dir = tmp_path / "x/demo-1.2.3/claude-plugin"
    (tmp_path / "home").mkdir()
    env = {**os.environ, **CLAUDE_ENV, "HOME": str(tmp_path / "home")}
    for folder in (marketplace_dir, marketplace_dir / "plugins/demo"):
        proc = subprocess.run(
            [str(CLAUDE), "plugin", "validate", "--strict", str(folder)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "Validation passed" in proc.stdout


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="sha256sum is not installed")
def test_sha256sum_accepts_the_sums_file(released: Path) -> None:
    proc = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=released, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == ["demo-1.2.3.tar.gz: OK", "demo-1.2.3.zip: OK"]


# -- release notes -------------------------------------------------------------------------


@NEEDS_GIT
def test_since_adds_changes_per_agent(tmp_path: Path, no_epoch: None) -> None:
    root = repo(tmp_path / "r", bundle_files(one=agent("one"), two=agent("two")))
    first = git(root, "rev-parse", "HEAD")
    (root / "agents/one.md").write_text(agent("one", "Changed.\n"))
    (root / "agents/two.md").unlink()
    (root / "agents/three.md").write_text(agent("three"))
    commit_all(root)
    report = package(root, out=tmp_path / "out", since="HEAD~1")
    head = git(root, "rev-parse", "HEAD")[:12]
    assert report.summary == f"packaged demo 1.2.3 at {head}: 11 files with CHANGES.md"
    notes = tar_files(Path(report.data["archives"][0]))["demo-1.2.3/CHANGES.md"].decode()
    assert notes.startswith(f"# demo 1.2.3: changes since HEAD~1 ({first[:12]})\n")
    one = notes.split("## one\n\n")[1].split("\n\n")[0].splitlines()
    assert "+Changed." in notes.split("## one")[1].split("## three")[0]
    assert one == [
        "- changed: `claude-code/agents/one.md`",
        "- changed: `claude-plugin/plugins/demo/agents/one.md`",
        "- changed: `opencode/agent/one.md`",
    ]
    three = notes.split("## three\n\n")[1].split("\n\n")[0].splitlines()
    assert three == [
        "- added: `claude-code/agents/three.md`",
        "- added: `claude-plugin/plugins/demo/agents/three.md`",
        "- added: `opencode/agent/three.md`",
    ]
    two = notes.split("## two\n\n")[1].split("\n\n")[0].splitlines()
    assert two == [
        "- removed: `claude-code/agents/two.md`",
        "- removed: `claude-plugin/plugins/demo/agents/two.md`",
        "- removed: `opencode/agent/two.md`",
    ]
    bundle = notes.split("## Bundle files\n\n")[1].split("\n\n")[0].splitlines()
    assert bundle == ["- changed: `README.md`"]
    assert verify_archive(Path(report.data["archives"][0])).ok


@NEEDS_GIT
def test_since_with_nothing_changed_says_so(tmp_path: Path, no_epoch: None) -> None:
    root = repo(tmp_path / "r", bundle_files(one=agent("one")))
    report = package(root, out=tmp_path / "out", since="HEAD")
    notes = tar_files(Path(report.data["archives"][0]))["demo-1.2.3/CHANGES.md"].decode()
    head = git(root, "rev-parse", "HEAD")[:12]
    assert notes == f"# demo 1.2.3: changes since HEAD ({head})\n\nNo rendered output changed.\n"
    assert report.summary == f"packaged demo 1.2.3 at {head}: 8 files with CHANGES.md"


@NEEDS_GIT
def test_since_builds_a_bundle_in_a_subfolder_of_the_repository(
    tmp_path: Path, no_epoch: None
) -> None:
    nested = {f"prompts/{k}": v for k, v in bundle_files(one=agent("one")).items()}
    top = repo(tmp_path / "r", nested)
    (top / "prompts/agents/one.md").write_text(agent("one", "New.\n"))
    report = package(top / "prompts", out=tmp_path / "out", since="HEAD", allow_dirty=True)
    notes = tar_files(Path(report.data["archives"][0]))["demo-1.2.3/CHANGES.md"].decode()
    assert "- changed: `claude-code/agents/one.md`" in notes


@NEEDS_GIT
def test_since_unknown_revision_is_an_error(tmp_path: Path, no_epoch: None) -> None:
    root = repo(tmp_path / "r", bundle_files(one=agent("one")))
    with pytest.raises(BundleError) as caught:
        package(root, out=tmp_path / "out", since="v9")
    assert caught.value.message == (
        "--since v9: unknown revision 'v9': git knows no commit by that name"
    )
    assert not (tmp_path / "out").exists()


@NEEDS_GIT
def test_since_a_revision_without_the_bundle_lists_every_output_as_added(
    tmp_path: Path, no_epoch: None
) -> None:
    root = repo(tmp_path / "r", {"README.txt": "nothing yet\n"})
    write_tree(root, bundle_files(one=agent("one")))
    commit_all(root)
    report = package(root, out=tmp_path / "out", since="HEAD~1")
    notes = tar_files(Path(report.data["archives"][0]))["demo-1.2.3/CHANGES.md"].decode()
    base = git(root, "rev-parse", "HEAD~1")[:12]
    assert notes == (
        f"# demo 1.2.3: changes since HEAD~1 ({base})\n"
        "\n"
        f"_HEAD~1 ({base}) has no bundle configuration: it counts as no outputs._\n"
        "\n"
        "## one\n"
        "\n"
        "- added: `claude-code/agents/one.md`\n"
        "- added: `claude-plugin/plugins/demo/agents/one.md`\n"
        "- added: `opencode/agent/one.md`\n"
        "\n"
        "## Bundle files\n"
        "\n"
        "- added: `README.md`\n"
        "- added: `claude-plugin/.claude-plugin/marketplace.json`\n"
        "- added: `claude-plugin/plugins/demo/.claude-plugin/plugin.json`\n"
    )


@NEEDS_GIT
def test_since_a_revision_that_does_not_build_is_an_error(tmp_path: Path, no_epoch: None) -> None:
    root = repo(tmp_path / "r", bundle_files(one="---\nname: one\n---\nno description\n"))
    write_tree(root, bundle_files(one=agent("one")))
    commit_all(root)
    base = git(root, "rev-parse", "HEAD~1")[:12]
    with pytest.raises(BundleError) as caught:
        package(root, out=tmp_path / "out", since="HEAD~1")
    assert caught.value.message == (
        f"--since HEAD~1: cannot build HEAD~1 ({base}): the build fails there;"
        " HEAD~1:agents/one.md:2:1: error: 'description' is required and must be"
        " a non-empty string [PB001]"
    )
    assert not (tmp_path / "out").exists()


def test_since_outside_git_is_an_error(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "plain", bundle_files(one=agent("one")))
    if subprocess.run(["git", "-C", str(root), "rev-parse"], capture_output=True).returncode == 0:
        pytest.skip("tmp_path is inside a git repository")
    with pytest.raises(BundleError) as caught:
        package(root, out=tmp_path / "out", since="HEAD", environ={})
    assert caught.value.message == f"--since needs a git repository; {root} is not in one"


# -- verify --------------------------------------------------------------------------------


def tamper(archive: Path, dest: Path, change: dict[str, bytes | None]) -> Path:
    """A copy of a tar.gz or zip release with files replaced (bytes) or dropped (None)."""
    contents = read_archive(archive)
    files = {**contents.files, "manifest.json": json.dumps(contents.manifest).encode()}
    for rel, content in change.items():
        if content is None:
            files.pop(rel)
        else:
            files[rel] = content
    dest.mkdir(parents=True, exist_ok=True)
    out = dest / archive.name
    writer = zip_bytes if archive.suffix == ".zip" else tar_gz_bytes
    out.write_bytes(writer(contents.prefix, files, 1700000000))
    return out


def test_intact_archives_verify(released: Path) -> None:
    for name in ("demo-1.2.3.tar.gz", "demo-1.2.3.zip"):
        report = verify_archive(released / name)
        assert report.ok and report.exit_code == 0 and report.checked == 9


@pytest.mark.parametrize("name", ["demo-1.2.3.tar.gz", "demo-1.2.3.zip"])
def test_verify_names_one_altered_byte(released: Path, tmp_path: Path, name: str) -> None:
    original = read_archive(released / name).files["claude-code/agents/one.md"]
    altered = bytes([original[0] ^ 1]) + original[1:]
    bad = tamper(released / name, tmp_path / "bad", {"claude-code/agents/one.md": altered})
    report = verify_archive(bad)
    assert report.exit_code == 1
    digest = hashlib.sha256(altered).hexdigest()[:12]
    assert report.problems == [f"altered: claude-code/agents/one.md (sha256 {digest}… differs)"]


@pytest.mark.parametrize("name", ["demo-1.2.3.tar.gz", "demo-1.2.3.zip"])
def test_verify_names_a_missing_and_an_extra_file(
    released: Path, tmp_path: Path, name: str
) -> None:
    bad = tamper(
        released / name,
        tmp_path / "bad",
        {"opencode/agent/two.md": None, "opencode/agent/evil.md": b"be evil\n"},
    )
    assert verify_archive(bad).problems == [
        "missing: opencode/agent/two.md",
        "extra: opencode/agent/evil.md",
    ]


def test_verify_checks_the_archive_against_sha256sums_beside_it(released: Path) -> None:
    archive = released / "demo-1.2.3.zip"
    with zipfile.ZipFile(archive, "a") as handle:
        handle.comment = b"changed"
    assert verify_archive(archive).problems == [
        "altered archive: its sha256 differs from SHA256SUMS"
    ]


def test_verify_reports_entries_outside_the_release_folder(tmp_path: Path) -> None:
    manifest = json.dumps({"files": []}).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as handle:
        handle.writestr("rel/manifest.json", manifest)
        handle.writestr("stray.txt", b"x")
    (tmp_path / "r.zip").write_bytes(buffer.getvalue())
    assert verify_archive(tmp_path / "r.zip").problems == ["extra: stray.txt (outside rel/)"]


def _tar_gz_with(path: Path, extra: tarfile.TarInfo) -> Path:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        data = json.dumps({"files": []}).encode()
        info = tarfile.TarInfo("rel/manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        tar.addfile(extra, io.BytesIO(b""))
    path.write_bytes(gzip.compress(raw.getvalue()))
    return path


def test_verify_refuses_a_link_in_the_archive(tmp_path: Path) -> None:
    link = tarfile.TarInfo("rel/link")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    path = _tar_gz_with(tmp_path / "r.tar.gz", link)
    with pytest.raises(BundleError) as caught:
        verify_archive(path)
    assert caught.value.lines() == [
        f"{path}:1:1: error: entry 'rel/link' is a link, device or other entry that is not a "
        "regular file or folder [PB304]"
    ]


def test_verify_refuses_a_path_leading_out_of_the_archive(tmp_path: Path) -> None:
    path = _tar_gz_with(tmp_path / "r.tar.gz", tarfile.TarInfo("rel/../up.md"))
    with pytest.raises(BundleError) as caught:
        verify_archive(path)
    assert caught.value.code == "PB305"
    assert caught.value.message == (
        "entry 'rel/../up.md' is not a canonical relative path (no '.', '..' or empty "
        "components, no leading '/', no backslash)"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read archive: No such file or directory"),
        (b"just text", "not a release archive: its content is neither a gzipped tar nor a zip"),
        (
            b"\x1f\x8b\x08\x00garbage",
            "corrupt archive: Compressed file ended before the end-of-stream marker was reached",
        ),
        (b"PK\x03\x04garbage", "corrupt archive: File is not a zip file"),
    ],
)
def test_unreadable_archives_are_errors(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "r.tar.gz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(BundleError) as caught:
        verify_archive(path)
    assert caught.value.message == message
    assert caught.value.location is not None and caught.value.location.path == path


def test_truncated_tar_gz_is_a_corrupt_archive(released: Path, tmp_path: Path) -> None:
    data = (released / "demo-1.2.3.tar.gz").read_bytes()
    (tmp_path / "cut.tar.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(BundleError) as caught:
        verify_archive(tmp_path / "cut.tar.gz")
    assert caught.value.message == (
        "corrupt archive: Compressed file ended before the end-of-stream marker was reached"
    )


def zip_with(entries: dict[str, bytes], path: Path) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as handle:
        for name, data in entries.items():
            handle.writestr(name, data)
    path.write_bytes(buffer.getvalue())
    return path


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"rel/a.md": b"a"}, "expected one top-level folder with manifest.json (found: none)"),
        (
            {"a/manifest.json": b"{}", "b/manifest.json": b"{}"},
            "expected one top-level folder with manifest.json"
            " (found: a/manifest.json, b/manifest.json)",
        ),
        (
            {"rel/manifest.json": b"{nope"},
            "manifest.json in the archive is not JSON: Expecting property name enclosed in"
            " double quotes: line 1 column 2 (char 1)",
        ),
        ({"rel/manifest.json": b"[]"}, "manifest.json in the archive has no 'outputs' list"),
        (
            {"rel/manifest.json": b'{"files": [{"path": "../x", "sha256": "0", "bytes": 1}]}'},
            "manifest.json in the archive: file entry 1 needs a canonical relative 'path', a hex"
            " 'sha256' and integer 'bytes'",
        ),
    ],
)
def test_bad_manifests_are_errors(tmp_path: Path, entries: dict[str, bytes], message: str) -> None:
    path = zip_with(entries, tmp_path / "r.zip")
    with pytest.raises(BundleError) as caught:
        verify_archive(path)
    assert caught.value.message == message
    assert caught.value.location == Location(path)


@NEEDS_GIT
def test_a_bundle_with_uncommitted_changes_is_refused_unless_allowed(
    tmp_path: Path, no_epoch: None
) -> None:
    root = repo(tmp_path / "r", bundle_files(one=agent("one")))
    clean = package(root, out=tmp_path / "clean")
    manifest = read_archive(Path(clean.data["archives"][0])).manifest
    assert (clean.data["clean"], manifest["clean"]) == (True, True)
    (root / "agents/one.md").write_text(agent("one", "Uncommitted.\n"))
    with pytest.raises(UsageError) as caught:
        package(root, out=tmp_path / "refused")
    assert caught.value.message == (
        f"{root} has uncommitted changes, so the release would not be the commit it names; "
        'commit them, or package anyway with --allow-dirty (the manifest then says "clean": false)'
    )
    assert not (tmp_path / "refused").exists()
    dirty = package(root, out=tmp_path / "dirty", allow_dirty=True)
    manifest = read_archive(Path(dirty.data["archives"][0])).manifest
    assert (dirty.data["clean"], manifest["clean"], manifest["commit"]) == (
        False,
        False,
        clean.data["commit"],
    )


def test_a_bundle_outside_git_records_no_commit_and_no_cleanliness(
    make_bundle: BundleFactory, tmp_path: Path, no_epoch: None
) -> None:
    root = make_bundle({"agents/one.md": agent("one")})
    report = package(root, out=tmp_path / "out")
    manifest = read_archive(Path(report.data["archives"][0])).manifest
    assert (manifest["commit"], manifest["clean"]) == (None, None)


# -- no write through a link out of the bundle --------------------------------------------


def test_a_release_folder_linking_out_of_the_bundle_is_refused(
    make_bundle: BundleFactory, tmp_path: Path, no_epoch: None
) -> None:
    root = make_bundle({"agents/one.md": agent("one")})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "dist").mkdir()
    (root / "dist/release").symlink_to(elsewhere)
    with pytest.raises(BundleError) as caught:
        package(root)
    assert caught.value.lines() == [
        f"{root / 'dist/release'}:1:1: error: dist/release is a symbolic link to {elsewhere}, "
        f"outside {root}; refusing to go through it [PB307]"
    ]
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("name", ["SHA256SUMS", "demo-1.2.3.zip"])
def test_a_release_file_linking_out_of_the_release_folder_is_refused(
    make_bundle: BundleFactory, tmp_path: Path, no_epoch: None, name: str
) -> None:
    root = make_bundle({"agents/one.md": agent("one")})
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / name).symlink_to(victim)
    with pytest.raises(BundleError) as caught:
        package(root, out=out)
    assert (caught.value.code, caught.value.location) == ("PB307", Location(out / name))
    assert victim.read_text() == "keep me\n"
    assert sorted(p.name for p in out.iterdir()) == [name]
