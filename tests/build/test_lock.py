"""One writing build at a time: real `promptbundle build` processes racing, waiting, dying."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from promptbundle.build import cache as buildcache
from promptbundle.build import lock as buildlock
from promptbundle.build import staging
from promptbundle.build.cache import CACHE_FOLDER, STATE_FILE
from promptbundle.build.lock import LOCK_FILE, TIMEOUT_VARIABLE, build_lock, lock_timeout
from promptbundle.commands.build import run_build
from promptbundle.core.errors import UsageError
from tests.support import BASIC_CONFIG, write_tree

PROMPTBUNDLE = Path(sys.executable).with_name("promptbundle")
# Every wait in this file is bounded: no test can hang.
RUN_TIMEOUT = 120


def _sources(count: int, text: str = "For {{ agent.name }}.") -> dict[str, str]:
    files = {
        f"agents/a{i:04}.md": (
            f"---\nname: a{i:04}\ndescription: Prompt a{i:04}\nmodel: sonnet\n"
            f'tools: [Read]\n---\n# a{i:04}\n\n{{{{ fragment("shared", level=2) }}}}\n'
        )
        for i in range(count)
    }
    files["fragments/shared.md"] = f"# Shared\n\n{text}\n"
    files["promptbundle.toml"] = BASIC_CONFIG
    return files


def _bundle(root: Path, files: Mapping[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    return write_tree(root, files)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != TIMEOUT_VARIABLE}
    return {**env, **extra}


def _start(root: Path, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(PROMPTBUNDLE), "build", *args],
        cwd=root,
        env=_env() if env is None else dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its render workers share its process group
    )


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise
    return proc.returncode, out, err


def _build(root: Path, *args: str, env: Mapping[str, str] | None = None) -> tuple[int, str, str]:
    return _finish(_start(root, *args, env=env))


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=RUN_TIMEOUT)


def _dist(root: Path) -> dict[str, bytes]:
    dist = root / "dist"
    # schemas/ holds the editor schemas a build keeps there: not outputs.
    return {
        p.relative_to(dist).as_posix(): p.read_bytes()
        for p in dist.rglob("*")
        if p.is_file() and not p.relative_to(dist).as_posix().startswith("schemas/")
    }


def _staging_folders(root: Path) -> list[Path]:
    return sorted((root / CACHE_FOLDER).glob("staging-*"))


def _clean_build(tmp_path: Path, files: Mapping[str, str]) -> tuple[dict[str, bytes], str]:
    """The output folder and summary of a build of `files` in a fresh folder."""
    clean = tmp_path / "clean"
    shutil.rmtree(clean, ignore_errors=True)
    code, out, err = _build(_bundle(clean, files))
    assert (code, err) == (0, "")
    return _dist(clean), out


def _summary(outputs: int, prompts: int, written: int, removed: int = 0) -> str:
    return (
        f"built {outputs} outputs for {prompts} prompts into dist/: {written} written, "
        f"{outputs - written} unchanged, {removed} removed\n"
    )


def test_concurrent_builds_take_turns_and_write_what_a_clean_build_writes(
    tmp_path: Path,
) -> None:
    root = tmp_path / "bundle"
    before: dict[str, bytes] = {}
    for pair in range(10):
        files = _sources(30, f"Pair {pair} for {{{{ agent.name }}}}.")
        _bundle(root, files)
        expected, _ = _clean_build(tmp_path, files)
        outputs = len(expected) - 1  # every file but the manifest
        changed = sum(
            1
            for rel, data in expected.items()
            if rel != "manifest.json" and before.get(rel) != data
        )
        first, second = _start(root), _start(root)
        results = sorted([_finish(first), _finish(second)], key=lambda r: r[1])
        # One build wrote the changed files, the other waited and found nothing left to do.
        assert results == sorted(
            [(0, _summary(outputs, 30, changed), ""), (0, _summary(outputs, 30, 0), "")],
            key=lambda r: r[1],
        ), f"pair {pair}"
        assert _dist(root) == expected, f"pair {pair}"
        assert _staging_folders(root) == []
        before = expected


@pytest.fixture
def held_lock(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    """A helper process that holds the build lock of tmp_path/bundle and sleeps."""
    root = _bundle(tmp_path / "bundle", _sources(3))
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from promptbundle.build.lock import build_lock\n"
        "with build_lock(Path(sys.argv[1])):\n"
        "    print('locked', flush=True)\n"
        "    time.sleep(60)\n"
    )
    helper = subprocess.Popen(
        [sys.executable, "-c", script, str(root / CACHE_FOLDER)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert helper.stdout is not None
        ready, _, _ = select.select([helper.stdout], [], [], 30)
        assert ready, "the helper did not take the lock within 30 s"
        assert helper.stdout.readline() == "locked\n"
        yield root, helper
    finally:
        _kill_group(helper)


def test_a_build_gives_up_on_a_held_lock_naming_its_holder(
    held_lock: tuple[Path, subprocess.Popen[str]],
) -> None:
    root, helper = held_lock
    holder = (root / CACHE_FOLDER / LOCK_FILE).read_text(encoding="ascii")
    match = re.fullmatch(r"pid (\d+) started (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00)\n", holder)
    assert match is not None and int(match[1]) == helper.pid
    started = time.monotonic()
    code, out, err = _build(root, env=_env(**{TIMEOUT_VARIABLE: "1"}))
    waited = time.monotonic() - started
    lock = f"{CACHE_FOLDER}/{LOCK_FILE}"
    assert (code, out, err) == (
        1,
        "",
        f"{lock}:1:1: error: another build of this bundle holds the lock {lock} "
        f"(pid {helper.pid}, started {match[2]}); gave up after 1 s "
        f"(set {TIMEOUT_VARIABLE} to wait longer); nothing written [PB300]\n",
    )
    assert 1 <= waited < 30
    # Nothing written: no output folder, no staging folder, no record; the holder's line kept.
    assert not (root / "dist").exists()
    assert _staging_folders(root) == []
    assert not (root / CACHE_FOLDER / STATE_FILE).exists()
    assert (root / CACHE_FOLDER / LOCK_FILE).read_text(encoding="ascii") == holder


def test_a_read_only_build_takes_no_lock(held_lock: tuple[Path, subprocess.Popen[str]]) -> None:
    root, _ = held_lock
    code, out, err = _build(root, "--check", env=_env(**{TIMEOUT_VARIABLE: "0"}))
    assert code == 1  # no dist/ yet: out of date, said at once rather than after a wait
    assert out.startswith("dist/ is out of date: 0 stale, ")
    assert "lock" not in out + err


def _wait_for_staged_file(root: Path, proc: subprocess.Popen[str], seconds: float) -> bool:
    """Whether a staged output appeared in a staging folder while the build still ran."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        for folder in _staging_folders(root):
            for _, _, names in os.walk(folder):
                if names:
                    return True
        time.sleep(0.002)
    return False


