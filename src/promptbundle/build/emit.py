"""Write a build into the output folder, or compare the folder with it (`build --check`).

A writing build normally switches the output folder in whole (build/switch.py); `sync_folder`
updates it file by file where that cannot be done, and marks it incomplete meanwhile."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promptbundle.build.manifest import (
    MANIFEST,
    Built,
    manifest_bytes,
    manifest_data,
    manifest_entry,
    read_manifest,
)
from promptbundle.core.errors import BundleError, Location
from promptbundle.core.files import atomic_write, check_no_symlink_escape, sha256
from promptbundle.core.model import BundleConfig
from promptbundle.core.writes import INCOMPLETE, refuse_incomplete
from promptbundle.sources.schemas import SCHEMA_FOLDER, SOURCE_SCHEMAS, source_schema

__all__ = [
    "RESERVED",
    "EmitReport",
    "StaleReport",
    "check_outputs",
    "existing_files",
    "kept_entries",
    "plan",
    "preflight",
    "sync_folder",
    "write_schemas",
]

# Folders inside the output folder that are not outputs: release archives (`package`), and the
# JSON Schemas of the sources, which every writing build refreshes (write_schemas).
RESERVED = ("release/", "schemas/")


@dataclass
class EmitReport:
    """What a write changed."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


@dataclass
class StaleReport:
    """How the output folder differs from a fresh build."""

    stale: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    orphan: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.stale or self.missing or self.orphan)

    def lines(self) -> list[str]:
        return (
            [f"stale: {p}" for p in self.stale]
            + [f"missing: {p}" for p in self.missing]
            + [f"orphan: {p}" for p in self.orphan]
        )


def existing_files(out_dir: Path) -> set[str]:
    """The files (and links) in the output folder the build owns, by relative path."""
    if not out_dir.is_dir():
        return set()
    found = set()
    for path in out_dir.rglob("*"):
        if path.is_file() or path.is_symlink():
            rel = path.relative_to(out_dir).as_posix()
            if not rel.startswith(RESERVED) and rel != INCOMPLETE:
                found.add(rel)
    return found


def check_outputs(config: BundleConfig, outputs: Sequence[Built]) -> StaleReport:
    """Compare the output folder with a fresh build without writing anything."""
    out_dir = config.out_dir
    refuse_incomplete(out_dir)
    manifest = manifest_bytes(manifest_data(config, [manifest_entry(o) for o in outputs]))
    expected = {o.path: o.sha256 for o in outputs}
    expected[MANIFEST] = sha256(manifest)
    existing = existing_files(out_dir)
    report = StaleReport()
    for path, digest in sorted(expected.items()):
        if path not in existing:
            report.missing.append(path)
        elif sha256((out_dir / path).read_bytes()) != digest:
            report.stale.append(path)
    report.orphan = sorted(existing - set(expected))
    return report


def sync_folder(
    config: BundleConfig,
    entries: Sequence[dict[str, Any]],
    *,
    partial: bool,
    same: Callable[[str, Path], bool],
    put: Callable[[str, Path], None],
) -> EmitReport:
    """Make the output folder hold the files of the manifest `entries`, then the manifest.

    Checks everything first (see preflight) and finds what differs; when anything does, writes
    the incomplete marker (core/writes.py), then, for each path in order, calls `put(rel, path)`
    where `same(rel, path)` says the file does not hold the output yet. A full build removes
    the files it no longer produces; a `partial` one keeps them and their earlier manifest
    entries. The manifest is written last, and the marker removed after it: a build that
    stops half-way leaves the marker, which readers refuse, and the next build repairs.
    """
    out_dir = config.out_dir
    existing, manifest = plan(config, out_dir, entries, partial=partial)
    wanted = {entry["path"] for entry in entries}
    report = EmitReport()
    for rel in sorted(wanted):
        same_file = rel in existing and same(rel, out_dir / rel)
        (report.unchanged if same_file else report.written).append(rel)
    orphans = set() if partial else existing - wanted - {MANIFEST}
    changed = report.written or orphans or _differs(out_dir / MANIFEST, manifest)
    if changed or (out_dir / INCOMPLETE).exists():
        _write_marked(out_dir, report, orphans, put, manifest)
    return report


