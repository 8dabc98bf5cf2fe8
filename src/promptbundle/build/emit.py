"""Write a build into the output folder and describe it in dist/manifest.json."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promptbundle import __version__
from promptbundle.core.errors import BundleError, Location
from promptbundle.formats.registry import OutputFile
from promptbundle.sources.config import BundleConfig

__all__ = [
    "MANIFEST",
    "EmitReport",
    "StaleReport",
    "atomic_write",
    "check_outputs",
    "emit",
    "manifest_data",
    "sync_folder",
]

MANIFEST = "manifest.json"
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


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_entry(output: OutputFile) -> dict[str, Any]:
    return {
        "path": output.path,
        "target": output.target,
        "agent": output.agent,
        "sha256": sha256(output.content),
        "bytes": len(output.content),
        "sources": list(output.sources),
    }


def manifest_data(
    config: BundleConfig, outputs: Sequence[OutputFile], *, keep: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    """The manifest: every output's path, target, agent, digest, size and sources.

    `keep` holds entries of an earlier manifest that a partial build did not replace.
    """
    entries = {entry["path"]: entry for entry in keep}
    entries.update((o.path, manifest_entry(o)) for o in outputs)
    return {
        "bundle": config.name,
        "version": config.version,
        "promptbundle": __version__,
        "outputs": [entries[path] for path in sorted(entries)],
    }


def manifest_bytes(
    config: BundleConfig, outputs: Sequence[OutputFile], *, keep: Sequence[dict[str, Any]] = ()
) -> bytes:
    text = json.dumps(manifest_data(config, outputs, keep=keep), indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def read_manifest(out_dir: Path) -> dict[str, Any] | None:
    """The manifest of an earlier build, or None when there is none or it is unreadable."""
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("outputs"), list) else None


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


def _expected(config: BundleConfig, outputs: Sequence[OutputFile]) -> dict[str, bytes]:
    files = {o.path: o.content for o in outputs}
    files[MANIFEST] = manifest_bytes(config, outputs)
    return files


def check_outputs(config: BundleConfig, outputs: Sequence[OutputFile]) -> StaleReport:
    """Compare the output folder with a fresh build without writing anything."""
    out_dir = config.out_dir
    expected = _expected(config, outputs)
    existing = _existing_files(out_dir)
    report = StaleReport()
    for path, content in sorted(expected.items()):
        if path not in existing:
            report.missing.append(path)
        elif (out_dir / path).read_bytes() != content:
            report.stale.append(path)
    report.orphan = sorted(existing - set(expected))
    return report


def atomic_write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise BundleError(f"cannot write {path}: a folder is in the way")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".pb-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def emit(
    config: BundleConfig, outputs: Sequence[OutputFile], *, partial: bool = False
) -> EmitReport:
    """Make the output folder hold exactly `outputs` plus the manifest.

    For outputs held in memory (the build command stages them on disk instead, see
    staging.emit_staged); each changed file is replaced atomically, unchanged files are not
    touched, and files no longer produced are removed. The manifest is written last. A
    `partial` build (some targets or agents only) writes its outputs and keeps everything else.
    """
    contents = {o.path: o.content for o in outputs}
    return sync_folder(
        config,
        [manifest_entry(o) for o in outputs],
        partial=partial,
        same=lambda rel, path: path.read_bytes() == contents[rel],
        put=lambda rel, path: atomic_write(path, contents[rel]),
    )


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
    keep: list[dict[str, Any]] = []
    if partial:
        previous = read_manifest(out_dir) or {"outputs": []}
        keep = [e for e in previous["outputs"] if isinstance(e, dict) and e.get("path") in existing]
    wanted = {entry["path"] for entry in entries}
    manifest = manifest_bytes(config, (), keep=[*keep, *entries])
    _preflight(out_dir, wanted, existing, owned=partial or MANIFEST in existing)
    report = EmitReport()
    try:
        for rel in sorted(wanted):
            path = out_dir / rel
            if rel in existing and same(rel, path):
                report.unchanged.append(rel)
                continue
            put(rel, path)
            report.written.append(rel)
        if not partial:
            for rel in sorted(existing - wanted - {MANIFEST}):
                (out_dir / rel).unlink()
                report.removed.append(rel)
    except OSError as err:
        raise BundleError(f"cannot write the output: {err}", Location(out_dir)) from err
    _remove_empty_dirs(out_dir)
    if not (out_dir / MANIFEST).is_file() or (out_dir / MANIFEST).read_bytes() != manifest:
        atomic_write(out_dir / MANIFEST, manifest)
    return report


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
