"""Archives are read with limits: bombs, odd entries and odd paths are refused, located."""

from __future__ import annotations

import functools
import gzip
import io
import json
import os
import struct
import subprocess
import sys
import tarfile
import unicodedata
import warnings
import zipfile
import zlib
from pathlib import Path

import pytest

from promptbundle.core.errors import BundleError, Location
from promptbundle.release.archive import ArchiveLimits, read_archive, verify_archive

GIB = 1 << 30
MIB = 1 << 20
MANIFEST = json.dumps({"outputs": []}).encode()

# Run the CLI with at most 500 MB of address space: reading a bomb into memory fails.
# It writes its peak resident memory (KiB) to the file PEAK names when it exits.
LIMITED = """
import atexit, os, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (500 * 1024 * 1024, 500 * 1024 * 1024))

def peak():
    with open(os.environ["PEAK"], "w") as out:
        # VmHWM: this process's own peak (ru_maxrss inherits the parent's across fork and exec).
        out.write(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")))

atexit.register(peak)
from promptbundle.cli import main
main(sys.argv[1:], prog_name="promptbundle")
"""
# Every archive, hostile or not, is read within 10 s and under 200 MB of resident memory.
PEAK_KIB = 200 * 1024


def run_limited(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    peak = cwd / ".peak-kib"
    result = subprocess.run(
        [sys.executable, "-c", LIMITED, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=10,
        cwd=cwd,
        check=False,
        env={**os.environ, "PEAK": str(peak)},
    )
    kib = int(peak.read_text())
    peak.unlink()
    assert kib < PEAK_KIB, f"peak resident memory {kib // 1024} MB"
    return result


@functools.cache
def zero_block(size: int) -> bytes:
    """`size` zero bytes as a self-contained run of deflate blocks (it can be repeated)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(bytes(size)) + packer.flush(zlib.Z_FULL_FLUSH)


def zeros_deflated(size: int) -> bytes:
    """A raw deflate stream of `size` zero bytes (a multiple of 64 MiB; about 64 KB each)."""
    block = 64 * MIB
    return zero_block(block) * (size // block) + zlib.compressobj(9, zlib.DEFLATED, -15).flush()


def tar_header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    return info.tobuf(format=tarfile.PAX_FORMAT)


def gzip_bomb(path: Path, size: int) -> Path:
    """rel/manifest.json, then rel/zeros.md of `size` zero bytes, as a tar.gz of a few MB."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = tar_header("rel/manifest.json", len(MANIFEST)) + MANIFEST.ljust(512, b"\0")
    head += tar_header("rel/zeros.md", size)
    body = packer.compress(head) + packer.flush(zlib.Z_FULL_FLUSH)
    # The CRC and size at the end are wrong: a reader must stop long before them.
    trailer = struct.pack("<II", 0, size & 0xFFFFFFFF)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    path.write_bytes(header + body + zeros_deflated(size) + trailer)
    return path


def many_members_bomb(path: Path, members: int) -> Path:
    """A tar.gz of `members` entries of 15 MiB zeros each, every one under the per-file limit."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = tar_header("rel/manifest.json", len(MANIFEST)) + MANIFEST.ljust(512, b"\0")
    parts = [packer.compress(head)]
    zero_chunk = b""
    for number in range(members):
        parts.append(packer.compress(tar_header(f"rel/z{number}.md", 15 * MIB)))
        parts.append(packer.flush(zlib.Z_FULL_FLUSH))
        if not zero_chunk:
            zero_chunk = packer.compress(bytes(15 * MIB)) + packer.flush(zlib.Z_FULL_FLUSH)
        parts.append(zero_chunk)
    parts.append(packer.flush())
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    path.write_bytes(header + b"".join(parts) + struct.pack("<II", 0, 0))
    return path


def zip_bomb(path: Path, entries: int, size: int) -> Path:
    """A zip of rel/manifest.json and `entries` files of `size` zero bytes each (a multiple
    of 1 MiB), deflated once and written raw: a few KB per file."""
    zeros = zero_block(MIB) * (size // MIB) + zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    members = [("rel/manifest.json", MANIFEST, 0, len(MANIFEST), zlib.crc32(MANIFEST))]
    crc = 0
    for _ in range(size // MIB):
        crc = zlib.crc32(bytes(MIB), crc)
    members += [(f"rel/z{n}.md", zeros, 8, size, crc) for n in range(entries)]
    local, central = bytearray(), bytearray()
    for name, data, method, full, check in members:
        raw = name.encode()
        fields = struct.pack(
            "<HHHHHIIIHH", 20, 0, method, 0, 33, check, len(data), full, len(raw), 0
        )
        central += b"PK\x01\x02" + struct.pack("<H", 20) + fields
        central += struct.pack("<HHHII", 0, 0, 0, 0o100644 << 16, len(local)) + raw
        local += b"PK\x03\x04" + fields + raw + data
    end = struct.pack("<HHHHIIH", 0, 0, len(members), len(members), len(central), len(local), 0)
    path.write_bytes(bytes(local + central) + b"PK\x05\x06" + end)
    return path


def zip_with(path: Path, entries: dict[str, bytes]) -> Path:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a duplicate name warns
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("rel/manifest.json", MANIFEST)
            for name, data in entries.items():
                archive.writestr(name, data)
    path.write_bytes(buffer.getvalue())
    return path


def refusal(path: Path, limits: ArchiveLimits | None = None) -> BundleError:
    with pytest.raises(BundleError) as caught:
        if limits is None:
            verify_archive(path)
        else:
            verify_archive(path, limits)
    assert caught.value.location == Location(path)
    return caught.value


@pytest.mark.parametrize("command", ["verify", "install"])
def test_a_3_gib_gzip_bomb_is_refused_within_500_mb(tmp_path: Path, command: str) -> None:
    bomb = gzip_bomb(tmp_path / "bomb.tar.gz", 3 * GIB)
    assert bomb.stat().st_size < 4 * MIB
    args = ["verify", bomb] if command == "verify" else ["install", "--from", bomb, "--into", "x"]
    proc = run_limited(*args, cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        "bomb.tar.gz:1:1: error: entry 'rel/zeros.md' declares 3221225472 bytes, over the "
        "limit of 16777216 per file [PB302]\n"
    )
    assert not (tmp_path / "x").exists()


def test_a_3_gib_pax_header_is_refused_within_500_mb(tmp_path: Path) -> None:
    info = tarfile.TarInfo("rel/@PaxHeader")
    info.type, info.size = tarfile.XHDTYPE, 3 * GIB
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = packer.compress(info.tobuf(format=tarfile.USTAR_FORMAT))
    body += packer.flush(zlib.Z_FULL_FLUSH)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    bomb = tmp_path / "pax.tar.gz"
    bomb.write_bytes(header + body + zeros_deflated(3 * GIB) + struct.pack("<II", 0, 0))
    proc = run_limited("verify", bomb, cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        "pax.tar.gz:1:1: error: more than 104857600 bytes uncompressed; refusing to read on "
        "(an archive bomb?) [PB302]\n"
    )


def test_a_gzip_bomb_of_many_files_under_the_file_limit_stops_at_the_ratio(
    tmp_path: Path,
) -> None:
    bomb = many_members_bomb(tmp_path / "many.tar.gz", 20)
    proc = run_limited("verify", bomb, cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr.startswith("many.tar.gz:1:1: error: expands more than 200 times its ")
    assert proc.stderr.endswith("refusing to read on (an archive bomb?) [PB302]\n")


def test_a_3_gib_gzip_bomb_of_many_files_stops_at_the_total_limit(tmp_path: Path) -> None:
    bomb = many_members_bomb(tmp_path / "many.tar.gz", 200)
    proc = run_limited("verify", bomb, cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        "many.tar.gz:1:1: error: more than 104857600 bytes uncompressed; refusing to read on "
        "(an archive bomb?) [PB302]\n"
    )


@pytest.mark.parametrize("command", ["verify", "install"])
def test_a_3_gib_zip_bomb_is_refused_within_500_mb(tmp_path: Path, command: str) -> None:
    bomb = zip_bomb(tmp_path / "bomb.zip", 200, 15 * MIB)
    assert bomb.stat().st_size < 4 * MIB
    args = ["verify", bomb] if command == "verify" else ["install", "--from", bomb, "--into", "x"]
    proc = run_limited(*args, cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr.startswith("bomb.zip:1:1: error: entry 'rel/z0.md' expands ")
    assert proc.stderr.endswith(" to 15728640, more than 200 times (an archive bomb?) [PB302]\n")


def test_the_total_uncompressed_size_is_limited(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("rel/manifest.json", MANIFEST)
        archive.writestr("rel/a.md", b"a" * 600)
        archive.writestr("rel/b.md", b"b" * 600)
    path = tmp_path / "r.zip"
    path.write_bytes(buffer.getvalue())
    assert path.stat().st_size < 1000
    err = refusal(path, ArchiveLimits(max_total_bytes=1000))
    assert (err.code, err.message) == (
        "PB302",
        "more than 1000 bytes uncompressed; refusing to read on (an archive bomb?)",
    )


def test_an_entry_over_the_file_limit_is_refused(tmp_path: Path) -> None:
    path = zip_with(tmp_path / "r.zip", {"rel/a.md": b"a" * 600})
    err = refusal(path, ArchiveLimits(max_entry_bytes=500))
    assert (err.code, err.message) == (
        "PB302",
        "entry 'rel/a.md' declares 600 bytes, over the limit of 500 per file",
    )


def test_an_archive_file_over_the_total_limit_is_refused_unread(tmp_path: Path) -> None:
    path = zip_with(tmp_path / "r.zip", {"rel/a.md": b"a" * 600})
    err = refusal(path, ArchiveLimits(max_total_bytes=100))
    assert err.code == "PB302"
    assert err.message.endswith("bytes, over the limit of 100")


@pytest.mark.parametrize("suffix", ["zip", "tar.gz"])
def test_too_many_entries_are_refused(tmp_path: Path, suffix: str) -> None:
    files = {f"rel/{n}.md": b"x" for n in range(5)}
    if suffix == "zip":
        path = zip_with(tmp_path / "r.zip", files)
    else:
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w") as tar:
            for name, data in files.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        path = tmp_path / "r.tar.gz"
        path.write_bytes(gzip.compress(raw.getvalue()))
    err = refusal(path, ArchiveLimits(max_entries=3))
    assert err.code == "PB301"


def _patch(data: bytes, value: int, local: int, central: int) -> bytes:
    """Set a two-byte field of every zip entry, at `local` in its local header and `central`
    in its central directory header."""
    out = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", local), (b"PK\x01\x02", central)):
        start = out.find(signature)
        while start != -1:
            out[start + offset : start + offset + 2] = struct.pack("<H", value)
            start = out.find(signature, start + 4)
    return bytes(out)


def test_an_unknown_compression_method_is_refused(tmp_path: Path) -> None:
    path = zip_with(tmp_path / "r.zip", {})
    path.write_bytes(_patch(path.read_bytes(), 99, local=8, central=10))
    err = refusal(path)
    assert err.lines() == [
        f"{path}:1:1: error: entry 'rel/manifest.json' uses compression method 99, which is "
        "not supported (stored and deflate are) [PB303]"
    ]


def test_bzip2_and_lzma_entries_are_refused(tmp_path: Path) -> None:
    for method in (zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", method) as archive:
            archive.writestr("rel/manifest.json", MANIFEST)
        path = tmp_path / "r.zip"
        path.write_bytes(buffer.getvalue())
        assert refusal(path).code == "PB303"


def test_an_encrypted_entry_is_refused(tmp_path: Path) -> None:
    path = zip_with(tmp_path / "r.zip", {})
    path.write_bytes(_patch(path.read_bytes(), 0x1, local=6, central=8))
    err = refusal(path)
    assert (err.code, err.message) == ("PB303", "entry 'rel/manifest.json' is encrypted")


@pytest.mark.parametrize("kind", [0o120000, 0o020000, 0o010000])
def test_zip_links_devices_and_fifos_are_refused(tmp_path: Path, kind: int) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("rel/manifest.json", MANIFEST)
        info = zipfile.ZipInfo("rel/odd")
        info.create_system = 3
        info.external_attr = (kind | 0o644) << 16
        archive.writestr(info, b"/etc/passwd")
    path = tmp_path / "r.zip"
    path.write_bytes(buffer.getvalue())
    assert refusal(path).code == "PB304"


def test_a_tar_device_is_refused(tmp_path: Path) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("rel/manifest.json")
        info.size = len(MANIFEST)
        tar.addfile(info, io.BytesIO(MANIFEST))
        device = tarfile.TarInfo("rel/disk")
        device.type = tarfile.BLKTYPE
        tar.addfile(device)
    path = tmp_path / "r.tar.gz"
    path.write_bytes(gzip.compress(raw.getvalue()))
    err = refusal(path)
    assert (err.code, err.message) == (
        "PB304",
        "entry 'rel/disk' is a link, device or other entry that is not a regular file or folder",
    )


@pytest.mark.parametrize(
    "name", ["rel/./a.md", "rel//a.md", "/rel/a.md", "rel\\a.md", "rel/../a.md", "./rel/a.md"]
)
def test_entry_paths_that_are_not_canonical_are_refused(tmp_path: Path, name: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("rel/manifest.json", MANIFEST)
        info = zipfile.ZipInfo("placeholder")
        info.filename = name  # ZipInfo would rewrite some of these names
        archive.writestr(info, b"x")
    path = tmp_path / "r.zip"
    path.write_bytes(buffer.getvalue())
    err = refusal(path)
    assert err.code == "PB305"
    assert err.message.startswith(f"entry {name!r} is not a canonical relative path")


def test_a_duplicate_entry_is_refused(tmp_path: Path) -> None:
    path = zip_with(tmp_path / "r.zip", {"rel/a.md": b"1"})
    with zipfile.ZipFile(path, "a") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        archive.writestr("rel/a.md", b"2")
    err = refusal(path)
    assert (err.code, err.message) == ("PB305", "entry 'rel/a.md' appears twice")


def test_names_equal_once_normalised_are_duplicates(tmp_path: Path) -> None:
    nfc, nfd = unicodedata.normalize("NFC", "rel/é.md"), unicodedata.normalize("NFD", "rel/é.md")
    path = zip_with(tmp_path / "r.zip", {nfc: b"1", nfd: b"2"})
    err = refusal(path)
    assert err.code == "PB305"
    assert err.message == f"entry {nfd!r} appears twice (the same name as {nfc!r} once normalised)"


def test_a_deeply_nested_manifest_is_refused_without_a_traceback(tmp_path: Path) -> None:
    deep = b'{"outputs": [], "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("rel/manifest.json", deep)
    path = tmp_path / "deep.zip"
    path.write_bytes(buffer.getvalue())
    proc = run_limited("verify", path, cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        "deep.zip:1:1: error: manifest.json in the archive nests deeper than 32 levels [PB306]\n"
    )


def test_brackets_inside_strings_do_not_count_as_nesting(tmp_path: Path) -> None:
    manifest = json.dumps({"outputs": [], "note": "[[[[" * 50 + '\\" {{{{' * 50})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("rel/manifest.json", manifest)
    path = tmp_path / "r.zip"
    path.write_bytes(buffer.getvalue())
    assert read_archive(path).manifest["note"].startswith("[[[[")


@pytest.mark.parametrize("entry", ["claude-code/./a.md", "claude-code//a.md", ".", "a/."])
def test_manifest_paths_with_dot_or_empty_components_are_refused(
    tmp_path: Path, entry: str
) -> None:
    manifest = {"outputs": [{"path": entry, "sha256": "0" * 64, "bytes": 0}]}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("rel/manifest.json", json.dumps(manifest))
    path = tmp_path / "r.zip"
    path.write_bytes(buffer.getvalue())
    err = refusal(path)
    assert err.code == "PB306"
    assert "needs a canonical relative 'path'" in err.message


def test_a_huge_sha256sums_beside_the_archive_is_read_only_in_part(tmp_path: Path) -> None:
    path = zip_with(tmp_path / "r.zip", {})
    with (tmp_path / "SHA256SUMS").open("wb") as handle:
        handle.write(f"{'0' * 64}  r.zip\n".encode())
        handle.truncate(3 * GIB)  # sparse: 3 GiB of zeros after the line
    proc = run_limited("verify", path, cwd=tmp_path)
    assert (proc.returncode, proc.stderr) == (
        1,
        f"{path}: error: altered archive: its sha256 differs from SHA256SUMS\n",
    )
