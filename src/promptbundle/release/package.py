"""Publish a fresh build as a reproducible release, and verify a release archive.

`package` renders the bundle in memory and writes `<bundle>-<version>.tar.gz` and `.zip`
(every output under one `<bundle>-<version>/` folder, plus `manifest.json` and, with `since`,
`CHANGES.md`) and a `SHA256SUMS` beside them. The same sources and the same commit give the
same bytes: entries are sorted, times come from SOURCE_DATE_EPOCH or the last commit, owners
and modes are fixed, and the gzip header carries no name and no time.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import subprocess
import tarfile
import time
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptbundle import __version__
from promptbundle.build.emit import manifest_entry, sha256
from promptbundle.build.pipeline import BuildResult, build_outputs, load
from promptbundle.core.errors import (
    BuildFailedError,
    BundleError,
    Location,
    PromptBundleError,
    UsageError,
)
from promptbundle.sources.config import VERSION_PATTERN

if TYPE_CHECKING:
    from promptbundle.review.diff import BundleDiff, OutputChange

__all__ = [
    "CHANGES",
    "RELEASE_MANIFEST",
    "SUMS",
    "ArchiveContents",
    "PackageReport",
    "VerifyReport",
    "changes_markdown",
    "package",
    "read_archive",
    "source_date_epoch",
    "verify_archive",
]

RELEASE_MANIFEST = "manifest.json"
CHANGES = "CHANGES.md"
SUMS = "SHA256SUMS"
# 1980-01-01T00:00:00Z: the earliest time a zip entry can hold; used outside git.
FALLBACK_EPOCH = 315532800
FILE_MODE = 0o644
DIR_MODE = 0o755
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

Files = dict[str, bytes]


@dataclass
class PackageReport:
    """What `package` wrote."""

    name: str
    version: str
    archives: list[Path]
    sums: Path
    files: int
    commit: str | None
    changes: bool = False

    def lines(self) -> list[str]:
        return [str(path) for path in [*self.archives, self.sums]]

    @property
    def summary(self) -> str:
        commit = f" at {self.commit[:12]}" if self.commit else ""
        notes = " with CHANGES.md" if self.changes else ""
        return f"packaged {self.name} {self.version}{commit}: {self.files} files{notes}"


@dataclass
class ArchiveContents:
    """A release archive read into memory: files relative to its top folder."""

    path: Path
    prefix: str
    manifest: dict[str, Any]
    files: Files = field(default_factory=dict)
    outside: list[str] = field(default_factory=list)
    irregular: list[str] = field(default_factory=list)


@dataclass
class VerifyReport:
    """Every way an archive differs from its manifest (empty when it is intact)."""

    archive: Path
    checked: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def summary(self) -> str:
        if self.ok:
            return f"{self.archive.name}: OK ({self.checked} files match manifest.json)"
        return f"{self.archive.name}: FAILED ({len(self.problems)} problem(s))"

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1


# -- git -----------------------------------------------------------------------------------


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes] | None:
    """Run git in `root`; None when git is not installed."""
    try:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False)
    except OSError:
        return None


def _git_text(root: Path, *args: str) -> str | None:
    proc = _git(root, *args)
    if proc is None or proc.returncode != 0:
        return None
    return proc.stdout.decode("utf-8", errors="replace").strip() or None


def source_date_epoch(root: Path, environ: Mapping[str, str] | None = None) -> int:
    """The release timestamp: SOURCE_DATE_EPOCH, else the last commit's time, else 1980."""
    env = os.environ if environ is None else environ
    value = env.get("SOURCE_DATE_EPOCH", "").strip()
    if value:
        if not value.isdigit():
            raise UsageError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970, got {value!r}")
        return int(value)
    committed = _git_text(root, "log", "-1", "--format=%ct")
    if committed is not None and committed.isdigit():
        return int(committed)
    return FALLBACK_EPOCH


# -- building ------------------------------------------------------------------------------


def _fresh_build(root: Path | None) -> BuildResult:
    result = build_outputs(load(root))
    if result.errors:
        raise BuildFailedError(
            [d.line() for d in result.errors],
            f"build failed: {len(result.errors)} error(s); nothing packaged",
        )
    return result


def _changes_since(root: Path, ref: str) -> BundleDiff:
    """The rendered difference between `ref` and the working tree (the diff machinery)."""
    from promptbundle.review.diff import diff_revisions
    from promptbundle.review.revisions import repo_root

    try:
        repo_root(root)
    except PromptBundleError as err:
        raise BundleError(f"--since needs a git repository; {root} is not in one") from err
    try:
        return diff_revisions(root, base=ref)
    except PromptBundleError as err:
        detail = "; ".join(line.removeprefix("error: ") for line in err.lines())
        raise BundleError(f"--since {ref}: {detail}") from err


