"""`promptbundle watch`: a real process, real file edits, each step awaited with a deadline."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from promptbundle.cli import main
from promptbundle.commands.init import run_init
from promptbundle.commands.watch import watch_bundle

DEADLINE = 20.0  # seconds a step may take before the test fails instead of hanging


class Watch:
    """`promptbundle watch` running in a bundle, with its stderr read line by line."""

    def __init__(self, root: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "promptbundle.cli", "watch"],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert self.proc.stderr is not None
        threading.Thread(target=self._read, args=(self.proc.stderr,), daemon=True).start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str) -> list[str]:
        """The lines printed up to and including the first one containing `text`."""
        got = []
        while True:
            try:
                line = self.lines.get(timeout=DEADLINE)
            except queue.Empty:
                self.stop()
                pytest.fail(f"no line with {text!r} within {DEADLINE} s; printed: {self.seen}")
            got.append(line)
            self.seen.append(line)
            if text in line:
                return got

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGINT)
        try:
            out, _ = self.proc.communicate(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        return self.proc.returncode, out


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    root = tmp_path / "demo"
    run_init(root)
    return root


def test_watch_rebuilds_on_an_edit_shows_an_error_and_recovers(bundle: Path) -> None:
    watch = Watch(bundle)
    watch.wait_for("watching")
    agent = bundle / "agents/reviewer.md"
    agent.write_text(agent.read_text() + "\nAlso check the changelog.\n")
    assert watch.wait_for("built in")[0] == "changed: agents/reviewer.md"
    assert (
        "Also check the changelog." in (bundle / "dist/claude-code/agents/reviewer.md").read_text()
    )

    fragment = bundle / "fragments/git.md"
    original = fragment.read_text()
    fragment.write_text(original + "{{ nope }}\n")
    lines = watch.wait_for("waiting for the next change")
    line = len(original.splitlines()) + 1
    assert lines[0] == "changed: fragments/git.md"
    assert lines[1].startswith(f"fragments/git.md:{line}:1: error: 'nope' is undefined")
    assert lines[1].endswith("[PB003]")

    fragment.write_text(original)
    assert watch.wait_for("built in")[0] == "changed: fragments/git.md"
    code, out = watch.stop()
    assert code == 0
    assert watch.proc.stderr is not None
    # Three builds reported their summary: the first, the edit, the fix.
    assert out.count("built ") == 3, out


def test_writes_into_the_output_folder_do_not_start_a_build(bundle: Path) -> None:
    watch = Watch(bundle)
    watch.wait_for("watching")
    (bundle / "dist/stray.txt").write_text("x")
    (bundle / ".promptbundle-cache/other").write_text("x")
    (bundle / "agents/reviewer.md").touch()
    lines = watch.wait_for("built in")
    assert lines[0] == "changed: agents/reviewer.md"
    code, _ = watch.stop()
    assert code == 0


def test_a_bundle_that_does_not_build_at_start_is_watched_until_fixed(bundle: Path) -> None:
    agent = bundle / "agents/reviewer.md"
    good = agent.read_text()
    agent.write_text(good.replace("description:", "descripton:", 1))
    watch = Watch(bundle)
    first = watch.wait_for("watching")
    assert any("error:" in line and "agents/reviewer.md" in line for line in first), first
    agent.write_text(good)
    assert watch.wait_for("built in")[0] == "changed: agents/reviewer.md"
    assert watch.stop()[0] == 0


def test_watch_stops_when_asked_and_says_so(bundle: Path) -> None:
    printed: list[tuple[str, bool]] = []
    stop = threading.Event()
    stop.set()  # already set: the first build runs, the watch loop ends at once
    code = watch_bundle(bundle, lambda line, err: printed.append((line, err)), stop=stop)
    assert code == 0
    assert printed[-1] == ("stopped watching", True)
    assert printed[0][0].startswith("built ")


def test_watch_outside_a_bundle_is_a_located_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["watch", "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert "error:" in result.stderr and "[PB001]" in result.stderr


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_a_script_that_completes_commands(shell: str) -> None:
    result = CliRunner().invoke(main, ["completion", shell])
    assert result.exit_code == 0
    assert "_PROMPTBUNDLE_COMPLETE" in result.stdout
    env = {
        **os.environ,
        "_PROMPTBUNDLE_COMPLETE": f"{shell}_complete",
        "COMP_WORDS": "promptbundle wa",
        # bash and zsh pass the index of the word being completed, fish the word itself.
        "COMP_CWORD": "wa" if shell == "fish" else "1",
    }
    done = subprocess.run(
        [str(Path(sys.executable).parent / "promptbundle")],
        env=env,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=True,
    )
    assert "watch" in done.stdout
