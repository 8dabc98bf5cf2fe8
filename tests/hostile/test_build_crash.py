"""A build killed at any moment leaves the output folder as the previous build or the new one,
never a mix, and the next build repairs everything (racing builds: tests/build/test_switch.py).

These run real `promptbundle build` processes. Every wait is bounded (`timeout=`), so a hang
fails instead of blocking the run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from promptbundle.build.cache import CACHE_FOLDER
from promptbundle.commands.build import run_build
from promptbundle.core.writes import INCOMPLETE
from tests.support import BASIC_CONFIG, write_tree

PROMPTBUNDLE = Path(sys.executable).with_name("promptbundle")
TIMEOUT = 120
AGENTS = 150
KILLS = 50

Tree = dict[str, bytes]


def _sources(variant: str, count: int) -> dict[str, str]:
    """Two versions of one bundle: "b" changes half the agents, drops a tenth, adds some."""
    files = {
        "promptbundle.toml": BASIC_CONFIG,
        "fragments/shared.md": "# Shared\n\n" + "Read the whole diff before you answer.\n" * 4,
    }
    for i in range(count):
        if variant == "b" and i % 10 == 0:
            continue
        changed = f"Version {variant}.\n\n" if i % 2 == 0 else ""
        files[f"agents/a{i:04}.md"] = (
            f"---\nname: a{i:04}\ndescription: Prompt a{i:04}\nmodel: sonnet\ntools: [Read]\n"
            f'---\n# a{i:04}\n\n{changed}{{{{ fragment("shared", level=2) }}}}\n'
            + "Work carefully and explain each step.\n"
            * 10
        )
    if variant == "b":
        for i in range(count, count + count // 10):
            files[f"agents/a{i:04}.md"] = (
                f"---\nname: a{i:04}\ndescription: New a{i:04}\nmodel: sonnet\n---\nNew.\n"
            )
    return files


def _switch_sources(root: Path, variant: str, count: int) -> None:
    shutil.rmtree(root / "agents", ignore_errors=True)
    write_tree(root, _sources(variant, count))


def _tree(root: Path) -> Tree:
    dist = root / "dist"
    return {p.relative_to(dist).as_posix(): p.read_bytes() for p in dist.rglob("*") if p.is_file()}


def _clean_builds(folder: Path, count: int) -> dict[str, Tree]:
    """What a build of each version writes into a fresh bundle."""
    trees = {}
    for variant in ("a", "b"):
        root = folder / f"clean-{variant}"
        write_tree(root, _sources(variant, count))
        run_build(root, jobs=1)
        trees[variant] = _tree(root)
    assert trees["a"] != trees["b"]
    return trees


# What a finished build keeps in its cache folder; anything else is left over.
CACHE_FILES = {
    ".gitignore",
    "build-started",
    "build-state.json",
    "build.lock",
    "headings.json",
    "renders.json",
}


def _leftovers(root: Path) -> list[str]:
    """What a killed build left in the cache folder that the next one must remove."""
    cache = root / CACHE_FOLDER
    found = [p.name for p in cache.iterdir() if p.name not in CACHE_FILES | {"templates"}]
    found += [
        f"templates/{p.name}" for p in (cache / "templates").iterdir() if p.suffix != ".cache"
    ]
    return sorted(found)


def _start(root: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(PROMPTBUNDLE), "build", "--jobs", "1"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _kill(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):  # it may have finished already
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=TIMEOUT)


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Tree]:
    return _clean_builds(tmp_path_factory.mktemp("clean"), AGENTS)


def test_a_build_killed_at_any_moment_leaves_one_whole_build(
    tmp_path: Path, versions: dict[str, Tree]
) -> None:
    root = tmp_path / "bundle"
    write_tree(root, _sources("a", AGENTS))
    started = time.monotonic()
    done = subprocess.run(
        [str(PROMPTBUNDLE), "build", "--jobs", "1"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    duration = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert _tree(root) == versions["a"]
    current = "a"
    seen: Counter[str] = Counter()
    for kill in range(KILLS):
        new = "b" if current == "a" else "a"
        _switch_sources(root, new, AGENTS)
        proc = _start(root)
        # Evenly spaced moments from the start of the process to just past its usual end.
        time.sleep(duration * 1.1 * (kill + 0.5) / KILLS)
        _kill(proc)
        found = _tree(root)
        assert found in (versions[current], versions[new]), (
            f"kill {kill} at {duration * 1.1 * (kill + 0.5) / KILLS:.3f} s left a mix: "
            f"{sum(found.get(p) == b for p, b in versions[current].items())} files of the "
            f"previous build, {sum(found.get(p) == b for p, b in versions[new].items())} of the new"
        )
        seen["new" if found == versions[new] else "previous"] += 1
        seen["mid-write"] += bool(_leftovers(root))
        assert not (root / "dist" / INCOMPLETE).exists()
        # The next build makes the folder a clean build's and removes what the killed one left.
        run_build(root, jobs=1)
        assert _tree(root) == versions[new], f"kill {kill}: not repaired"
        assert _leftovers(root) == []
        current = new
    assert seen["previous"] >= 1 and seen["mid-write"] >= 1, seen
