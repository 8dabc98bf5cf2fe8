"""`promptbundle install`: copy targets' outputs where each tool reads them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from promptbundle.build.pipeline import CARRIED_TARGET, build_outputs, load
from promptbundle.commands.outcome import Outcome
from promptbundle.core.errors import BuildFailedError, BundleError, Location, UsageError
from promptbundle.formats.registry import FORMATS
from promptbundle.release.archive import manifest_entries, read_archive, verify_archive
from promptbundle.release.install import Payload, install_payload, relocate

__all__ = ["run_install"]


def run_install(
    root: Path | None,
    *,
    targets: Sequence[str] = (),
    into: Path,
    dry_run: bool = False,
    force: bool = False,
    from_archive: Path | None = None,
    skip_modified: bool = False,
    user: bool = False,
) -> Outcome:
    """Copy targets' outputs into `into`, from a fresh build or a verified release: the named
    targets, or every installable target (and the bundle's own files) when none is named.

    With `user`, `into` is the home folder and each target goes where its tool reads files
    for every project (`user_install_prefix`); the bundle's own files are not installed."""
    if into.exists() and not into.is_dir():
        raise UsageError(f"--into {into} is not a folder")
    payloads = (
        payloads_from_archive(from_archive, targets, user=user)
        if from_archive is not None
        else payloads_from_build(root, targets, user=user)
    )
    _check_overlaps(payloads)
    # Every target is planned (and its conflicts found) before any target is written.
    options = {"force": force, "skip_modified": skip_modified}
    reports = [install_payload(p, into=into, dry_run=True, **options) for p in payloads]
    if not dry_run:
        reports = [install_payload(p, into=into, **options) for p in payloads]
    lines = [line for report in reports for line in report.lines()]
    summary = "; ".join(report.summary for report in reports)
    return Outcome(
        "install",
        summary,
        lines=lines,
        data={
            "into": str(into),
            "user": user,
            "dry_run": dry_run,
            "targets": [
                {
                    "target": report.target,
                    "added": report.added,
                    "updated": report.updated,
                    "removed": report.removed,
                    "unchanged": report.unchanged,
                    "forced": report.forced,
                    "skipped": sorted(report.skipped),
                }
                for report in reports
            ],
        },
    )


def _check_overlaps(payloads: Sequence[Payload]) -> None:
    """Two targets may write the same file only with the same bytes (the first one does)."""
    seen: dict[str, tuple[str, bytes]] = {}
    clashes = []
    for payload in payloads:
        for rel, content in list(payload.files.items()):
            if rel not in seen:
                seen[rel] = (payload.target, content)
            elif seen[rel][1] == content:
                del payload.files[rel]
            else:
                clashes.append(f"{rel} ({seen[rel][0]} and {payload.target} differ)")
    if clashes:
        raise UsageError(
            f"targets write {len(clashes)} file(s) differently; install them one at a time "
            f"(promptbundle install TARGET --into DIR): {'; '.join(clashes[:5])}"
        )


def _prefix_for(target: str, fmt: str, known: Mapping[str, str], *, user: bool = False) -> str:
    if target == CARRIED_TARGET and not user:
        return ""
    prefix = _install_prefix(fmt, user=user)
    if prefix is None:
        installable = sorted(t for t, f in known.items() if _installable(f, user=user))
        where = "user (--user) install location" if user else "install location"
        raise UsageError(
            f"target {target!r} ({fmt}) has no {where} "
            f"(installable targets: {', '.join(installable) or 'none'})"
        )
    return prefix


def _install_prefix(fmt: str, *, user: bool) -> str | None:
    cls = FORMATS.get(fmt)
    if cls is None:
        return None
    return cls.user_install_prefix if user else cls.install_prefix


def _installable(fmt: str, *, user: bool = False) -> bool:
    return _install_prefix(fmt, user=user) is not None


def _selected(
    targets: Sequence[str], known: Mapping[str, str], carried: bool, *, user: bool = False
) -> list[str]:
    """The targets to install: those named (checked), else every installable one."""
    names = dict(known)
    if carried:
        names[CARRIED_TARGET] = CARRIED_TARGET
    for target in targets:
        if target not in names:
            raise UsageError(f"unknown target {target!r} (targets: {', '.join(sorted(names))})")
        _prefix_for(target, names[target], known, user=user)
    if targets:
        return list(dict.fromkeys(targets))
    chosen = [t for t, fmt in known.items() if _installable(fmt, user=user)]
    return [*chosen, CARRIED_TARGET] if carried and not user else chosen


def payloads_from_build(
    root: Path | None, targets: Sequence[str], *, user: bool = False
) -> list[Payload]:
    """A fresh in-memory build, one payload per target to install."""
    bundle = load(root)
    config = bundle.config
    known = {t.name: t.format for t in config.targets}
    wanted = _selected(targets, known, carried=bool(bundle.files), user=user)
    result = build_outputs(bundle)
    if result.errors:
        raise BuildFailedError(
            [d.line() for d in result.errors],
            f"build failed: {len(result.errors)} error(s); nothing installed",
        )
    payloads = []
    for target in wanted:
        files = {o.path: o.content for o in result.outputs if o.target == target}
        prefix = _prefix_for(target, known.get(target, CARRIED_TARGET), known, user=user)
        payloads.append(
            Payload(config.name, config.version, target, relocate(prefix, target, files, user=user))
        )
    return payloads


def payloads_from_archive(
    archive: Path, targets: Sequence[str], *, user: bool = False
) -> list[Payload]:
    """Targets of a release archive, after verifying the whole archive."""
    report = verify_archive(archive)
    if not report.ok:
        raise BundleError(
            f"archive failed verification ({'; '.join(report.problems)}); nothing installed",
            Location(archive),
        )
    contents = read_archive(archive)
    manifest = contents.manifest
    known = {
        str(t.get("name")): str(t.get("format"))
        for t in manifest.get("targets", [])
        if isinstance(t, dict)
    }
    entries = manifest_entries(manifest)
    carried = any(e.get("target") == CARRIED_TARGET for e in entries)
    payloads = []
    for target in _selected(targets, known, carried, user=user):
        prefix = _prefix_for(target, known.get(target, CARRIED_TARGET), known, user=user)
        wanted = {e["path"] for e in entries if e.get("target") == target}
        files = {path: contents.files[path] for path in wanted}
        payloads.append(
            Payload(
                str(manifest.get("bundle", "")),
                str(manifest.get("version", "")),
                target,
                relocate(prefix, target, files, user=user),
            )
        )
    return payloads
