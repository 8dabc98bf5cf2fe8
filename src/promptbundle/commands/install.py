"""`promptbundle install`: copy one target's outputs where its tool reads them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from promptbundle.build.pipeline import build_outputs, load
from promptbundle.commands.outcome import Outcome
from promptbundle.core.errors import BuildFailedError, BundleError, Location, UsageError
from promptbundle.formats.registry import FORMATS
from promptbundle.release.archive import manifest_entries, read_archive, verify_archive
from promptbundle.release.install import Payload, install_payload, relocate

__all__ = ["run_install"]


def run_install(
    root: Path | None,
    *,
    target: str,
    into: Path,
    dry_run: bool = False,
    force: bool = False,
    from_archive: Path | None = None,
) -> Outcome:
    """Copy one target's outputs into `into`, from a fresh build or a verified release."""
    if into.exists() and not into.is_dir():
        raise UsageError(f"--into {into} is not a folder")
    payload = (
        payload_from_archive(from_archive, target)
        if from_archive is not None
        else payload_from_build(root, target)
    )
    report = install_payload(payload, into=into, dry_run=dry_run, force=force)
    return Outcome(
        "install",
        report.summary,
        lines=report.lines(),
        data={
            "into": str(into),
            "target": target,
            "dry_run": dry_run,
            "added": report.added,
            "updated": report.updated,
            "removed": report.removed,
            "unchanged": report.unchanged,
            "forced": report.forced,
        },
    )


def _prefix_for(target: str, fmt: str, known: Mapping[str, str]) -> str:
    cls = FORMATS.get(fmt)
    if cls is None or cls.install_prefix is None:
        installable = sorted(t for t, f in known.items() if _installable(f))
        raise UsageError(
            f"target {target!r} ({fmt}) has no install location "
            f"(installable targets: {', '.join(installable) or 'none'})"
        )
    return cls.install_prefix


def _installable(fmt: str) -> bool:
    cls = FORMATS.get(fmt)
    return cls is not None and cls.install_prefix is not None


def _check_target(target: str, known: Mapping[str, str]) -> str:
    if target not in known:
        raise UsageError(f"unknown target {target!r} (targets: {', '.join(sorted(known))})")
    return _prefix_for(target, known[target], known)


def payload_from_build(root: Path | None, target: str) -> Payload:
    """A fresh in-memory build of one target."""

    bundle = load(root)
    config = bundle.config
    prefix = _check_target(target, {t.name: t.format for t in config.targets})
    result = build_outputs(bundle, targets=[target])
    if result.errors:
        raise BuildFailedError(
            [d.line() for d in result.errors],
            f"build failed: {len(result.errors)} error(s); nothing installed",
        )
    files = {o.path: o.content for o in result.outputs if o.target == target}
    return Payload(config.name, config.version, target, relocate(prefix, target, files))


def payload_from_archive(archive: Path, target: str) -> Payload:
    """One target of a release archive, after verifying the whole archive."""

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
    prefix = _check_target(target, known)
    wanted = {e["path"] for e in manifest_entries(manifest) if e.get("target") == target}
    files = {path: contents.files[path] for path in wanted}
    return Payload(
        str(manifest.get("bundle", "")),
        str(manifest.get("version", "")),
        target,
        relocate(prefix, target, files),
    )
