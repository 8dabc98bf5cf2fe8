"""Shared fixtures: build small bundles from {path: text} dicts in tmp_path."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.support import BASIC_CONFIG, BundleFactory, write_tree


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