def changes_markdown(diff: BundleDiff, *, title: str) -> str:
    """Per agent, which rendered outputs changed since the base, and how (unified diffs)."""
    from promptbundle.review.report import clusters, fence_for

    by_agent: dict[str, list[OutputChange]] = {}
    for output in diff.outputs:
        by_agent.setdefault(output.agent or "", []).append(output)
    lines = [f"# {title}", "", *(f"_{note}._" for note in diff.notes), ""]
    if not diff.notes:
        lines.pop()
    if not by_agent:
        lines += ["No rendered output changed.", ""]
    verbs = {"modified": "changed", "added": "added", "removed": "removed"}
    for agent in sorted(by_agent, key=lambda a: (a == "", a)):
        outputs = sorted(by_agent[agent], key=lambda o: o.path)
        lines += [f"## {agent}" if agent else "## Bundle files", ""]
        lines += [f"- {verbs[o.status]}: `{o.path}`" for o in outputs]
        lines.append("")
        for cluster in clusters(outputs):
            first = cluster[0]
            if first.status != "modified":
                continue
            fence = fence_for(first.diff)
            where = ", ".join(f"`{o.path}`" for o in cluster)
            lines += [f"Change in {where}:", "", f"{fence}diff", first.diff.rstrip("\n"), fence, ""]
    return "\n".join(lines)


# -- archives ------------------------------------------------------------------------------


def _tree(prefix: str, files: Mapping[str, bytes]) -> list[tuple[str, bytes | None]]:
    """Every entry under `prefix/`, folders (None) before their contents, sorted."""
    entries: dict[str, bytes | None] = {prefix: None}
    for rel, content in files.items():
        parts = f"{prefix}/{rel}".split("/")
        for depth in range(1, len(parts)):
            entries.setdefault("/".join(parts[:depth]), None)
        entries["/".join(parts)] = content
    return sorted(entries.items(), key=lambda item: item[0].split("/"))


def tar_gz_bytes(prefix: str, files: Mapping[str, bytes], epoch: int) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in _tree(prefix, files):
            info = tarfile.TarInfo(name)
            info.mtime = epoch
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if content is None:
                info.type = tarfile.DIRTYPE
                info.mode = DIR_MODE
                tar.addfile(info)
            else:
                info.mode = FILE_MODE
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    packed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=packed, compresslevel=9, mtime=0) as gz:
        gz.write(raw.getvalue())
    return packed.getvalue()


