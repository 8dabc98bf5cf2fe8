"""The manifest: one entry per output, the same shape in dist/manifest.json and in releases."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from promptbundle import __version__
from promptbundle.core.bounded import load_json
from promptbundle.core.diagnostics import Diagnostic
from promptbundle.core.model import BundleConfig

__all__ = [
    "MANIFEST",
    "Built",
    "manifest_bytes",
    "manifest_data",
    "manifest_entry",
    "read_manifest",
]

MANIFEST = "manifest.json"


class Built(Protocol):
    """What the build knows of any output, kept in memory or staged on disk."""

    @property
    def path(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def agent(self) -> str | None: ...
    @property
    def kind(self) -> str | None: ...
    @property
    def sources(self) -> tuple[str, ...]: ...
    @property
    def sha256(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def verbatim(self) -> bool: ...
    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]: ...


def manifest_entry(output: Built) -> dict[str, Any]:
    """An output's path, target, the kind and label of its prompt, digest, size and the
    sources it was rendered from."""
    return {
        "path": output.path,
        "target": output.target,
        "kind": output.kind,
        "prompt": output.agent,
        "sha256": output.sha256,
        "bytes": output.size,
        "sources": list(output.sources),
    }


def manifest_data(
    config: BundleConfig, entries: Sequence[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    """The manifest of `entries` (sorted by path); `extra` adds fields such as a release's
    commit, after the bundle's name and version."""
    return {
        "bundle": config.name,
        "version": config.version,
        "promptbundle": __version__,
        **extra,
        "outputs": sorted(entries, key=lambda entry: str(entry["path"])),
    }


def manifest_bytes(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def read_manifest(out_dir: Path) -> dict[str, Any] | None:
    """The manifest of an earlier build, or None when there is none or it is unreadable."""
    try:
        data = load_json((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("outputs"), list) else None
