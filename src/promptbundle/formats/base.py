"""What every target format shares: field mapping, lossiness and file writing."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from promptbundle.core.errors import Location
from promptbundle.core.roundtrip import restore_native
from promptbundle.core.yamlio import dump_frontmatter
from promptbundle.render.environment import RenderedAgent
from promptbundle.sources.config import BundleConfig, TargetConfig

__all__ = [
    "CLAUDE_MODELS",
    "Diagnostic",
    "Format",
    "LossyField",
    "OutputFile",
    "compose_frontmatter_file",
    "frontmatter_of",
    "lossiness_lines",
]

CLAUDE_MODELS = {"opus": "opus", "sonnet": "sonnet", "haiku": "haiku", "inherit": "inherit"}
TIERS = frozenset(CLAUDE_MODELS)


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


@dataclass(frozen=True)
class LossyField:
    """A canonical or per-target field a format cannot carry, so the output drops it."""

    agent: str
    target: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.agent}: {self.target} drops '{self.field}' ({self.reason})"


def lossiness_lines(items: Sequence[LossyField], prefix: str, *, shown: int = 3) -> list[str]:
    """One line per dropped field and target, naming the agents it affects.

    `lossy: agent-skill drops 'model' (agent-skill has no such field): a, b and 998 more`
    """
    agents: dict[tuple[str, str, str], list[str]] = {}
    for item in items:
        agents.setdefault((item.target, item.field, item.reason), []).append(item.agent)
    lines = []
    for (target, name, reason), ids in sorted(agents.items()):
        ids = sorted(set(ids))
        listed = ", ".join(ids[:shown]) + (
            f" and {len(ids) - shown} more" if len(ids) > shown else ""
        )
        lines.append(f"{prefix}: {target} drops '{name}' ({reason}): {listed}")
    return lines


@dataclass(frozen=True)
class Diagnostic:
    """A problem found in an output or a source, with a stable code."""

    severity: str  # "error" | "warning"
    code: str
    message: str
    location: Location

    def line(self) -> str:
        return f"{self.location}: {self.severity}: {self.message} [{self.code}]"


@dataclass
class Mapped:
    """The result of mapping an agent into a format's fields."""

    fields: dict[str, Any] = field(default_factory=dict)
    lossy: list[LossyField] = field(default_factory=list)


