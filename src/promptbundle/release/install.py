"""Install one target's outputs where its tool reads them, owning only what it wrote.

`dist/<target>/<rel>` goes to `<into>/<install_prefix>/<rel>`. Every file written is recorded
(path and sha256) in `<into>/.promptbundle-install.json`; the next install of the same bundle
and target removes the recorded files it no longer produces. A file that was not recorded, or
that changed since it was recorded, is never overwritten or removed without `force`: the
install stops naming every such file, having written nothing.

No write or delete goes through a symbolic link that leads outside `into` (PB307); every path
is checked before anything is written. An install is journalled: the record first gets the
files as they are and the files as they will be (`pending`), then the files are written, then
the record is committed. An install that stopped half-way is finished by the next install or
uninstall of the same bundle and target: a file matching either side is its own, not a file
the user changed.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promptbundle import __version__
from promptbundle.core.bounded import load_json
from promptbundle.core.errors import BundleError, Location, UsageError
from promptbundle.core.files import atomic_write, check_paths_inside, is_plain_relative, sha256
from promptbundle.core.model import PROJECT_FOLDER

__all__ = [
    "OWNERSHIP_FILE",
    "InstallConflictError",
    "InstallReport",
    "Payload",
    "install_payload",
    "relocate",
    "uninstall",
]

OWNERSHIP_FILE = ".promptbundle-install.json"
# Why a file the install owns may not be overwritten or removed (see skip_modified).
MODIFIED = "changed since it was installed"


@dataclass(frozen=True)
class Payload:
    """What one install puts down: bundle, version, target and files by path in `into`."""

    bundle: str
    version: str
    target: str
    files: dict[str, bytes]
    # Files left as they are, with the digest the record keeps for them.
    recorded: dict[str, str] = field(default_factory=dict)


@dataclass
class InstallReport:
    """The plan (and, unless a dry run, what was done): one line per file touched."""

    into: Path
    target: str
    dry_run: bool
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    forced: list[str] = field(default_factory=list)
    # Files changed since they were installed, left as they are (`skip_modified`), each with
    # the unified diff from the file as it is to what the install would write.
    skipped: dict[str, str] = field(default_factory=dict)
    # The record showed an install of this target that stopped half-way.
    interrupted: bool = False
    # The digest of each file the install owns as it is now (what the journal keeps).
    before: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        forced = set(self.forced)
        tag = {True: " (--force)", False: ""}
        notes = []
        if self.interrupted:
            notes.append(
                f"note: the last install of {self.target} into {self.into} was interrupted; "
                "its files (old or new) count as installed and are put right"
            )
        skipped = []
        for path, diff in self.skipped.items():
            skipped.append(f"skip: {path} (changed since it was installed)")
            skipped += diff.splitlines()
        return (
            notes
            + [f"add: {p}{tag[p in forced]}" for p in self.added]
            + [f"update: {p}{tag[p in forced]}" for p in self.updated]
            + [f"remove: {p}{tag[p in forced]}" for p in self.removed]
            + skipped
        )

    @property
    def summary(self) -> str:
        verb = "would install" if self.dry_run else "installed"
        return (
            f"{verb} {self.target} into {self.into}: {len(self.added)} added, "
            f"{len(self.updated)} updated, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged"
        )


class InstallConflictError(BundleError):
    """Files the install would overwrite or remove without owning them; nothing was written."""

    def __init__(self, conflicts: list[tuple[Path, str]]) -> None:
        super().__init__(
            f"{len(conflicts)} file(s) this install may not overwrite or remove; nothing written"
        )
        self.conflicts = conflicts

    def lines(self) -> list[str]:
        return [
            *(f"{Location(path)}: error: {reason}" for path, reason in self.conflicts),
            f"error: {self.message} (use --force to overwrite or remove them)",
        ]


def relocate(
    prefix: str, target: str, files: Mapping[str, bytes], *, user: bool = False
) -> dict[str, bytes]:
    """`<target>/<rel>` (a dist path) to `<prefix>/<rel>` (a path in the install folder);
    `<target>/@project/<rel>` goes to `<rel>`, at the root of the install folder (for a
    `user` install, where the tool's own folder is the root of its rules: `<prefix>/<rel>`)."""
    head = f"{target}/"
    moved = {}
    for path, content in files.items():
        if not path.startswith(head):
            continue
        rel = path[len(head) :]
        if rel.startswith(PROJECT_FOLDER + "/") and not user:
            moved[rel[len(PROJECT_FOLDER) + 1 :]] = content
        elif rel.startswith(PROJECT_FOLDER + "/"):
            moved["/".join(p for p in (prefix.strip("/"), rel[len(PROJECT_FOLDER) + 1 :]) if p)] = (
                content
            )
        else:
            moved["/".join(p for p in (prefix.strip("/"), rel) if p)] = content
    return moved


# -- ownership -----------------------------------------------------------------------------


def _read_ownership(into: Path) -> list[dict[str, Any]]:
    path = into / OWNERSHIP_FILE
    if not path.exists():
        return []
    try:
        data = load_json(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise BundleError(
            f"unreadable install record ({err}); fix or delete it to install again",
            Location(path),
        ) from err
    installs = data.get("installs") if isinstance(data, dict) else None
    if not isinstance(installs, list) or not all(
        isinstance(i, dict) and isinstance(i.get("files"), dict) for i in installs
    ):
        raise BundleError(
            "install record has no valid 'installs' list; fix or delete it to install again",
            Location(path),
        )
    for entry in installs:
        _check_entry(path, entry)
    return installs


def _check_entry(path: Path, entry: Mapping[str, Any]) -> None:
    """Refuse a record entry whose `pending` map is not one, or that names a path outside
    the install folder."""
    pending = entry.get("pending", {})
    if not isinstance(pending, dict) or not all(isinstance(d, str) for d in pending.values()):
        raise BundleError(
            f"install record entry {entry.get('bundle')}:{entry.get('target')} has an "
            "invalid 'pending' map; fix or delete the record to install again",
            Location(path),
        )
    for rel in [*entry["files"], *pending]:
        if not is_plain_relative(rel):
            raise BundleError(
                f"install record entry {rel!r} ({entry.get('bundle')}:{entry.get('target')}) "
                "is not a relative path inside the install folder; fix or delete the "
                "record to install again",
                Location(path),
            )


def _write_ownership(into: Path, installs: list[dict[str, Any]]) -> None:
    installs = sorted(installs, key=lambda i: (str(i.get("bundle")), str(i.get("target"))))
    data = {"promptbundle": __version__, "installs": installs}
    atomic_write(into / OWNERSHIP_FILE, (json.dumps(data, indent=2) + "\n").encode("utf-8"))


def _digest(path: Path) -> str | None:
    """The sha256 of a regular file at `path` (None: absent); a folder or link is a conflict."""
    if path.is_symlink() or (path.exists() and not path.is_file()):
        return "<not a regular file>"
    if not path.exists():
        return None
    return sha256(path.read_bytes())


# -- planning and doing --------------------------------------------------------------------


@dataclass(frozen=True)
class _Owned:
    """What the record says this bundle and target own: each file's digest, and the digests
    an install that stopped half-way was writing (`pending`)."""

    files: Mapping[str, str]
    pending: Mapping[str, str]
    interrupted: bool = False

    def ours(self, rel: str, found: str | None) -> bool:
        return found is not None and found in (self.files.get(rel), self.pending.get(rel))

    def paths(self) -> set[str]:
        return set(self.files) | set(self.pending)


def _plan(
    into: Path, payload: Payload, owned: _Owned, others: Mapping[str, str]
) -> tuple[InstallReport, list[tuple[Path, str]]]:
    check_paths_inside(into, set(payload.files) | owned.paths())
    report = InstallReport(into, payload.target, dry_run=False, interrupted=owned.interrupted)
    conflicts: list[tuple[Path, str]] = []
    for rel, content in sorted(payload.files.items()):
        dest = into / rel
        _check_way_clear(into, rel, dest)
        found = _digest(dest)
        if owned.ours(rel, found):
            report.before[rel] = str(found)
        if found is None:
            report.added.append(rel)
        elif found == sha256(content) and rel in owned.paths():
            report.unchanged.append(rel)
        else:
            report.updated.append(rel)
            reason = _overwrite_conflict(rel, found, owned, others)
            if reason is not None:
                conflicts.append((dest, reason))
    for rel in sorted(owned.paths() - set(payload.files)):
        dest = into / rel
        found = _digest(dest)
        if found is None:
            continue
        report.removed.append(rel)
        if owned.ours(rel, found):
            report.before[rel] = found
        else:
            conflicts.append((dest, f"{MODIFIED}; will not remove it"))
    return report, conflicts


def _check_way_clear(into: Path, rel: str, dest: Path) -> None:
    """Raise when a file above `dest` (inside `into`) or a folder at `dest` blocks writing it."""
    blocker = next((p for p in dest.parents if p.is_relative_to(into) and p.is_file()), None)
    if blocker is not None or (dest.is_dir() and not dest.is_symlink()):
        raise BundleError(
            f"cannot install {rel}: {'a file' if blocker else 'a folder'} is in the way",
            Location(blocker or dest),
        )


def _overwrite_conflict(
    rel: str, found: str, owned: _Owned, others: Mapping[str, str]
) -> str | None:
    """Why overwriting `rel` (now with digest `found`) needs `force`; None when it does not."""
    if owned.ours(rel, found):
        return None
    if rel in others:
        return f"installed by {others[rel]}, not by this install"
    if rel not in owned.paths():
        return "not installed by promptbundle; will not overwrite it"
    return f"{MODIFIED}; will not overwrite it"


def install_payload(
    payload: Payload,
    *,
    into: Path,
    dry_run: bool = False,
    force: bool = False,
    skip_modified: bool = False,
) -> InstallReport:
    """Put `payload` into `into`, removing only files a previous install of it wrote.

    With `skip_modified`, a file changed since it was installed is left as it is (and stays
    recorded as it was installed) instead of stopping the install."""
    if into.exists() and not into.is_dir():
        raise UsageError(f"--into {into} is not a folder")
    mine, rest = _partition(_read_ownership(into), (payload.bundle, payload.target))
    owned = _owned_files(mine)
    report, conflicts = _plan(into, payload, owned, _files_of_others(rest))
    if skip_modified:
        conflicts = _skip_modified(into, payload, report, conflicts)
        payload = _keep_skipped(payload, report, owned.files)
    report.dry_run = dry_run
    if conflicts and not force:
        raise InstallConflictError(conflicts)
    report.forced = sorted(str(path.relative_to(into).as_posix()) for path, _ in conflicts)
    if dry_run:
        return report
    try:
        into.mkdir(parents=True, exist_ok=True)
        _write_ownership(into, [*rest, _journal(payload, report)])
        _apply(into, payload, report)
    except OSError as err:
        raise BundleError(f"install failed: {err}", Location(into)) from err
    _disown(rest, payload.files)
    _write_ownership(into, [*(i for i in rest if _holds_files(i)), _record(payload)])
    return report


def _skip_modified(
    into: Path, payload: Payload, report: InstallReport, conflicts: list[tuple[Path, str]]
) -> list[tuple[Path, str]]:
    """Take the files changed since they were installed out of the plan (with their diffs);
    the conflicts left."""
    left = []
    for dest, reason in conflicts:
        if not reason.startswith(MODIFIED):
            left.append((dest, reason))
            continue
        rel = dest.relative_to(into).as_posix()
        new = payload.files.get(rel, b"")
        report.skipped[rel] = _diff(rel, dest.read_bytes(), new)
        for planned in (report.updated, report.removed):
            if rel in planned:
                planned.remove(rel)
    return left


def _keep_skipped(payload: Payload, report: InstallReport, owned: Mapping[str, str]) -> Payload:
    """The payload without the skipped files; the record keeps the digest each had."""
    files = {rel: data for rel, data in payload.files.items() if rel not in report.skipped}
    recorded = {rel: owned[rel] for rel in report.skipped if rel in owned}
    return Payload(payload.bundle, payload.version, payload.target, files, recorded)


def _diff(rel: str, installed: bytes, new: bytes) -> str:
    """A unified diff from the installed file to what the install would write."""
    before = installed.decode("utf-8", errors="replace").splitlines(keepends=True)
    after = new.decode("utf-8", errors="replace").splitlines(keepends=True)
    lines = difflib.unified_diff(before, after, f"{rel} (installed)", f"{rel} (new)", n=2)
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def uninstall(
    into: Path,
    bundle: str,
    targets: Sequence[str] = (),
    *,
    dry_run: bool = False,
    force: bool = False,
) -> list[InstallReport]:
    """Remove what installs of `bundle` (of `targets`, or of every target) wrote into `into`.

    Like an install of nothing: a file changed since it was installed is kept, and nothing
    is removed, unless `force`. Every target is planned before any file is removed."""
    recorded = sorted(
        {str(i.get("target")) for i in _read_ownership(into) if i.get("bundle") == bundle}
    )
    if not recorded:
        raise UsageError(f"nothing of {bundle} is installed in {into}")
    unknown = [t for t in targets if t not in recorded]
    if unknown:
        raise UsageError(
            f"{bundle} has no install of {', '.join(unknown)} in {into} "
            f"(installed: {', '.join(recorded)})"
        )
    payloads = [Payload(bundle, "", target, {}) for target in (targets or recorded)]
    reports = [install_payload(p, into=into, dry_run=True, force=force) for p in payloads]
    if dry_run:
        return reports
    reports = [install_payload(p, into=into, force=force) for p in payloads]
    kept = [i for i in _read_ownership(into) if _holds_files(i)]
    if kept:
        _write_ownership(into, kept)
    else:
        (into / OWNERSHIP_FILE).unlink()
    return reports


def _partition(
    installs: list[dict[str, Any]], key: tuple[str, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The recorded installs of this bundle and target, and all the others."""
    mine = [i for i in installs if (i.get("bundle"), i.get("target")) == key]
    rest = [i for i in installs if (i.get("bundle"), i.get("target")) != key]
    return mine, rest


def _owned_files(mine: list[dict[str, Any]]) -> _Owned:
    """Each file this bundle and target installed, with its recorded digest (and those of an
    install that stopped half-way)."""
    return _Owned(
        {p: str(d) for i in mine for p, d in i["files"].items()},
        {p: str(d) for i in mine for p, d in i.get("pending", {}).items()},
        interrupted=any("pending" in i for i in mine),
    )


def _files_of_others(rest: list[dict[str, Any]]) -> dict[str, str]:
    """Each file another install recorded (or was writing), with its `bundle:target`."""
    return {
        p: f"{i.get('bundle')}:{i.get('target')}"
        for i in rest
        for p in [*i["files"], *i.get("pending", {})]
    }


def _holds_files(install: Mapping[str, Any]) -> bool:
    """Whether a record entry still names a file (installed, or being installed)."""
    return bool(install["files"] or install.get("pending"))


def _disown(rest: list[dict[str, Any]], files: Mapping[str, bytes]) -> None:
    """Drop from the other installs' records the files this install now owns."""
    for other in rest:
        for rel in set(other["files"]) & set(files):
            del other["files"][rel]
        for rel in set(other.get("pending", {})) & set(files):
            del other["pending"][rel]


def _journal(payload: Payload, report: InstallReport) -> dict[str, Any]:
    """The record entry written before any file: the files as they are now (each checked to
    be this install's own) and, as `pending`, the files as they will be."""
    files = {**report.before, **payload.recorded}
    return {
        "bundle": payload.bundle,
        "target": payload.target,
        "version": payload.version,
        "files": {rel: files[rel] for rel in sorted(files)},
        "pending": _record(payload)["files"],
    }


def _record(payload: Payload) -> dict[str, Any]:
    """The install record entry for `payload`: its files with their digests (and the files
    it left as they were, with the digests they were installed with)."""
    files = {rel: sha256(data) for rel, data in payload.files.items()}
    files.update(payload.recorded)
    return {
        "bundle": payload.bundle,
        "target": payload.target,
        "version": payload.version,
        "files": {rel: files[rel] for rel in sorted(files)},
    }


def _apply(into: Path, payload: Payload, report: InstallReport) -> None:
    into.mkdir(parents=True, exist_ok=True)
    for rel in [*report.added, *report.updated]:
        dest = into / rel
        if dest.is_symlink():
            dest.unlink()
        atomic_write(dest, payload.files[rel])
    for rel in report.removed:
        dest = into / rel
        dest.unlink()
        for folder in dest.parents:
            if (
                folder == into
                or not folder.is_relative_to(into)
                or folder.is_symlink()
                or any(folder.iterdir())
            ):
                break
            folder.rmdir()
