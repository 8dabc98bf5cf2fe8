"""Write a build into the output folder, or compare the folder with it (`build --check`)."""

from __future__ import annotations

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
from promptbundle.core.files import atomic_write, sha256
from promptbundle.core.model import BundleConfig

__all__ = ["EmitReport", "StaleReport", "check_outputs", "sync_folder"]

# Folders inside the output folder that the build does not own.
RESERVED = ("release/",)


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


def _existing_files(out_dir: Path) -> set[str]:
    if not out_dir.is_dir():
        return set()
    found = set()
    for path in out_dir.rglob("*"):
        if path.is_file() or path.is_symlink():
            rel = path.relative_to(out_dir).as_posix()
            if not rel.startswith(RESERVED):
                found.add(rel)
    return found


def check_outputs(config: BundleConfig, outputs: Sequence[Built]) -> StaleReport:
    """Compare the output folder with a fresh build without writing anything."""
    out_dir = config.out_dir
    manifest = manifest_bytes(manifest_data(config, [manifest_entry(o) for o in outputs]))
    expected = {o.path: o.sha256 for o in outputs}
    expected[MANIFEST] = sha256(manifest)
    existing = _existing_files(out_dir)
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

    Checks everything first (see _preflight); then, for each path in order, leaves the file
    alone when `same(rel, path)` says it already holds the output and otherwise calls
    `put(rel, path)`. A full build removes the files it no longer produces; a `partial` one
    keeps them and their earlier manifest entries. The manifest is written last.
    """
    out_dir = config.out_dir
    existing = _existing_files(out_dir)
    keep = _kept_entries(out_dir, existing) if partial else []
    wanted = {entry["path"] for entry in entries}
    merged = {entry["path"]: entry for entry in [*keep, *entries]}
    manifest = manifest_bytes(manifest_data(config, list(merged.values())))
    _preflight(out_dir, wanted, existing, owned=partial or MANIFEST in existing)
    report = EmitReport()
    try:
        _put_outputs(out_dir, wanted, existing, same, put, report)
        if not partial:
            _remove_orphans(out_dir, existing - wanted - {MANIFEST}, report)
    except OSError as err:
        raise BundleError(f"cannot write the output: {err}", Location(out_dir)) from err
    _remove_empty_dirs(out_dir)
    _write_manifest(out_dir, manifest)
    return report


def _kept_entries(out_dir: Path, existing: set[str]) -> list[dict[str, Any]]:
    """The earlier manifest's entries whose files are still in the output folder."""
    previous = read_manifest(out_dir) or {"outputs": []}
    return [e for e in previous["outputs"] if isinstance(e, dict) and e.get("path") in existing]


def _put_outputs(
    out_dir: Path,
    wanted: set[str],
    existing: set[str],
    same: Callable[[str, Path], bool],
    put: Callable[[str, Path], None],
    report: EmitReport,
) -> None:
    """Write each wanted file in path order unless `same` says it already holds the output."""
    for rel in sorted(wanted):
        path = out_dir / rel
        if rel in existing and same(rel, path):
            report.unchanged.append(rel)
            continue
        put(rel, path)
        report.written.append(rel)


def _remove_orphans(out_dir: Path, orphans: set[str], report: EmitReport) -> None:
    """Delete, in path order, the files the build no longer produces."""
    for rel in sorted(orphans):
        (out_dir / rel).unlink()
        report.removed.append(rel)


def _write_manifest(out_dir: Path, manifest: bytes) -> None:
    """Write the manifest unless the folder already holds exactly these bytes."""
    path = out_dir / MANIFEST
    if not path.is_file() or path.read_bytes() != manifest:
        atomic_write(path, manifest)


def _preflight(
    out_dir: Path, expected: Collection[str], existing: set[str], *, owned: bool
) -> None:
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
