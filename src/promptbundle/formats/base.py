"""What every target format shares: field mapping, lossiness, writing, validating, reading.

A format is one class in one module: its paths, fields and layout, its JSON Schema
(`schemas/<name>.json`), how canonical fields map in, the checks a schema cannot express,
and how import recognises (`claims`) and reads (`layout`) its files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from promptbundle.core.diagnostics import Diagnostic, LossyField
from promptbundle.core.errors import Location
from promptbundle.core.frontmatter import key_line
from promptbundle.core.model import BundleConfig, OutputFile, TargetConfig
from promptbundle.core.roundtrip import restore_native
from promptbundle.formats.layouts import FRONTMATTER, JSON, Layout, Unparsable
from promptbundle.formats.schema import evaluate_named, load_schema
from promptbundle.render.environment import RenderedAgent

__all__ = [
    "AS_IMPORTED",
    "AS_IMPORTED_CODE",
    "BODY_BUDGET_OPTION",
    "CLAUDE_MODELS",
    "Format",
    "Mapped",
]

# An error in an output written back verbatim from an imported file is the user's file as it
# was: reported as this warning (the rule's own code at the end of the message).
AS_IMPORTED_CODE = "PB124"
AS_IMPORTED = "as imported: "
BODY_BUDGET_OPTION = "max_body_chars"

CLAUDE_MODELS = {"opus": "opus", "sonnet": "sonnet", "haiku": "haiku", "inherit": "inherit"}


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
    # How a file carries its fields: YAML frontmatter, a `| key | value |` table, JSON.
    layout: ClassVar[Layout] = FRONTMATTER
    # Whether the real client rejects YAML PyYAML rejects (skills-ref reads with strictyaml).
    strict_yaml: ClassVar[bool] = False
    # The most characters a body may have (None: no limit; a target option may set one).
    body_limit: ClassVar[int | None] = None
    # Whether a bundle that lists no targets builds this format.
    default_target: ClassVar[bool] = True
    # Import tries formats in this order (lower first) and takes the first that claims a file.
    detect_order: ClassVar[int] = 50

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
        """The text of an agent file, in the format's layout."""
        return self.layout.write(fields, body)

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

    # -- validating ----------------------------------------------------------------------
    def validate(self, output: OutputFile) -> list[Diagnostic]:
        """Every problem of one output: its schema, then the format's own checks.

        A verbatim imported output reproduces the user's file, so its errors are warnings."""
        found = self._problems(output)
        if not output.verbatim:
            return found
        return [_as_imported(d) if d.severity == "error" else d for d in found]

    def read(self, output: OutputFile) -> tuple[dict[str, Any], str, int]:
        """(fields, body, first line of the body) of an output; raises Unparsable."""
        layout = JSON if output.path.endswith(".json") else self.layout
        text = output.content.decode("utf-8", errors="replace")
        return layout.read(text, strict_yaml=self.strict_yaml)

    def schema_name(self, output: OutputFile) -> str:
        """The schema an output is checked against: the format's, or `<format>.<stem>` for
        the bundle-level JSON files a format writes (plugin.json, marketplace.json)."""
        if output.path.endswith(".json"):
            return f"{self.name}.{PurePosixPath(output.path).stem}"
        return self.name

    def body_budget(self) -> int | None:
        """The most characters an agent body may have in this target (None: no limit)."""
        option = self.target.options.get(BODY_BUDGET_OPTION)
        if isinstance(option, int) and not isinstance(option, bool) and option > 0:
            return option
        schema = load_schema(self.name) or {}
        default = schema.get("x-body-max-chars", self.body_limit)
        return int(default) if isinstance(default, int) else None

    def where(self, output: OutputFile) -> str:
        """The output's path as the user sees it (under the output folder)."""
        return f"{self.bundle.out}/{output.path}"

    def key_line(self, output: OutputFile, key: str) -> int:
        """The line of `key` in an output (1 for JSON, 2 for a header, when not found)."""
        json_file = output.path.endswith(".json")
        style = "json" if json_file else self.layout.key_style
        text = output.content.decode("utf-8", errors="replace")
        return key_line(text, key, style=style) or (1 if json_file else 2)

    def diagnostic(
        self, output: OutputFile, severity: str, code: str, message: str, key: str | None = None
    ) -> Diagnostic:
        """A problem in `output`, at the line of `key` when given."""
        line = self.key_line(output, key) if key else 1
        location = Location(self.where(output), line, 1)
        return Diagnostic(severity, code, message, location, output.path)  # type: ignore[arg-type]

    def checks(self, output: OutputFile, fields: Mapping[str, Any]) -> list[Diagnostic]:
        """Rules of this format a JSON Schema cannot express (for agent files)."""
        return []

    def _problems(self, output: OutputFile) -> list[Diagnostic]:
        try:
            fields, body, _ = self.read(output)
        except Unparsable as err:
            location = Location(self.where(output), err.line, 1)
            return [Diagnostic("error", "PB100", err.message, location, output.path)]
        found = [
            self.diagnostic(
                output,
                failure.severity,
                failure.code,
                failure.message,
                str(failure.path[0]) if failure.path else None,
            )
            for failure in evaluate_named(self.schema_name(output), fields)
        ]
        if output.agent is None:
            return found
        found += self.checks(output, fields)
        found += self._budget_problems(output, body)
        return found

    def _budget_problems(self, output: OutputFile, body: str) -> list[Diagnostic]:
        found = []
        option = self.target.options.get(BODY_BUDGET_OPTION)
        if option is not None and (
            not isinstance(option, int) or isinstance(option, bool) or option <= 0
        ):
            source = self.target.source or self.where(output)
            message = f"option '{BODY_BUDGET_OPTION}' must be a positive integer, got {option!r}"
            found.append(Diagnostic("error", "PB122", message, Location(source, 1, 1), output.path))
        budget = self.body_budget()
        if budget is not None and len(body) > budget:
            message = (
                f"body is {len(body)} characters; {self.target.name} allows at most {budget} "
                f"(option '{BODY_BUDGET_OPTION}')"
            )
            found.append(self.diagnostic(output, "error", "PB121", message))
        return found

    # -- importing -------------------------------------------------------------------------
    @classmethod
    def claims_name(cls, path: Path) -> bool:
        """Whether import takes `path` as a file of this format by its name alone."""
        return False

    @classmethod
    def claims(cls, path: Path, meta: Mapping[str, Any]) -> bool:
        """Whether import takes `path` (whose header has `meta`) as a file of this format."""
        return False


def _as_imported(diag: Diagnostic) -> Diagnostic:
    message = f"{AS_IMPORTED}{diag.message} ({diag.code})"
    return Diagnostic("warning", AS_IMPORTED_CODE, message, diag.location, diag.output)
