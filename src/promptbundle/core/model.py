"""The data model every layer shares: the bundle, its targets, prompts and outputs."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from promptbundle.core.diagnostics import Diagnostic

__all__ = [
    "ID_PATTERN",
    "TIERS",
    "VERSION_PATTERN",
    "Agent",
    "Bundle",
    "BundleConfig",
    "KnownFormats",
    "OutputFile",
    "TargetConfig",
]

# Model tiers a prompt may name; each target maps a tier onto its own model id.
TIERS = ("opus", "sonnet", "haiku", "inherit")
ID_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
# Semantic versions: plugin.json and marketplace.json carry the version, and Claude Code
# requires semver there.
VERSION_PATTERN = re.compile(
    r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$"
)


@dataclass(frozen=True)
class KnownFormats:
    """The built-in format names, for loaders that sit below the format registry."""

    names: frozenset[str]
    # What a bundle that lists no targets builds.
    defaults: tuple[str, ...]


@dataclass(frozen=True)
class TargetConfig:
    """One target of the bundle: a built-in format configured for this bundle."""

    name: str
    format: str
    models: dict[str, str] = field(default_factory=dict)
    tools: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None


@dataclass(frozen=True)
class BundleConfig:
    """The bundle: where it lives, what it is called and which targets it builds."""

    root: Path
    source: Path
    name: str
    version: str
    description: str = ""
    author: str = ""
    out: str = "dist"
    vars: dict[str, Any] = field(default_factory=dict)
    targets: tuple[TargetConfig, ...] = ()

    @property
    def out_dir(self) -> Path:
        return self.root / self.out

    def target(self, name: str) -> TargetConfig:
        for target in self.targets:
            if target.name == name:
                return target
        raise KeyError(name)


@dataclass(frozen=True)
class Agent:
    """One agent source: canonical metadata plus the Jinja body."""

    id: str
    path: Path
    rel: str
    description: str
    body: str
    body_line: int
    model: str | None = None
    tools: tuple[str, ...] | None = None
    targets: tuple[str, ...] | None = None
    vars: dict[str, Any] = field(default_factory=dict)
    blocks: dict[str, dict[str, Any]] = field(default_factory=dict)
    imported: dict[str, Any] = field(default_factory=dict)
    suppress: frozenset[str] = frozenset()
    meta: dict[str, Any] = field(default_factory=dict)

    def context(self) -> dict[str, Any]:
        """The `agent` variable templates see."""
        return {
            "id": self.id,
            "name": self.id,
            "description": self.description,
            "model": self.model,
            "tools": list(self.tools or ()),
            "targets": list(self.targets or ()),
            "vars": dict(self.vars),
        }


@dataclass(frozen=True)
class Bundle:
    """Everything the build reads: configuration, agents and fragment files."""

    config: BundleConfig
    agents: tuple[Agent, ...]
    fragments: tuple[str, ...]

    @property
    def root(self) -> Path:
        return self.config.root


@dataclass(frozen=True)
class OutputFile:
    """One file of dist/: a path relative to the output folder and its exact bytes."""

    path: str
    content: bytes
    target: str
    agent: str | None
    sources: tuple[str, ...]
    # Written back verbatim from an imported file (see roundtrip.py): the user's own bytes.
    verbatim: bool = False
    # What validating it found (before an agent's suppressions are applied).
    diagnostics: tuple[Diagnostic, ...] = ()

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def size(self) -> int:
        return len(self.content)
