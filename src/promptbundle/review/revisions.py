"""Read git revisions of a bundle into temporary folders; the user's checkout is only read."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from promptbundle.core.errors import BundleError, UsageError
from promptbundle.core.git import git, stderr_of
from promptbundle.sources.config import CONFIG_FILE, PYPROJECT

__all__ = [
    "DEFAULT_BRANCHES",
    "Revision",
    "default_base",
    "export_tree",
    "has_bundle",
    "repo_root",
    "resolve_revision",
]

# Tried in order when no base revision is given (after origin/HEAD).
DEFAULT_BRANCHES = ("main", "master", "origin/main", "origin/master")


@dataclass(frozen=True)
class Revision:
    """One side of a comparison: a commit, or the working tree when `commit` is None."""

    label: str
    commit: str | None = None

    @property
    def short(self) -> str:
        return self.commit[:12] if self.commit else "working tree"

    def __str__(self) -> str:
        if self.commit is None:
            return self.label
        return self.label if self.label == self.short else f"{self.label} ({self.short})"


def repo_root(folder: Path) -> Path:
    """The top folder of the git repository holding `folder`."""
    proc = git(folder, "rev-parse", "--show-toplevel")
    if proc.returncode != 0:
        raise UsageError(f"{folder} is not inside a git repository ({stderr_of(proc)})")
    return Path(proc.stdout.decode("utf-8").strip()).resolve()


def resolve_revision(top: Path, ref: str) -> Revision:
    """The commit `ref` names (a branch, tag, sha or expression like HEAD~1)."""
    proc = git(top, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if proc.returncode != 0 or not ref:
        raise UsageError(f"unknown revision {ref!r}: git knows no commit by that name")
    return Revision(ref, proc.stdout.decode("ascii").strip())


def _default_branch(top: Path) -> str | None:
    proc = git(top, "rev-parse", "--abbrev-ref", "origin/HEAD")
    if proc.returncode == 0:
        name = proc.stdout.decode("utf-8").strip()
        if name and name != "origin/HEAD":
            return name
    for name in DEFAULT_BRANCHES:
        if git(top, "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}").returncode == 0:
            return name
    return None


def default_base(top: Path) -> Revision:
    """The merge base of HEAD with the default branch (origin/HEAD, else main or master)."""
    branch = _default_branch(top)
    if branch is None:
        raise UsageError(
            "no default branch to compare with (tried origin/HEAD, "
            f"{', '.join(DEFAULT_BRANCHES)}); name the base: promptbundle diff BASE"
        )
    proc = git(top, "merge-base", "HEAD", branch)
    if proc.returncode != 0:
        raise UsageError(f"HEAD and {branch} have no common ancestor; name the base revision")
    return Revision(f"merge-base(HEAD, {branch})", proc.stdout.decode("ascii").strip())


def export_tree(top: Path, commit: str, dest: Path, subdir: str = "") -> None:
    """Write the files of `commit` (under `subdir` only, if given) into `dest`.

    Reads objects with `git ls-tree` and `git cat-file --batch`: no checkout, no index,
    no worktree registration, and no `export-ignore` attributes that could hide sources.
    """
    pathspec = ["--", subdir] if subdir else []
    listing = git(top, "ls-tree", "-r", "-z", "--full-tree", commit, *pathspec)
    if listing.returncode != 0:
        raise BundleError(f"cannot list the files of {commit[:12]}: {stderr_of(listing)}")
    entries: list[tuple[str, str, str]] = []
    for record in listing.stdout.split(b"\0"):
        if not record:
            continue
        meta, _, raw_name = record.partition(b"\t")
        mode, kind, obj = meta.decode("ascii").split(" ")
        if kind == "blob":
            entries.append((mode, obj, os.fsdecode(raw_name)))
    if not entries:
        return
    batch = git(
        top, "cat-file", "--batch", input_bytes="".join(f"{e[1]}\n" for e in entries).encode()
    )
    if batch.returncode != 0:
        raise BundleError(f"cannot read the files of {commit[:12]}: {stderr_of(batch)}")
    data, offset = batch.stdout, 0
    for mode, _, name in entries:
        end = data.index(b"\n", offset)
        size = int(data[offset:end].split(b" ")[2])
        content = data[end + 1 : end + 1 + size]
        offset = end + 1 + size + 1
        path = dest / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if mode == "120000":
            os.symlink(os.fsdecode(content), path)
        else:
            path.write_bytes(content)
            if mode == "100755":
                path.chmod(0o755)


def has_bundle(root: Path) -> bool:
    """Whether `root` holds a bundle configuration (an invalid one counts: loading reports it)."""
    if (root / CONFIG_FILE).is_file():
        return True
    pyproject = root / PYPROJECT
    if not pyproject.is_file():
        return False
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return True
    return isinstance(data.get("tool", {}).get("promptbundle"), dict)
