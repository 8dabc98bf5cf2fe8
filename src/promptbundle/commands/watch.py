"""`promptbundle watch`: build, then build again whenever a source changes.

Each change prints the files that changed and the build's result (its errors, located at the
sources, or its summary); a failed build never ends the watch, and the next change tries again.
Only the bundle's own files are watched: the output folder, the cache folder, `.git` and
virtual environments are not (a build writing its outputs must not wake the watch up).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import watchfiles

from promptbundle.build.cache import CACHE_FOLDER
from promptbundle.build.pipeline import read_config
from promptbundle.commands.build import run_build
from promptbundle.commands.outcome import Outcome
from promptbundle.core.errors import PromptBundleError
from promptbundle.sources.config import find_root

__all__ = ["watch_bundle"]

Echo = Callable[[str, bool], None]

# How long a burst of file events is gathered before one build (an editor's save is several
# events), and how often the watcher looks for them.
DEBOUNCE_MS = 50
STEP_MS = 10
# How long the watcher waits for events before it yields an empty batch.
READY_MS = 100


def watch_bundle(
    root: Path | None,
    echo: Echo,
    *,
    strict: bool = False,
    stop: threading.Event | None = None,
) -> int:
    """Build the bundle at `root`, then rebuild on every change until `stop` is set or the
    user presses Ctrl-C. `echo(line, to_stderr)` prints; returns the exit code (0)."""
    # A folder that holds no bundle at all is an error at once; a bundle that does not build
    # is watched until it does.
    root = find_root(root.resolve() if root is not None else Path.cwd())
    try:
        _build(root, echo, strict=strict)
        ready = False
        for changes in watchfiles.watch(
            root,
            watch_filter=_SourceFilter(_ignored_folders(root)),
            debounce=DEBOUNCE_MS,
            step=STEP_MS,
            stop_event=stop,
            raise_interrupt=True,
            # An empty batch at each timeout: the first one says the watcher is in place.
            yield_on_timeout=True,
            rust_timeout=READY_MS,
        ):
            if not ready:
                echo(f"watching {root} for changes (Ctrl-C stops)", True)
                ready = True
            changed = _changed_files(root, changes)
            if not changed:
                continue
            echo(f"changed: {', '.join(changed)}", True)
            _build(root, echo, strict=strict)
    except KeyboardInterrupt:
        pass
    echo("stopped watching", True)
    return 0


def _build(root: Path, echo: Echo, *, strict: bool) -> None:
    started = time.perf_counter()
    try:
        outcome = run_build(root, strict=strict)
    except PromptBundleError as err:
        for line in err.lines():
            echo(line, True)
        echo("build failed; waiting for the next change", True)
        return
    _print(outcome, echo)
    if outcome.exit_code == 0:
        echo(f"built in {time.perf_counter() - started:.2f} s", True)
    else:
        echo("build failed; waiting for the next change", True)


def _print(outcome: Outcome, echo: Echo) -> None:
    for line in outcome.messages:
        echo(line, True)
    if outcome.summary:
        echo(outcome.summary, False)


def _ignored_folders(root: Path) -> tuple[Path, ...]:
    """The folders whose changes never start a build: the output and cache folders."""
    folders = [root / CACHE_FOLDER, root / "dist"]
    # When the config does not load, the first build already said why; "dist" is ignored.
    with contextlib.suppress(PromptBundleError):
        folders.append(read_config(root).out_dir)
    return tuple(folder.resolve() for folder in folders)


class _SourceFilter(watchfiles.DefaultFilter):
    """watchfiles' default filter (.git, __pycache__, editors' swap files, virtual
    environments), plus the bundle's output and cache folders."""

    def __init__(self, ignored: Iterable[Path]) -> None:
        super().__init__()
        self._ignored = tuple(str(folder) for folder in ignored)

    def __call__(self, change: watchfiles.Change, path: str) -> bool:
        if any(path == folder or path.startswith(folder + "/") for folder in self._ignored):
            return False
        return bool(super().__call__(change, path))


def _changed_files(root: Path, changes: set[tuple[watchfiles.Change, str]]) -> list[str]:
    """The files a batch of events changed, leaving out those that came and went within it
    (an editor's or sed's temporary file)."""
    seen: dict[str, set[watchfiles.Change]] = {}
    for change, path in changes:
        seen.setdefault(path, set()).add(change)
    transient = {watchfiles.Change.added, watchfiles.Change.deleted}
    return sorted(
        _relative(root, path)
        for path, kinds in seen.items()
        if not (transient <= kinds and not Path(path).exists())
    )


def _relative(root: Path, path: str) -> str:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return path
