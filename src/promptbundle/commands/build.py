"""`promptbundle build`: write the output folder, or compare it with a fresh build.

A full build with nothing changed since the last one stops here, with the last result (see
build/cache.py); the rendering machinery is imported only when there is something to build.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from promptbundle.build import cache as buildcache
from promptbundle.commands.outcome import Outcome
from promptbundle.core.errors import ConfigError, UsageError
from promptbundle.core.writes import refuse_escapes_within
from promptbundle.sources.config import find_root

__all__ = ["run_build"]


def run_build(
    root: Path | None,
    *,
    targets: Iterable[str] = (),
    agents: Iterable[str] = (),
    strict: bool = False,
    check: bool = False,
    jobs: int | None = None,
) -> Outcome:
    """Build the bundle at `root`; with `check`, only report how the output folder differs.

    `jobs` is the number of processes that render (default: one per core, fewer for a small
    bundle); compiled templates are kept in the bundle's cache folder.
    """
    targets, agents = tuple(targets), tuple(agents)
    if check and (targets or agents):
        raise UsageError("--check compares the whole output folder; drop --target/--agent")
    root = root.resolve() if root is not None else find_root(Path.cwd())
    # Only a full build records what it read and wrote, and only a full build can be skipped.
    full = not (targets or agents or check)
    key = {"strict": strict}
    if full and (done := buildcache.up_to_date(root, key=key)) is not None:
        return Outcome.from_record("build", done)
    # Nothing is written through a link out of the bundle (the lock, the no-op record, ...).
    cache = buildcache.cache_folder(root)
    refuse_escapes_within(root, cache, skip=(buildcache.STAGING_PREFIX,))
    snapshot = buildcache.snapshot_inputs(root) if full and _is_bundle(root) else None
    # Jinja, markdown-it and the formats load here, not at start-up: a build with nothing
    # to do stays about a tenth of a second.
    from promptbundle.commands.rebuild import build_bundle

    return build_bundle(
        root,
        targets=targets,
        agents=agents,
        strict=strict,
        check=check,
        jobs=jobs,
        record=(snapshot, key) if snapshot is not None else None,
    )


def _is_bundle(root: Path) -> bool:
    """Whether `root` holds a bundle configuration (else the build fails: cache nothing)."""
    try:
        return find_root(root) == root
    except ConfigError:
        return False
