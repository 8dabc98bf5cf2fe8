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
import unicodedata
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

from promptbundle.core.errors import BundleError, Location, UsageError
from promptbundle.core.files import atomic_write, file_sha256, is_plain_relative, sha256
from promptbundle.core.git import git_text

__all__ = [
    "CHANGES",
    "DEFAULT_LIMITS",
    "RELEASE_MANIFEST",
    "SUMS",
    "ArchiveContents",
    "ArchiveLimits",
    "VerifyReport",
    "manifest_entries",
    "read_archive",
    "release_names",
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
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(r"[\[\]{}]")

Files = dict[str, bytes]
_CHUNK = 1 << 16
# How much of a SHA256SUMS file is read (a line per archive; a release has two).
_MAX_SUMS_BYTES = 1 << 20
# The zip compression methods read: those a release is written with.
_ZIP_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
# How deep manifest.json may nest (a release manifest needs four levels).
MAX_MANIFEST_DEPTH = 32


@dataclass(frozen=True)
class ArchiveLimits:
    """What `verify` and `install --from` read of an archive before refusing it."""

    max_entries: int = 20_000
    max_entry_bytes: int = 16 << 20
    max_total_bytes: int = 100 << 20
    # Uncompressed over compressed bytes, checked once more than `ratio_floor` bytes are out.
    max_ratio: int = 200
    ratio_floor: int = 1 << 20


DEFAULT_LIMITS = ArchiveLimits()


@dataclass
class ArchiveContents:
    """A release archive read into memory: files relative to its top folder."""

    path: Path
    prefix: str
    manifest: dict[str, Any]
    files: Files = field(default_factory=dict)
    outside: list[str] = field(default_factory=list)


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


def release_names(prefix: str) -> list[str]:
    """The files `write_release` writes into its folder."""
    return [f"{prefix}.tar.gz", f"{prefix}.zip", SUMS]


def write_release(
    out_dir: Path, prefix: str, files: Mapping[str, bytes], epoch: int
) -> tuple[list[Path], Path]:
    """Write `<prefix>.tar.gz`, `<prefix>.zip` and SHA256SUMS into `out_dir`."""
    tar_name, zip_name, _ = release_names(prefix)
    archives = {
        tar_name: tar_gz_bytes(prefix, files, epoch),
        zip_name: zip_bytes(prefix, files, epoch),
    }
    sums = "".join(f"{sha256(data)}  {name}\n" for name, data in sorted(archives.items()))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, data in archives.items():
            atomic_write(out_dir / name, data)
        atomic_write(out_dir / SUMS, sums.encode("utf-8"))
    except OSError as err:
        raise BundleError(f"cannot write the release: {err}", Location(out_dir)) from err
    return [out_dir / name for name in sorted(archives)], out_dir / SUMS


# -- reading and verifying -----------------------------------------------------------------


def manifest_entries(manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The file entries of a release manifest (`outputs`; `files` in older releases)."""
    entries = manifest.get("outputs", manifest.get("files"))
    return list(entries) if isinstance(entries, list) else []


def _check_name(path: Path, name: str, seen: dict[str, str]) -> None:
    """Refuse an entry name that is not canonical (PB305), or a second entry of one name."""
    if not is_plain_relative(name):
        raise BundleError(
            f"entry {name!r} is not a canonical relative path (no '.', '..' or empty "
            "components, no leading '/', no backslash)",
            Location(path),
            code="PB305",
        )
    key = unicodedata.normalize("NFC", name)
    if key in seen:
        same = "" if seen[key] == name else f" (the same name as {seen[key]!r} once normalised)"
        raise BundleError(f"entry {name!r} appears twice{same}", Location(path), code="PB305")
    seen[key] = name


class _Budget:
    """What an archive may still hold: entries and uncompressed bytes, checked as read."""

    def __init__(self, path: Path, limits: ArchiveLimits, packed: int) -> None:
        self.path = path
        self.limits = limits
        self.packed = max(packed, 1)
        self.entries = 0
        self.total = 0

    def refuse(self, message: str, code: str = "PB302") -> BundleError:
        return BundleError(message, Location(self.path), code=code)

    def entry(self, name: str, declared: int) -> None:
        self.entries += 1
        if self.entries > self.limits.max_entries:
            raise self.refuse(
                f"more than {self.limits.max_entries} entries; refusing to read on", "PB301"
            )
        if declared > self.limits.max_entry_bytes:
            raise self.refuse(
                f"entry {name!r} declares {declared} bytes, over the limit of "
                f"{self.limits.max_entry_bytes} per file"
            )

    def read(self, name: str, handle: IO[bytes], *, counted: bool = False) -> bytes:
        """The entry's bytes, read in chunks and refused as soon as a limit is passed
        (`counted`: the stream already counts them towards the total)."""
        chunks = []
        size = 0
        while chunk := handle.read(_CHUNK):
            size += len(chunk)
            if size > self.limits.max_entry_bytes:
                raise self.refuse(
                    f"entry {name!r} holds more than {self.limits.max_entry_bytes} bytes"
                )
            if not counted:
                self.total += len(chunk)
                self.check_total()
            chunks.append(chunk)
        return b"".join(chunks)

    def check_total(self) -> None:
        if self.total > self.limits.max_total_bytes:
            raise self.refuse(
                f"more than {self.limits.max_total_bytes} bytes uncompressed; refusing to "
                "read on (an archive bomb?)"
            )
        if (
            self.total > self.limits.ratio_floor
            and self.total > self.packed * self.limits.max_ratio
        ):
            raise self.refuse(
                f"expands more than {self.limits.max_ratio} times its compressed size "
                f"({self.packed} bytes); refusing to read on (an archive bomb?)"
            )


class _Inflated(io.RawIOBase):
    """A gzip stream's uncompressed bytes (tar headers too), counted against the budget's
    total as they are read."""

    def __init__(self, stream: gzip.GzipFile, budget: _Budget) -> None:
        self.stream = stream
        self.budget = budget

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.stream.read(min(len(buffer), _CHUNK))
        buffer[: len(data)] = data
        self.budget.total += len(data)
        self.budget.check_total()
        return len(data)


def _read_tar(path: Path, budget: _Budget) -> Files:
    files: Files = {}
    seen: dict[str, str] = {}
    with (
        gzip.open(path, "rb") as packed,
        tarfile.open(
            fileobj=cast("IO[bytes]", io.BufferedReader(_Inflated(packed, budget), _CHUNK)),
            mode="r|",
        ) as tar,
    ):
        for member in tar:
            name = member.name[:-1] if member.isdir() and member.name.endswith("/") else member.name
            _check_name(path, name, seen)
            budget.entry(name, member.size if member.isfile() else 0)
            if member.isdir():
                continue
            if not member.isfile():
                raise _not_regular(path, name)
            handle = tar.extractfile(member)
            files[name] = budget.read(name, handle, counted=True) if handle is not None else b""
    return files


def _read_zip(path: Path, budget: _Budget) -> Files:
    files: Files = {}
    seen: dict[str, str] = {}
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        if len(infos) > budget.limits.max_entries:
            raise budget.refuse(
                f"{len(infos)} entries, over the limit of {budget.limits.max_entries}", "PB301"
            )
        for info in infos:
            name = info.filename[:-1] if info.is_dir() else info.filename
            _check_name(path, name, seen)
            budget.entry(name, info.file_size)
            _check_zip_entry(path, info, budget.limits)
            if info.is_dir():
                continue
            with archive.open(info) as handle:
                files[name] = budget.read(name, handle)
    return files


def _check_zip_entry(path: Path, info: zipfile.ZipInfo, limits: ArchiveLimits) -> None:
    """Refuse encrypted entries, unknown compression methods (PB303), links and devices
    (PB304) and an entry that claims to expand more than the ratio allows (PB302)."""
    name = info.filename
    if info.flag_bits & 0x1:
        raise BundleError(f"entry {name!r} is encrypted", Location(path), code="PB303")
    if info.compress_type not in _ZIP_METHODS:
        raise BundleError(
            f"entry {name!r} uses compression method {info.compress_type}, which is not "
            "supported (stored and deflate are)",
            Location(path),
            code="PB303",
        )
    kind = (info.external_attr >> 16) & 0o170000
    if kind not in (0, 0o100000, 0o040000):
        raise _not_regular(path, name)
    if (
        info.file_size > limits.ratio_floor
        and info.file_size > max(info.compress_size, 1) * limits.max_ratio
    ):
        raise BundleError(
            f"entry {name!r} expands {info.compress_size} bytes to {info.file_size}, more than "
            f"{limits.max_ratio} times (an archive bomb?)",
            Location(path),
            code="PB302",
        )


def _not_regular(path: Path, name: str) -> BundleError:
    return BundleError(
        f"entry {name!r} is a link, device or other entry that is not a regular file or folder",
        Location(path),
        code="PB304",
    )


def _read_entries(path: Path, limits: ArchiveLimits) -> Files:
    """Regular files by name, read within `limits`; anything else is refused."""
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
            packed = handle.seek(0, os.SEEK_END)
    except OSError as err:
        raise BundleError(f"cannot read archive: {err.strerror or err}", Location(path)) from err
    if packed > limits.max_total_bytes:
        raise BundleError(
            f"the archive is {packed} bytes, over the limit of {limits.max_total_bytes}",
            Location(path),
            code="PB302",
        )
    budget = _Budget(path, limits, packed)
    if magic[:2] == b"\x1f\x8b":
        return _read_tar(path, budget)
    if magic == b"PK\x03\x04":
        return _read_zip(path, budget)
    raise BundleError(
        "not a release archive: its content is neither a gzipped tar nor a zip", Location(path)
    )


def read_archive(path: Path, limits: ArchiveLimits = DEFAULT_LIMITS) -> ArchiveContents:
    """Read a release archive and its manifest within `limits`, streaming; raises when it
    cannot be read, or holds anything but canonical folders and regular files."""
    try:
        entries = _read_entries(path, limits)
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
    contents = ArchiveContents(path, prefix.rstrip("/"), manifest)
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
        text = data.decode("utf-8")
        _check_depth(path, text)
        manifest = json.loads(text)
    except (UnicodeDecodeError, ValueError) as err:
        raise BundleError(
            f"{RELEASE_MANIFEST} in the archive is not JSON: {err}", where, code="PB306"
        ) from err
    files = manifest.get("outputs", manifest.get("files")) if isinstance(manifest, dict) else None
    if not isinstance(files, list):
        raise BundleError(
            f"{RELEASE_MANIFEST} in the archive has no 'outputs' list", where, code="PB306"
        )
    for number, entry in enumerate(files, 1):
        if not _valid_entry(entry):
            raise BundleError(
                f"{RELEASE_MANIFEST} in the archive: file entry {number} needs a canonical "
                "relative 'path', a hex 'sha256' and integer 'bytes'",
                where,
                code="PB306",
            )
    assert isinstance(manifest, dict)
    return manifest


def _valid_entry(entry: object) -> bool:
    """Whether a manifest file entry has a canonical path, a hex digest and a size."""
    return (
        isinstance(entry, dict)
        and is_plain_relative(entry.get("path"))
        and isinstance(entry.get("sha256"), str)
        and _HEX64.match(entry["sha256"]) is not None
        and isinstance(entry.get("bytes"), int)
    )


def _check_depth(path: Path, text: str) -> None:
    """Refuse JSON nested deeper than MAX_MANIFEST_DEPTH before parsing it (a parser would
    recurse once per level)."""
    depth = 0
    for match in _BRACKETS.finditer(_JSON_STRING.sub('""', text)):
        depth += 1 if match.group() in "[{" else -1
        if depth > MAX_MANIFEST_DEPTH:
            raise BundleError(
                f"{RELEASE_MANIFEST} in the archive nests deeper than {MAX_MANIFEST_DEPTH} levels",
                Location(path),
                code="PB306",
            )


def _sums_problem(path: Path) -> str | None:
    """A mismatch with a SHA256SUMS file beside the archive, if one lists it."""
    sums = path.parent / SUMS
    if not sums.is_file():
        return None
    with sums.open("rb") as handle:
        text = handle.read(_MAX_SUMS_BYTES).decode("utf-8", errors="replace")
    for line in text.splitlines():
        digest, _, name = line.partition("  ")
        if name.lstrip("*") == path.name:
            if digest != file_sha256(path):
                return f"altered archive: its sha256 differs from {SUMS}"
            return None
    return None


def verify_archive(path: Path, limits: ArchiveLimits = DEFAULT_LIMITS) -> VerifyReport:
    """Check every file of a release archive against its manifest, and the archive's digest."""
    contents = read_archive(path, limits)
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
    problem = _sums_problem(path)
    if problem:
        report.problems.append(problem)
    return report