class Format:
    """A target format. Subclasses set class attributes and override a method or two."""

    name: ClassVar[str]
    description: ClassVar[str]
    # Fields in output order; canonical `name`/`description`/`model`/`tools` map onto these.
    fields: ClassVar[tuple[str, ...]] = ()
    # Whether per-target keys not in `fields` are kept (True) or dropped as lossy (False).
    keep_unknown: ClassVar[bool] = True
    default_models: ClassVar[Mapping[str, str]] = CLAUDE_MODELS
    # The field the canonical tool list maps onto.
    tools_field: ClassVar[str] = "tools"
    # Where a target's folder goes when installed into a project (None: not installable).
    install_prefix: ClassVar[str | None] = None
    # How an agent file carries its fields: "frontmatter" (YAML) or "table" (| key | value |).
    layout: ClassVar[str] = "frontmatter"
    # Whether a bundle that lists no targets builds this format.
    default_target: ClassVar[bool] = True

    def __init__(self, target: TargetConfig, bundle: BundleConfig) -> None:
        self.target = target
        self.bundle = bundle

    # -- mapping -------------------------------------------------------------------------
    def model_id(self, model: str) -> str | None:
        """The id this target uses for a model tier or explicit id (None: drop the field)."""
        table = {**self.default_models, **self.target.models}
        if model in table:
            return table[model] or None
        return model

    def map_tools(self, tools: Sequence[str]) -> Any:
        """The format's representation of the canonical tool list."""
        mapped = [self.target.tools.get(tool, tool) for tool in tools]
        return ", ".join(t for t in mapped if t)

    def map_fields(self, rendered: RenderedAgent) -> Mapped:
        """Canonical metadata plus the per-target block, in the format's field order."""
        agent = rendered.agent
        out = Mapped()
        values: dict[str, Any] = {"name": agent.id, "description": agent.description}
        if agent.model is not None:
            model = self.model_id(agent.model)
            if model is not None:
                values["model"] = model
        if agent.tools is not None:
            values[self.tools_field] = self.map_tools(agent.tools)
        block: dict[str, Any] = {}
        for key in (self.target.format, self.target.name):
            block.update(agent.blocks.get(key, {}))
        for key, value in block.items():
            if value is None:
                values.pop(key, None)
            else:
                values[key] = value
        ordered = [k for k in self.fields if k in values] + [
            k for k in values if k not in self.fields
        ]
        for key in ordered:
            if key in self.fields or self.keep_unknown:
                out.fields[key] = values[key]
            else:
                out.lossy.append(self.lossy(agent.id, key, f"{self.name} has no such field"))
        return out

    def lossy(self, agent_id: str, field_name: str, reason: str) -> LossyField:
        return LossyField(agent_id, self.target.name, field_name, reason)

    # -- files ---------------------------------------------------------------------------
    def agent_path(self, agent_id: str) -> str:
        """Path of an agent's file inside this target's folder."""
        raise NotImplementedError

    def render_file(self, fields: Mapping[str, Any], body: str) -> str:
        """The text of an agent file: frontmatter then body."""
        return compose_frontmatter_file(fields, body)

    def agent_outputs(self, rendered: RenderedAgent) -> tuple[list[OutputFile], list[LossyField]]:
        """Every file this format writes for one agent.

        An agent imported from this format is written back verbatim (see roundtrip.py)."""
        imported = rendered.agent.imported
        verbatim = imported.get("format") == self.name
        if verbatim:
            mapped = Mapped()
            text = restore_native(imported, rendered.body)
        else:
            mapped = self.map_fields(rendered)
            text = self.render_file(mapped.fields, rendered.body)
        path = f"{self.target.name}/{self.agent_path(rendered.agent.id)}"
        sources = tuple(sorted({*rendered.sources, *self.config_sources()}))
        output = OutputFile(
            path,
            text.encode("utf-8"),
            self.target.name,
            rendered.agent.id,
            sources,
            verbatim=verbatim,
        )
        return [output], mapped.lossy

    def bundle_outputs(self, rendered: Sequence[RenderedAgent]) -> list[OutputFile]:
        """Files this format writes once per bundle (plugin manifests, indexes)."""
        return []

    def config_sources(self) -> tuple[str, ...]:
        """Configuration files every output of this target depends on: the bundle config
        (its `vars` and metadata reach every template) and the target's own file."""
        files = [self.bundle.source.relative_to(self.bundle.root).as_posix()]
        if self.target.source is not None:
            files.append(self.target.source.relative_to(self.bundle.root).as_posix())
        return tuple(files)

    def validate(self, output: OutputFile) -> list[Diagnostic]:
        """Problems in one output: the format's schema (schemas/<format>.json) and rules."""
        from promptbundle.formats.validate import validate_output

        return validate_output(self, output)


def compose_frontmatter_file(fields: Mapping[str, Any], body: str) -> str:
    """`---` YAML `---` then the body, which starts on the next line."""
    return "---\n" + dump_frontmatter(fields) + "---\n" + body


NAME_RULE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def frontmatter_of(output: OutputFile) -> dict[str, Any]:
    """The parsed frontmatter of an output file ({} when it has none or it is not a mapping).

    Frontmatter PyYAML rejects but the real clients load (an imported file written back
    verbatim, e.g. `description: Use when: ...`) is read tolerantly, as the clients do."""
    from promptbundle.importing.importer import read_metadata
    from promptbundle.sources.prompts import split_frontmatter

    text = output.content.decode("utf-8", errors="replace").removeprefix("\ufeff")
    frontmatter, _, _ = split_frontmatter(text)
    if frontmatter is None:
        return {}
    return read_metadata(frontmatter)[0]