def test_a_killed_build_leaves_a_staging_folder_the_next_build_removes(tmp_path: Path) -> None:
    files = _sources(400)
    root = _bundle(tmp_path / "bundle", files)
    env = _env(**{TIMEOUT_VARIABLE: "20"})
    for _attempt in range(10):
        shutil.rmtree(root / "dist", ignore_errors=True)
        shutil.rmtree(root / CACHE_FOLDER, ignore_errors=True)
        proc = _start(root, "--jobs", "2", env=env)
        try:
            if _wait_for_staged_file(root, proc, 60):
                # Only the build process dies: its render worker may live on, orphaned, but
                # holds no copy of the lock.
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=RUN_TIMEOUT)
                with open(root / CACHE_FOLDER / LOCK_FILE, "rb") as handle:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free at once
        finally:
            _kill_group(proc)
        if _staging_folders(root):
            break
    else:
        pytest.fail("no build was killed while staging in 10 attempts")
    assert proc.returncode == -signal.SIGKILL
    assert len(_staging_folders(root)) == 1

    code, out, err = _build(root, env=env)
    expected, summary = _clean_build(tmp_path, files)
    assert (code, err) == (0, "")  # the leftover is removed without a word
    assert out.startswith("built 1203 outputs for 400 prompts into dist/: ")
    assert _staging_folders(root) == []
    assert _dist(root) == expected
    assert _build(root, env=env) == (0, _summary(1203, 400, 0), "")
    assert summary == _summary(1203, 400, 1203)


def test_a_build_with_leftovers_reports_what_a_build_without_them_reports(
    tmp_path: Path,
) -> None:
    files = _sources(3)
    expected, summary = _clean_build(tmp_path, files)
    assert summary == _summary(12, 3, 12)
    root = _bundle(tmp_path / "bundle", files)
    assert _build(root) == (0, summary, "")  # no leftovers: the summary as before
    (root / "dist").joinpath("manifest.json").unlink()
    for name in ("staging-dead1", "staging-dead2/claude-code/agents"):
        (root / CACHE_FOLDER / name).mkdir(parents=True)
    (root / CACHE_FOLDER / "staging-dead2/claude-code/agents/a.md").write_text("half")
    assert _build(root) == (0, _summary(12, 3, 0), "")
    assert _staging_folders(root) == []
    assert _dist(root) == expected


