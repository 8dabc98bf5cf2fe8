"""Running git: one way to call it, for revisions, diffs and release metadata."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from promptbundle.core.errors import BundleError

__all__ = ["git", "git_text", "stderr_of"]


def git(
    top: Path, *args: str, input_bytes: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run git in `top` without prompts, in the C locale; raises when git cannot start."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        return subprocess.run(
            ["git", "--literal-pathspecs", "-C", str(top), *args],
            input=input_bytes,
            capture_output=True,
            env=env,
            check=False,
        )
    except OSError as err:
        raise BundleError(f"cannot run git: {err}") from err


def git_text(top: Path, *args: str) -> str | None:
    """git's output as text, or None when git fails or is not installed."""
    try:
        proc = git(top, *args)
    except BundleError:
        return None
    if proc.returncode != 0:
        return None
    return proc.stdout.decode("utf-8", errors="replace").strip() or None


def stderr_of(proc: subprocess.CompletedProcess[bytes]) -> str:
    return proc.stderr.decode("utf-8", errors="replace").strip()
