"""File helpers every layer shares: digests and atomic writes."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from promptbundle.core.errors import BundleError

__all__ = ["atomic_write", "sha256"]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def atomic_write(path: Path, content: bytes) -> None:
    """Replace `path` with `content` in one rename: a reader sees the old file or the new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise BundleError(f"cannot write {path}: a folder is in the way")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".pb-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
