"""The data model every layer shares: the bundle, its targets, prompts and outputs."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from promptbundle.core.diagnostics import Diagnostic

__all__ = [
    "ID_PATTERN",
    "KINDS",
    "KIND_FOLDERS",
    "PROJECT_FOLDER",
    "SOURCE_FOLDERS",
    "TIERS",
    "VERSION_PATTERN",
    "Bundle",
    "BundleConfig",
    "CarriedFile",
    "CustomKind",
    "KnownFormats",
    "OutputFile",
    "Plugin",
    "Prompt",
    "TargetConfig",
]

# Model tiers a prompt may name; each target maps a tier onto its own model id.
TIERS = ("opus", "sonnet", "haiku", "inherit")
# The kinds of prompt, and the folder each lives in (inside the bundle or a plugin).
KINDS = ("agent", "command", "skill", "rule")
KIND_FOLDERS = {"agent": "agents", "command": "commands", "skill": "skills", "rule": "rules"}
# Every folder of a bundle's sources: the kinds', plugins, carried files, fragments, targets.
SOURCE_FOLDERS = (*KIND_FOLDERS.values(), "plugins", "files", "fragments", "targets")
# Inside a target's output folder: files that go at the project's root, outside the tool's
# own folder (`opencode/@project/AGENTS.md` is installed as `AGENTS.md`).
PROJECT_FOLDER = "@project"
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
    # Per format, the kinds a target may convert into the format's own (`convert`).
    convertible: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class CustomKind:
    """How a custom target writes one kind of prompt (`[kinds.<kind>]` of its target file)."""

    # The Jinja template that writes the whole file, and its text.
    template: Path
    template_text: str
    # The output path pattern (a Jinja expression template), e.g. `prompts/{{ prompt.id }}.md`.
    path: str
    # (canonical field, output key) pairs, in output order.
    fields: tuple[tuple[str, str], ...] = ()
    # The JSON Schema the output's fields are checked against, and its file.
    schema: dict[str, Any] | None = None
    schema_file: Path | None = None


@dataclass(frozen=True)
class TargetConfig:
    """One target of the bundle: a built-in format configured for this bundle, or a custom
    target written by its own templates (`format = "custom"`, `kinds`)."""

    name: str
    format: str
    models: dict[str, str] = field(default_factory=dict)
    tools: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None
    # Kinds this target converts into the kind its format carries (`convert = ["agent"]`).
    convert: tuple[str, ...] = ()
    # Fields the target may drop without it counting as a loss (`accept = ["model"]`).
    accept: tuple[str, ...] = ()
    # A custom target's kinds (`format = "custom"`): how it writes each kind it carries.
    kinds: dict[str, CustomKind] = field(default_factory=dict)

    def accepts(self, field_name: str) -> bool:
        """Whether dropping `field_name` (`tools`, or `tools.Grep`) is accepted."""
        return any(
            name == "*" or field_name == name or field_name.startswith(name + ".")
            for name in self.accept
        )


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
    # Tool names beyond the canonical ones (core/tools.py) that prompts may list.
    tools: tuple[str, ...] = ()

    @property
    def out_dir(self) -> Path:
        return self.root / self.out

    def target(self, name: str) -> TargetConfig:
        for target in self.targets:
            if target.name == name:
                return target
        raise KeyError(name)


@dataclass(frozen=True)
class Prompt:
    """One prompt source (an agent, command, skill or rule): canonical metadata plus the
    Jinja body."""

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
    kind: str = "agent"
    # The plugin it belongs to ("" for the bundle's root).
    plugin: str = ""
    # A skill's other files, relative to its folder (copied byte for byte beside SKILL.md).
    resources: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """How messages and the manifest name it: the id of a root agent, else the kind and
        id (`command:git/commit`), after the plugin's name when it has one."""
        if self.kind == "agent" and not self.plugin:
            return self.id
        return f"{self.plugin + '/' if self.plugin else ''}{self.kind}:{self.id}"

    def context(self) -> dict[str, Any]:
        """The variable templates see as `prompt` (and as `agent`, `command`, ...)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "plugin": self.plugin,
            "name": self.meta.get("name", self.id) if self.kind != "agent" else self.id,
            "description": self.description,
            "model": self.model,
            "tools": list(self.tools or ()),
            "targets": list(self.targets or ()),
            "vars": dict(self.vars),
        }


@dataclass(frozen=True)
class Plugin:
    """A plugin: `plugins/<name>/` with plugin.toml, its own prompts and carried files."""

    name: str
    # The plugin's folder inside a marketplace (default `plugins/<name>`; `.` for the root).
    path: str
    manifest: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None


@dataclass(frozen=True)
class CarriedFile:
    """A file carried byte for byte: `files/<path>` of the bundle, or a plugin's own file."""

    # Where it goes, relative to the folder an install writes into (or to the plugin's folder).
    path: str
    source: Path
    rel: str
    plugin: str = ""


@dataclass(frozen=True)
class Bundle:
    """Everything the build reads: configuration, prompts of every kind, fragment files,
    plugins and the files carried byte for byte."""

    config: BundleConfig
    prompts: tuple[Prompt, ...]
    fragments: tuple[str, ...]
    plugins: tuple[Plugin, ...] = ()
    files: tuple[CarriedFile, ...] = ()

    @property
    def root(self) -> Path:
        return self.config.root


@dataclass(frozen=True)
class OutputFile:
    """One file of dist/: a path relative to the output folder and its exact bytes."""

    path: str
    content: bytes
    target: str
    # The label of the prompt it was rendered from (see Prompt.label); None for bundle files.
    agent: str | None
    sources: tuple[str, ...]
    # Written back verbatim from an imported file (see roundtrip.py): the user's own bytes.
    verbatim: bool = False
    # What validating it found (before a prompt's suppressions are applied).
    diagnostics: tuple[Diagnostic, ...] = ()
    # The prompt's kind (None for bundle files such as manifests and carried files).
    kind: str | None = None
    # Copied byte for byte (a skill's resource, a plugin's or the bundle's own file): not
    # a prompt file, so not validated.
    carried: bool = False
    # The prompt source it was rendered from (relative to the bundle's root), where its
    # problems are reported.
    source: str | None = None

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def size(self) -> int:
        return len(self.content)
