"""`promptbundle package` and `promptbundle verify`: publish a fresh build as a reproducible
release, and check a release archive against its manifest."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from promptbundle import __version__
from promptbundle.build.manifest import manifest_bytes, manifest_data, manifest_entry
from promptbundle.build.pipeline import BuildResult, build_outputs, load
from promptbundle.commands.outcome import Outcome
from promptbundle.core.errors import BuildFailedError, BundleError, PromptBundleError, UsageError
from promptbundle.core.files import check_no_symlink_escape, sha256
from promptbundle.core.git import git_text
from promptbundle.core.model import VERSION_PATTERN, BundleConfig, OutputFile
from promptbundle.release.archive import (
    CHANGES,
    RELEASE_MANIFEST,
    release_names,
    source_date_epoch,
    verify_archive,
    write_release,
)
from promptbundle.review.diff import BundleDiff, OutputChange, diff_revisions
from promptbundle.review.report import clusters, fence_for
from promptbundle.review.revisions import repo_root

__all__ = ["changes_markdown", "run_package", "run_verify"]


def run_package(
    root: Path | None,
    *,
    out: Path | None = None,
    version: str | None = None,
    since: str | None = None,
    environ: Mapping[str, str] | None = None,
    allow_dirty: bool = False,
) -> Outcome:
    """Build the bundle afresh and write its release archives and SHA256SUMS.

    A release names the commit it was built from, so a bundle with uncommitted changes is
    refused unless `allow_dirty`; the manifest records whether the tree was clean."""
    result = _fresh_build(root)
    config = result.bundle.config
    clean = _is_clean(config.root)
    if clean is False and not allow_dirty:
        raise UsageError(
            f"{config.root} has uncommitted changes, so the release would not be the commit it "
            "names; commit them, or package anyway with --allow-dirty (the manifest then says "
            '"clean": false)'
        )
    version = config.version if version is None else version
    if not VERSION_PATTERN.match(version):
        raise UsageError(f"--version must be a semantic version like 1.2.3, got {version!r}")
    epoch = source_date_epoch(config.root, environ)
    commit = git_text(config.root, "rev-parse", "--verify", "--quiet", "HEAD")
    files = {o.path: o.content for o in result.outputs}
    entries = [manifest_entry(o) for o in result.outputs]
    if since is not None:
        files[CHANGES] = _release_notes(config.root, config.name, version, since)
        entries.append(manifest_entry(OutputFile(CHANGES, files[CHANGES], "", None, ())))
        entries[-1]["target"] = None
    manifest = manifest_data(
        config,
        entries,
        commit=commit,
        clean=clean,
        source_date_epoch=epoch,
        targets=[{"name": t.name, "format": t.format} for t in config.targets],
    )
    manifest["version"] = version
    files[RELEASE_MANIFEST] = manifest_bytes(manifest)
    prefix = f"{config.name}-{version}"
    out_dir = _release_folder(out, config, prefix)
    archives, sums = write_release(out_dir, prefix, files, epoch)
    at = f" at {commit[:12]}" if commit else ""
    with_notes = " with CHANGES.md" if since is not None else ""
    return Outcome(
        "package",
        f"packaged {config.name} {version}{at}: {len(files)} files{with_notes}",
        lines=[str(path) for path in [*archives, sums]],
        data={
            "bundle": config.name,
            "version": version,
            "commit": commit,
            "clean": clean,
            "promptbundle": __version__,
            "archives": [str(path) for path in archives],
            "sums": str(sums),
            "files": len(files),
            "sha256": {path.name: sha256(path.read_bytes()) for path in archives},
        },
    )


def _release_folder(out: Path | None, config: BundleConfig, prefix: str) -> Path:
    """Where the release goes (`--out`, else `dist/release`), once no file of it would be
    written through a link out of `--out` or out of the bundle (PB307)."""
    out_dir = out if out is not None else config.out_dir / "release"
    inside = out if out is not None else config.root
    for name in release_names(prefix):
        check_no_symlink_escape(inside, out_dir / name)
    return out_dir


def run_verify(archive: Path) -> Outcome:
    """Check every file of a release archive against its manifest.json and SHA256SUMS."""
    report = verify_archive(archive)
    return Outcome(
        "verify",
        report.summary,
        messages=[f"{archive}: error: {problem}" for problem in report.problems],
        data={"archive": str(archive), "checked": report.checked, "problems": report.problems},
        exit_code=report.exit_code,
    )


def _release_notes(root: Path, name: str, version: str, since: str) -> bytes:
    """CHANGES.md: the rendered change of every output since the revision `since`."""
    changes = _changes_since(root, since)
    commit_id = changes.base.commit or ""
    title = f"{name} {version}: changes since {since} ({commit_id[:12]})"
    return changes_markdown(changes, title=title).encode("utf-8")


def _is_clean(root: Path) -> bool | None:
    """Whether the bundle's folder has no uncommitted change (None: not in a git repository)."""
    if git_text(root, "rev-parse", "--is-inside-work-tree") != "true":
        return None
    status = git_text(root, "status", "--porcelain", "--untracked-files=normal", "--", ".")
    return status is None


def _fresh_build(root: Path | None) -> BuildResult[OutputFile]:
    result = build_outputs(load(root))
    if result.errors:
        raise BuildFailedError(
            [d.line() for d in result.errors],
            f"build failed: {len(result.errors)} error(s); nothing packaged",
        )
    return result


def _changes_since(root: Path, ref: str) -> BundleDiff:
    """The rendered difference between `ref` and the working tree (the diff machinery)."""
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