def test_a_leftover_makes_the_next_build_real_so_it_is_removed(tmp_path: Path) -> None:
    root = _bundle(tmp_path / "bundle", _sources(3))
    assert run_build(root).summary == _summary(12, 3, 12).rstrip()
    time.sleep(0.05)
    assert buildcache.up_to_date(root, key={"strict": False}) is not None
    (root / CACHE_FOLDER / "staging-dead").mkdir()
    # A staging folder means a build is writing, or one died: no no-op answer.
    assert buildcache.up_to_date(root, key={"strict": False}) is None
    outcome = run_build(root)
    assert (outcome.summary, outcome.messages) == (_summary(12, 3, 0).rstrip(), [])
    assert _staging_folders(root) == []


def test_a_leftover_that_cannot_be_removed_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _bundle(tmp_path / "bundle", _sources(3))
    stuck = root / CACHE_FOLDER / "staging-stuck"
    stuck.mkdir(parents=True)
    real = shutil.rmtree

    def refusing(path: str | Path, *args: object, **kwargs: object) -> None:
        if Path(path) == stuck:
            raise PermissionError(13, "Permission denied", str(path))
        real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(staging.shutil, "rmtree", refusing)
    monkeypatch.chdir(root)
    outcome = run_build(root)
    assert outcome.summary == _summary(12, 3, 12).rstrip()
    assert outcome.messages == [
        f"{CACHE_FOLDER}/staging-stuck:1:1: warning: cannot remove the staging folder an "
        f"interrupted build left: [Errno 13] Permission denied: '{stuck}'"
    ]
    assert outcome.exit_code == 0
    # The no-op record keeps the result, not the warning.
    record = json.loads((root / CACHE_FOLDER / STATE_FILE).read_text(encoding="utf-8"))
    assert record["result"]["messages"] == []


def test_the_lock_is_one_holder_at_a_time_and_free_after(tmp_path: Path) -> None:
    with build_lock(tmp_path, timeout=0) as path:
        assert path == tmp_path / LOCK_FILE
        with pytest.raises(buildlock.LockTimeoutError) as raised, build_lock(tmp_path, timeout=0.2):
            pass  # pragma: no cover
        assert raised.value.location is not None
        assert raised.value.location.path == path
        assert f"(pid {os.getpid()}, started " in raised.value.message
    with build_lock(tmp_path, timeout=0):
        pass


def test_a_forked_child_holds_no_copy_of_the_lock(tmp_path: Path) -> None:
    read, write = os.pipe()
    with build_lock(tmp_path, timeout=0) as path:
        child = os.fork()
        if child == 0:  # pragma: no cover - the child process
            os.close(read)
            with open(path, "rb") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    os.write(write, b"not held")
                except BlockingIOError:
                    os.write(write, b"held")  # by the parent, as it should be
            time.sleep(2)  # alive, with the parent's memory, while the parent releases
            os._exit(0)
        os.close(write)
        ready, _, _ = select.select([read], [], [], 30)
        assert ready and os.read(read, 100) == b"held"
    os.close(read)
    # The parent released the lock; the sleeping child must not be holding a copy of it.
    try:
        with build_lock(tmp_path, timeout=0):
            pass
    finally:
        _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.mark.parametrize(
    ("value", "seconds"), [(None, 60.0), ("", 60.0), ("2.5", 2.5), (" 0 ", 0.0)]
)
def test_the_lock_timeout_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str | None, seconds: float
) -> None:
    if value is None:
        monkeypatch.delenv(TIMEOUT_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(TIMEOUT_VARIABLE, value)
    assert lock_timeout() == seconds


@pytest.mark.parametrize("value", ["soon", "-1", "nan"])
def test_a_bad_lock_timeout_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(TIMEOUT_VARIABLE, value)
    with pytest.raises(UsageError) as raised:
        lock_timeout()
    assert raised.value.message == (
        f"{TIMEOUT_VARIABLE} must be a number of seconds >= 0, not {value!r}"
    )
    assert raised.value.exit_code == 2


def test_cache_files_written_at_once_never_break_each_other(tmp_path: Path) -> None:
    """Each writer renames its own temporary file: no writer moves or truncates another's."""
    path = tmp_path / "state.json"
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(100):
                buildcache._write_atomically(path, json.dumps([n, i]).encode())
        except BaseException as err:  # pragma: no cover - what the test looks for
            errors.append(err)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=RUN_TIMEOUT)
    assert errors == []
    assert json.loads(path.read_text(encoding="utf-8"))[1] == 99
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]