def plan(
    config: BundleConfig, out_dir: Path, entries: Sequence[dict[str, Any]], *, partial: bool
) -> tuple[set[str], bytes]:
    """The files `out_dir` holds now and the manifest a build of `entries` gives it, after
    checking that the build can be written (see preflight)."""
    existing = existing_files(out_dir)
    keep = kept_entries(out_dir, existing) if partial else []
    wanted = {entry["path"] for entry in entries}
    merged = {entry["path"]: entry for entry in [*keep, *entries]}
    manifest = manifest_bytes(manifest_data(config, list(merged.values())))
    preflight(out_dir, wanted, existing, owned=partial or MANIFEST in existing)
    return existing, manifest


def _write_marked(
    out_dir: Path,
    report: EmitReport,
    orphans: set[str],
    put: Callable[[str, Path], None],
    manifest: bytes,
) -> None:
    """Write the changed files, remove orphans, write the manifest: the folder marked
    incomplete from before the first change until after the last."""
    marker = out_dir / INCOMPLETE
    try:
        atomic_write(marker, b"A build is writing this folder; run promptbundle build.\n")
        for rel in report.written:
            put(rel, out_dir / rel)
        _remove_orphans(out_dir, orphans, report)
        _remove_empty_dirs(out_dir)
        atomic_write(out_dir / MANIFEST, manifest)
        marker.unlink()
    except OSError as err:
        raise BundleError(
            f"cannot write the output: {err}; the folder is marked incomplete until a build "
            "completes",
            Location(out_dir),
        ) from err


def kept_entries(out_dir: Path, existing: set[str]) -> list[dict[str, Any]]:
    """The earlier manifest's entries whose files are still in the output folder."""
    previous = read_manifest(out_dir) or {"outputs": []}
    return [e for e in previous["outputs"] if isinstance(e, dict) and e.get("path") in existing]


def _remove_orphans(out_dir: Path, orphans: set[str], report: EmitReport) -> None:
    """Delete, in path order, the files the build no longer produces."""
    for rel in sorted(orphans):
        (out_dir / rel).unlink()
        report.removed.append(rel)


def _differs(path: Path, content: bytes) -> bool:
    """Whether the file at `path` is missing or holds other bytes than `content`."""
    try:
        return path.is_symlink() or path.read_bytes() != content
    except OSError:
        return True


def preflight(out_dir: Path, expected: Collection[str], existing: set[str], *, owned: bool) -> None:
    """Refuse, before writing anything, a build that would fail halfway or delete user files.

    Without a manifest the folder was not written by promptbundle: files in it that the build
    does not produce would be deleted as orphans, so the build stops instead.
    """
    if not owned:
        foreign = sorted(existing - set(expected))
        if foreign:
            raise BundleError(
                f"{out_dir} holds {len(foreign)} file(s) that promptbundle did not write "
                f"(first: {foreign[0]}) and no {MANIFEST}; move them away or set 'out' to "
                "another folder",
                Location(out_dir),
            )
    blocked: list[str] = []
    for rel in sorted(expected):
        path = out_dir / rel
        if rel in existing and not os.path.isdir(path):
            continue  # found by the walk, which enters no link: its folders are folders
        if path.is_dir() and not path.is_symlink():
            blocked.append(f"{rel} (a folder is in the way)")
            continue
        for parent in path.relative_to(out_dir).parents:
            folder = out_dir / parent
            if parent != Path(".") and (folder.is_file() or folder.is_symlink()):
                blocked.append(f"{rel} (the file {parent.as_posix()} is in the way)")
                break
    if blocked:
        raise BundleError(
            f"cannot write {len(blocked)} output(s); nothing was changed: " + "; ".join(blocked),
            Location(out_dir),
        )


def _remove_empty_dirs(out_dir: Path) -> None:
    for folder in sorted((p for p in out_dir.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()


def write_schemas(root: Path, out_dir: Path) -> None:
    """Refresh `<out>/schemas/` with the JSON Schemas of the sources (sources/schemas.py), for
    editors; not outputs: no manifest entry, no snapshot, not counted."""
    for name in SOURCE_SCHEMAS:
        path = out_dir / SCHEMA_FOLDER / name
        check_no_symlink_escape(root, path)
        content = source_schema(name)
        try:
            same = not path.is_symlink() and path.read_bytes() == content
        except OSError:
            same = False
        if not same:
            atomic_write(path, content)
