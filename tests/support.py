"""Helpers tests share: bundle configs and source trees written from {path: text} dicts."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path

__all__ = ["BASIC_CONFIG", "BundleFactory", "write_tree"]

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
