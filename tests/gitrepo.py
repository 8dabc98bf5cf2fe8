"""Temporary git repositories with reproducible commits, for diff and workflow tests."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from tests.support import write_tree

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00+00:00",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00+00:00",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
}


class GitRepo:
    """A git repository in a folder; `commit` writes files and records them."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        for key, value in GIT_ENV.items():
            monkeypatch.setenv(key, value)
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        proc = subprocess.run(
            ["git", "-C", str(self.root), *args], capture_output=True, text=True, check=True
        )
        return proc.stdout.strip()

    def write(self, files: Mapping[str, str | bytes], remove: Iterable[str] = ()) -> None:
        write_tree(self.root, files)
        for rel in remove:
            (self.root / rel).unlink()

    def commit(
        self, files: Mapping[str, str | bytes], message: str, remove: Iterable[str] = ()
    ) -> str:
        self.write(files, remove)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")
