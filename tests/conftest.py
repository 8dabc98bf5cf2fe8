"""Shared fixtures: build small bundles from {path: text} dicts in tmp_path."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

BASIC_CONFIG = """\
name = "demo"
version = "1.2.3"
description = "Demo agents"
author = "Demo Team"
"""

BundleFactory = Callable[[Mapping[str, str | bytes]], Path]


def write_tree(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Create `files` ({relative path: text or bytes}) under root; text is dedented."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_bytes(textwrap.dedent(content).encode("utf-8"))
    return root


@pytest.fixture
def make_bundle(tmp_path: Path) -> BundleFactory:
    """A bundle root with promptbundle.toml (unless given) and the files passed in."""

    def factory(files: Mapping[str, str | bytes]) -> Path:
        root = tmp_path / "bundle"
        root.mkdir(exist_ok=True)
        if "promptbundle.toml" not in files and "pyproject.toml" not in files:
            (root / "promptbundle.toml").write_text(BASIC_CONFIG, encoding="utf-8")
        return write_tree(root, files)

    return factory
