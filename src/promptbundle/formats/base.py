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
from promptbundle.core.lines import key_line
from promptbundle.core.model import (
    PROJECT_FOLDER,
    BundleConfig,
    CarriedFile,
    OutputFile,
    Plugin,
    Prompt,
    TargetConfig,
)
from promptbundle.core.roundtrip import restore_native
from promptbundle.formats.layouts import FRONTMATTER, JSON, Layout, Unparsable
from promptbundle.formats.schema import evaluate_named, load_schema
from promptbundle.render.environment import RenderedPrompt

__all__ = [
    "AS_IMPORTED",
    "AS_IMPORTED_CODE",
    "BODY_BUDGET_OPTION",
    "CLAUDE_MODELS",
    "PROJECT_FOLDER",
    "STRUCTURED",
    "Format",
    "Mapped",
]

# An error in an output written back verbatim from an imported file is the user's file as it
# was: reported as this warning (the rule's own code at the end of the message).
AS_IMPORTED_CODE = "PB124"
AS_IMPORTED = "as imported: "
BODY_BUDGET_OPTION = "max_body_chars"
# The `import:` record key of a file whose body is one of its fields (TOML, JSON): it is
# written back from its fields rather than from a recorded header.
STRUCTURED = "structured"

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
    # The kinds of prompt the tool reads (a target may take others by conversion, `convert`).
    kinds: ClassVar[frozenset[str]] = frozenset({"agent"})
    # Kinds a target of this format may be told to convert into its own (see built_kind).
    convertible: ClassVar[frozenset[str]] = frozenset()
    # Agent fields in output order; canonical `name`/`description`/`model`/`tools` map onto
    # these (`kind_fields` gives the fields of the other kinds).
    fields: ClassVar[tuple[str, ...]] = ()
    kind_fields: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    # Whether per-target keys not in `fields` are kept (True) or dropped as lossy (False).
    keep_unknown: ClassVar[bool] = True
    # Per kind, where it differs from `keep_unknown`.
    kind_keep_unknown: ClassVar[Mapping[str, bool]] = {}
    default_models: ClassVar[Mapping[str, str]] = CLAUDE_MODELS
    # The field the canonical tool list maps onto (per kind where it differs).
    tools_field: ClassVar[str] = "tools"
    kind_tools_fields: ClassVar[Mapping[str, str]] = {}
    # Where a target's folder goes when installed into a project (None: not installable).
    install_prefix: ClassVar[str | None] = None
    # Where `install --user` puts the target's folder, relative to the home folder (None: the
    # tool has no user scope promptbundle installs into). Files at the project's root
    # (`@project/`, e.g. AGENTS.md) go inside it: that is where the tool reads user rules.
    user_install_prefix: ClassVar[str | None] = None
    # How a file carries its fields: YAML frontmatter, a `| key | value |` table, JSON.
    layout: ClassVar[Layout] = FRONTMATTER
    # Whether the real client rejects YAML PyYAML rejects (skills-ref reads with strictyaml).
    strict_yaml: ClassVar[bool] = False
    # The most characters a body may have (None: no limit; a target option may set one).
    body_limit: ClassVar[int | None] = None
    # Whether a bundle that lists no targets builds this format.
    default_target: ClassVar[bool] = True
    # The rules the tool reads when it reads only named rule files (opencode: `AGENTS`);
    # None: every rule. A rule imported from this format is written back all the same.
    rule_ids: ClassVar[frozenset[str] | None] = None
    # Canonical tool -> the tool's own name, for formats that take a list of their names.
    native_tools: ClassVar[Mapping[str, str]] = {}
    # Whether a skill's resource files go beside its SKILL.md (a single-file layout cannot).
    carries_resources: ClassVar[bool] = True
    # Whether the format writes plugins (and so builds the prompts of `plugins/<name>/`).
    writes_plugins: ClassVar[bool] = False
    # How its outputs are checked beyond the schemas and checks(): the real client, if any.
    checked_by: ClassVar[str] = "schemas and checks only"
    # Import tries formats in this order (lower first) and takes the first that claims a file.
    detect_order: ClassVar[int] = 50
    # Where the tool reads prompt files in a project, for importing a project folder:
    # (kind, folder, ending) in the order they are tried; `<folder>/<id><ending>` is the
    # prompt `<id>` of that kind (a skill's ending is `/SKILL.md`).
    project_files: ClassVar[tuple[tuple[str, str, str], ...]] = ()
    # Files in a project that hold several prompts (Roo Code's `.roomodes`), see read_parts.
    parts_files: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        target: TargetConfig,
        bundle: BundleConfig,
        *,
        plugins: Sequence[Plugin] = (),
        files: Sequence[CarriedFile] = (),
    ) -> None:
        self.target = target
        self.bundle = bundle
        # The bundle's plugins and carried files, for formats that write plugins.
        self.plugins = {plugin.name: plugin for plugin in plugins}
        self.files = tuple(files)

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

    def fields_of(self, kind: str) -> tuple[str, ...]:
        """The fields, in output order, of a file of `kind`."""
        return self.fields if kind == "agent" else self.kind_fields.get(kind, ())

    def canonical_values(self, rendered: RenderedPrompt, kind: str) -> dict[str, Any]:
        """The canonical fields as this format spells them, before the per-target block.

        An agent or a skill always has a name and a description; a command or a rule
        carries them only when its source sets them."""
        prompt = rendered.prompt
        values: dict[str, Any] = {}
        if kind in ("agent", "skill") or "name" in prompt.meta:
            values["name"] = prompt.id.rsplit("/", 1)[-1]
        if kind in ("agent", "skill") or prompt.description:
            values["description"] = prompt.description
        if prompt.model is not None:
            model = self.model_id(prompt.model)
            if model is not None:
                values["model"] = model
        if prompt.tools is not None:
            values[self.kind_tools_fields.get(kind, self.tools_field)] = self.map_tools(
                prompt.tools
            )
        return values

    def map_fields(self, rendered: RenderedPrompt) -> Mapped:
        """Canonical metadata plus the per-target block, in the format's field order."""
        prompt = rendered.prompt
        kind = self.built_kind(prompt)
        fields = self.fields_of(kind)
        out = Mapped()
        values = self.canonical_values(rendered, kind)
        block: dict[str, Any] = {}
        for key in (self.target.format, self.target.name):
            block.update(prompt.blocks.get(key, {}))
        for key, value in block.items():
            if value is None:
                values.pop(key, None)
            else:
                values[key] = value
        ordered = [k for k in fields if k in values] + [k for k in values if k not in fields]
        keep = self.kind_keep_unknown.get(kind, self.keep_unknown)
        for key in ordered:
            if key in fields or keep:
                out.fields[key] = values[key]
            else:
                out.lossy.append(self.lossy(prompt.label, key, f"{self.name} has no such field"))
        return out

    def lossy(self, label: str, field_name: str, reason: str) -> LossyField:
        return LossyField(label, self.target.name, field_name, reason)

    # -- kinds -----------------------------------------------------------------------------
    def carries(self, prompt: Prompt) -> bool:
        """Whether this target builds `prompt`: a kind its tool reads, or one the target
        converts (`convert = ["agent"]` in its target file). A plugin's prompts are built
        only by formats that write plugins."""
        if prompt.plugin and not self.writes_plugins:
            return False
        if prompt.kind == "rule" and self.rule_ids is not None:
            return prompt.id in self.rule_ids or prompt.imported.get("format") == self.name
        return prompt.kind in self.kinds or prompt.kind in self.target.convert

    def native_tool_list(self, tools: Sequence[str]) -> list[str]:
        """The tool's own names for `tools` (`native_tools`, a target's `[tools]` first), each
        once; a tool without one is left out (see unmapped_tools)."""
        mapped = [self.target.tools.get(t) or self.native_tools.get(t) for t in tools]
        return list(dict.fromkeys(t for t in mapped if t))

    def unmapped_tools(self, prompt: Prompt, tool: str) -> list[LossyField]:
        """A lossy line for each of the prompt's tools `native_tools` has no name for."""
        return [
            self.lossy(prompt.label, f"tools.{name}", f"no {tool} equivalent")
            for name in prompt.tools or ()
            if name not in self.native_tools and name not in self.target.tools
        ]

    def built_kind(self, prompt: Prompt) -> str:
        """The kind of file `prompt` becomes here (a converted prompt becomes the kind the
        format converts into: its only kind)."""
        if prompt.kind in self.kinds:
            return prompt.kind
        return min(self.kinds)

    # -- files ---------------------------------------------------------------------------
    def agent_path(self, agent_id: str) -> str:
        """Path of an agent's file inside this target's folder."""
        raise NotImplementedError

    def command_path(self, command_id: str) -> str:
        raise NotImplementedError

    def skill_path(self, skill_id: str) -> str:
        """Path of a skill's SKILL.md; its resources go beside it."""
        raise NotImplementedError

    def rule_path(self, rule_id: str) -> str:
        raise NotImplementedError

    def path_of(self, kind: str, prompt_id: str) -> str:
        """Where a prompt of `kind` goes inside this target's folder (`@project/...` for a
        file that goes at the project's root, outside the tool's folder)."""
        method = {
            "agent": self.agent_path,
            "command": self.command_path,
            "skill": self.skill_path,
            "rule": self.rule_path,
        }[kind]
        return method(prompt_id)

    def prompt_path(self, prompt: Prompt, kind: str) -> str:
        """Where `prompt`, built as `kind`, goes inside this target's folder."""
        return self.path_of(kind, prompt.id)

    def placed(self, recorded: str) -> str:
        """Where a file imported from `recorded` (a path in the imported project) goes inside
        this target's folder: under the install prefix, or at the project's root."""
        prefix = (self.install_prefix or "").strip("/")
        if not prefix:
            return recorded
        if recorded.startswith(prefix + "/"):
            return recorded[len(prefix) + 1 :]
        return f"{PROJECT_FOLDER}/{recorded}"

    def render_file(self, fields: Mapping[str, Any], body: str) -> str:
        """The text of an agent file, in the format's layout."""
        return self.layout.write(fields, body)

    def prompt_outputs(self, rendered: RenderedPrompt) -> tuple[list[OutputFile], list[LossyField]]:
        """Every file this format writes for one prompt (a skill's resources included).

        A prompt imported from this format is written back verbatim (see roundtrip.py), at
        the path it was imported from when the import recorded one."""
        prompt = rendered.prompt
        kind = self.built_kind(prompt)
        imported = prompt.imported
        verbatim = imported.get("format") == self.name
        recorded = imported.get("path") if verbatim else None
        if verbatim and not imported.get(STRUCTURED):
            mapped = Mapped()
            text = restore_native(imported, rendered.body)
        else:  # a TOML or JSON file imported is written again from its fields, as imported
            mapped = self.map_fields(rendered)
            text = self._text(kind, mapped, rendered.body)
        rel = self.placed(recorded) if isinstance(recorded, str) else self.prompt_path(prompt, kind)
        sources = tuple(sorted({*rendered.sources, *self.config_sources()}))
        output = OutputFile(
            f"{self.target.name}/{rel}",
            text.encode("utf-8"),
            self.target.name,
            prompt.label,
            sources,
            verbatim=verbatim,
            kind=kind,
            source=prompt.rel,
        )
        outputs = [output]
        if kind == "skill" and self.carries_resources:
            outputs += self._resources(prompt, output.path.rsplit("/", 1)[0])
        elif prompt.resources:
            reason = f"{self.name} writes a skill as one file"
            mapped.lossy.append(self.lossy(prompt.label, "resources", reason))
        return outputs, mapped.lossy

    def _text(self, kind: str, mapped: Mapped, body: str) -> str:
        """A file's text from its mapped fields: a command or rule without fields is plain
        Markdown."""
        if mapped.fields or kind not in ("command", "rule"):
            return self.render_file(mapped.fields, body)
        return body

    def _resources(self, prompt: Prompt, folder: str) -> list[OutputFile]:
        """A skill's other files, byte for byte, beside its SKILL.md."""
        base = prompt.path.parent
        rel_base = prompt.rel.rsplit("/", 1)[0]
        return [
            OutputFile(
                f"{folder}/{resource}",
                (base / resource).read_bytes(),
                self.target.name,
                prompt.label,
                (f"{rel_base}/{resource}",),
                verbatim=True,
                kind="skill",
                carried=True,
            )
            for resource in prompt.resources
        ]

    def bundle_outputs(self, rendered: Sequence[RenderedPrompt]) -> list[OutputFile]:
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
        if output.kind in ("command", "rule") and layout.header_length(text) is None:
            return {}, text, 1  # plain Markdown: commands and rules need no frontmatter
        return layout.read(text, strict_yaml=self.strict_yaml)

    def schema_name(self, output: OutputFile) -> str:
        """The schema an output is checked against: the format's for agents, `<format>.<kind>`
        for other kinds, `<format>.<stem>` for the bundle-level JSON files a format writes
        (plugin.json, marketplace.json)."""
        if output.path.endswith(".json"):
            return f"{self.name}.{PurePosixPath(output.path).stem}"
        return self.schema_of(output.kind or "agent")

    def schema_of(self, kind: str) -> str:
        """The schema of a file of `kind`: `<format>` for agents, `<format>.<kind>` else."""
        return self.name if kind == "agent" else f"{self.name}.{kind}"

    def body_budget(self) -> int | None:
        """The most characters an agent body may have in this target (None: no limit)."""
        option = self.target.options.get(BODY_BUDGET_OPTION)
        if isinstance(option, int) and not isinstance(option, bool) and option > 0:
            return option
        schema = load_schema(self.schema_of(min(self.kinds))) or {}
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
        """A problem in `output`, at the line of `key` when given.

        A rendered prompt's problem is reported where it can be fixed: at the line of the
        prompt's source that sets the field, naming the output second. A file written back
        verbatim, or a bundle-level file, is reported in the output itself."""
        if output.source is not None and not output.verbatim:
            location = Location(output.source, self._source_line(output.source, key), 1)
            message = f"{message} (in {self.where(output)})"
        else:
            line = self.key_line(output, key) if key else 1
            location = Location(self.where(output), line, 1)
        return Diagnostic(severity, code, message, location, output.path)  # type: ignore[arg-type]

    def _source_line(self, source: str, key: str | None) -> int:
        """The line of a prompt source that sets the output field `key`: the canonical key
        it maps from, a per-target block's entry, the block itself; else the first line."""
        if key is None:
            return 1
        try:
            text = (self.bundle.root / source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return 1
        frontmatter = text.split("\n---", 1)[0]
        canonical = "tools" if key in {self.tools_field, *self.kind_tools_fields.values()} else key
        return (
            key_line(frontmatter, canonical)
            or key_line(frontmatter, key, style="nested")
            or key_line(frontmatter, self.target.name)
            or key_line(frontmatter, self.name)
            or 1
        )

    def checks(self, output: OutputFile, fields: Mapping[str, Any]) -> list[Diagnostic]:
        """Rules of this format a JSON Schema cannot express (for agent files)."""
        return []

    def _problems(self, output: OutputFile) -> list[Diagnostic]:
        if output.carried:
            return []
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

    @classmethod
    def read_structured(cls, path: Path, text: str) -> tuple[dict[str, Any], str] | None:
        """(fields, body) of a file that holds its body in a field (a TOML or JSON agent or
        command), None for a file with a header before its body; raises Unparsable."""
        return None

    @classmethod
    def read_parts(cls, path: Path, text: str) -> list[tuple[str, dict[str, Any], str]] | None:
        """(id, fields, body) of each prompt of a file that holds several (`parts_files`);
        None for a file that holds one. Raises Unparsable."""
        return None

    @classmethod
    def project_file(cls, rel: str) -> tuple[str, str] | None:
        """(kind, id) of the prompt file at `rel` (a path in a project) when the tool reads
        it there (see project_files); None when it does not."""
        for kind, folder, ending in cls.project_files:
            head = folder + "/"
            if rel.startswith(head) and rel.endswith(ending) and len(rel) > len(head + ending):
                return kind, rel[len(head) : -len(ending)]
        return None

    @classmethod
    def kind_of_file(cls, path: Path) -> str | None:
        """The kind of prompt a file of this format at `path` holds (None: the format's
        only kind, or an agent)."""
        return None


def _as_imported(diag: Diagnostic) -> Diagnostic:
    message = f"{AS_IMPORTED}{diag.message} ({diag.code})"
    return Diagnostic("warning", AS_IMPORTED_CODE, message, diag.location, diag.output)