def zip_bytes(prefix: str, files: Mapping[str, bytes], epoch: int) -> bytes:
    stamp = time.gmtime(max(epoch, FALLBACK_EPOCH))[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in _tree(prefix, files):
            is_dir = content is None
            info = zipfile.ZipInfo(name + "/" if is_dir else name, date_time=stamp)
            info.create_system = 3  # Unix, so external_attr carries the mode
            if is_dir:
                info.external_attr = ((0o040000 | DIR_MODE) << 16) | 0x10
                info.compress_type = zipfile.ZIP_STORED
                archive.writestr(info, b"")
            else:
                info.external_attr = (0o100000 | FILE_MODE) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, content or b"", compresslevel=9)
    return buffer.getvalue()


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def package(
    root: Path | None,
    *,
    out: Path | None = None,
    version: str | None = None,
    since: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> PackageReport:
    """Build the bundle afresh and write its release archives and SHA256SUMS."""
    result = _fresh_build(root)
    config = result.bundle.config
    version = config.version if version is None else version
    if not VERSION_PATTERN.match(version):
        raise UsageError(f"--version must be a semantic version like 1.2.3, got {version!r}")
    epoch = source_date_epoch(config.root, environ)
    commit = _git_text(config.root, "rev-parse", "--verify", "--quiet", "HEAD")
    files: Files = {o.path: o.content for o in result.outputs}
    entries = [manifest_entry(o) for o in result.outputs]
    if since is not None:
        changes = _changes_since(config.root, since)
        commit_id = changes.base.commit or ""
        title = f"{config.name} {version}: changes since {since} ({commit_id[:12]})"
        notes = changes_markdown(changes, title=title)
        files[CHANGES] = notes.encode("utf-8")
        entries.append(
            {
                "path": CHANGES,
                "target": None,
                "agent": None,
                "sha256": sha256(files[CHANGES]),
                "bytes": len(files[CHANGES]),
                "sources": [],
            }
        )
    manifest = {
        "bundle": config.name,
        "version": version,
        "promptbundle": __version__,
        "commit": commit,
        "source_date_epoch": epoch,
        "targets": [{"name": t.name, "format": t.format} for t in config.targets],
        "files": sorted(entries, key=lambda e: str(e["path"])),
    }
    files[RELEASE_MANIFEST] = _json_bytes(manifest)
    prefix = f"{config.name}-{version}"
    out_dir = out if out is not None else config.out_dir / "release"
    archives = {
        f"{prefix}.tar.gz": tar_gz_bytes(prefix, files, epoch),
        f"{prefix}.zip": zip_bytes(prefix, files, epoch),
    }
    sums = "".join(f"{sha256(data)}  {name}\n" for name, data in sorted(archives.items()))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, data in archives.items():
            (out_dir / name).write_bytes(data)
        (out_dir / SUMS).write_text(sums, encoding="utf-8")
    except OSError as err:
        raise BundleError(f"cannot write the release: {err}", Location(out_dir)) from err
    return PackageReport(
        name=config.name,
        version=version,
        archives=[out_dir / name for name in sorted(archives)],
        sums=out_dir / SUMS,
        files=len(files),
        commit=commit,
        changes=since is not None,
    )


# -- reading and verifying -----------------------------------------------------------------


def _safe_name(name: str) -> bool:
    parts = name.split("/")
    return not name.startswith("/") and ".." not in parts and "\\" not in name


def _read_entries(path: Path, data: bytes) -> tuple[Files, list[str]]:
    """Regular files by name, and the names of entries that are not regular files."""
    files: Files = {}
    irregular: list[str] = []
    if data[:2] == b"\x1f\x8b":
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar.getmembers():
                name = member.name.rstrip("/")
                if member.isdir():
                    continue
                if not member.isfile() or not _safe_name(name):
                    irregular.append(name)
                    continue
                handle = tar.extractfile(member)
                files[name] = handle.read() if handle is not None else b""
    elif data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                kind = (info.external_attr >> 16) & 0o170000
                if kind not in (0, 0o100000) or not _safe_name(info.filename):
                    irregular.append(info.filename)
                    continue
                files[info.filename] = archive.read(info)
    else:
        raise BundleError(
            "not a release archive: its content is neither a gzipped tar nor a zip", Location(path)
        )
    return files, irregular


def read_archive(path: Path) -> ArchiveContents:
    """Read a release archive and its manifest; raises when it cannot be read at all."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise BundleError(f"cannot read archive: {err.strerror or err}", Location(path)) from err
    try:
        entries, irregular = _read_entries(path, data)
    except (tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
        raise BundleError(f"corrupt archive: {err}", Location(path)) from err
    manifests = sorted(
        n for n in entries if n == RELEASE_MANIFEST or re.fullmatch(r"[^/]+/manifest\.json", n)
    )
    if len(manifests) != 1:
        found = "none" if not manifests else ", ".join(manifests)
        raise BundleError(
            f"expected one top-level folder with {RELEASE_MANIFEST} (found: {found})",
            Location(path),
        )
    prefix = manifests[0][: -len(RELEASE_MANIFEST)]
    manifest = _parse_manifest(path, entries.pop(manifests[0]))
    contents = ArchiveContents(path, prefix.rstrip("/"), manifest, irregular=sorted(irregular))
    for name, content in entries.items():
        if name.startswith(prefix):
            contents.files[name[len(prefix) :]] = content
        else:
            contents.outside.append(name)
    contents.outside.sort()
    return contents


def _parse_manifest(path: Path, data: bytes) -> dict[str, Any]:
    where = Location(path)
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise BundleError(f"{RELEASE_MANIFEST} in the archive is not JSON: {err}", where) from err
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, list):
        raise BundleError(f"{RELEASE_MANIFEST} in the archive has no 'files' list", where)
    for number, entry in enumerate(files, 1):
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("path"), str)
            and _safe_name(entry["path"])
            and isinstance(entry.get("sha256"), str)
            and _HEX64.match(entry["sha256"])
            and isinstance(entry.get("bytes"), int)
        ):
            raise BundleError(
                f"{RELEASE_MANIFEST} in the archive: file entry {number} needs a safe 'path', "
                f"a hex 'sha256' and integer 'bytes'",
                where,
            )
    assert isinstance(manifest, dict)
    return manifest


def _sums_problem(path: Path) -> str | None:
    """A mismatch with a SHA256SUMS file beside the archive, if one lists it."""
    sums = path.parent / SUMS
    if not sums.is_file():
        return None
    for line in sums.read_text(encoding="utf-8", errors="replace").splitlines():
        digest, _, name = line.partition("  ")
        if name.lstrip("*") == path.name:
            if digest != sha256(path.read_bytes()):
                return f"altered archive: its sha256 differs from {SUMS}"
            return None
    return None


def verify_archive(path: Path) -> VerifyReport:
    """Check every file of a release archive against its manifest, and the archive's digest."""
    contents = read_archive(path)
    report = VerifyReport(path, checked=len(contents.manifest["files"]))
    listed: set[str] = set()
    for entry in contents.manifest["files"]:
        rel = entry["path"]
        listed.add(rel)
        if rel not in contents.files:
            report.problems.append(f"missing: {rel}")
            continue
        content = contents.files[rel]
        if sha256(content) != entry["sha256"] or len(content) != entry["bytes"]:
            report.problems.append(f"altered: {rel} (sha256 {sha256(content)[:12]}… differs)")
    report.problems += [f"extra: {rel}" for rel in sorted(set(contents.files) - listed)]
    report.problems += [f"extra: {name} (outside {contents.prefix}/)" for name in contents.outside]
    report.problems += [f"not a regular file: {name}" for name in contents.irregular]
    problem = _sums_problem(path)
    if problem:
        report.problems.append(problem)
    return report
