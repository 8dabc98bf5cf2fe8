"""Reproducible release archives: writing them, reading them with care, verifying them.

`<bundle>-<version>.tar.gz` and `.zip` hold every output under one `<bundle>-<version>/`
folder, plus `manifest.json` (and `CHANGES.md` when asked). The same files and the same
timestamp give the same bytes: entries are sorted, owners and modes are fixed, and the gzip
header carries no name and no time. `SHA256SUMS` sits beside them.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import tarfile
import time
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promptbundle.core.errors import BundleError, Location, UsageError
from promptbundle.core.files import sha256
from promptbundle.core.git import git_text

__all__ = [
    "CHANGES",
    "RELEASE_MANIFEST",
    "SUMS",
    "ArchiveContents",
    "VerifyReport",
    "manifest_entries",
    "read_archive",
    "source_date_epoch",
    "tar_gz_bytes",
    "verify_archive",
    "write_release",
    "zip_bytes",
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


def source_date_epoch(root: Path, environ: Mapping[str, str] | None = None) -> int:
    """The release timestamp: SOURCE_DATE_EPOCH, else the last commit's time, else 1980."""
    env = os.environ if environ is None else environ
    value = env.get("SOURCE_DATE_EPOCH", "").strip()
    if value:
        if not value.isdigit():
            raise UsageError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970, got {value!r}")
        return int(value)
    committed = git_text(root, "log", "-1", "--format=%ct")
    if committed is not None and committed.isdigit():
        return int(committed)
    return FALLBACK_EPOCH


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


def write_release(
    out_dir: Path, prefix: str, files: Mapping[str, bytes], epoch: int
) -> tuple[list[Path], Path]:
    """Write `<prefix>.tar.gz`, `<prefix>.zip` and SHA256SUMS into `out_dir`."""
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
    return [out_dir / name for name in sorted(archives)], out_dir / SUMS


# -- reading and verifying -----------------------------------------------------------------


def manifest_entries(manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The file entries of a release manifest (`outputs`; `files` in older releases)."""
    entries = manifest.get("outputs", manifest.get("files"))
    return list(entries) if isinstance(entries, list) else []


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
    files = manifest.get("outputs", manifest.get("files")) if isinstance(manifest, dict) else None
    if not isinstance(files, list):
        raise BundleError(f"{RELEASE_MANIFEST} in the archive has no 'outputs' list", where)
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
    entries = manifest_entries(contents.manifest)
    report = VerifyReport(path, checked=len(entries))
    listed: set[str] = set()
    for entry in entries:
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
