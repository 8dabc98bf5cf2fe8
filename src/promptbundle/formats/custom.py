"""Custom targets: a tool promptbundle has no format for, reached without Python.

A target file with `format = "custom"` names, for each kind it carries (`[kinds.<kind>]`),
a Jinja template that writes the whole file, an output path pattern, a field map (canonical
field -> the tool's key) and, optionally, a JSON Schema of the file's fields. The templates
run in the sandbox every prompt body runs in (render/limits.py applies) and see the same
context, plus the rendered `body`, the mapped `fields` and those fields as YAML
`frontmatter`; the filters `to_yaml` and `to_json` write any mapping. Outputs are read back
by their path's ending (`.json`: a JSON object, `.toml`: a TOML table, else the YAML
frontmatter, if any) and checked against the schema; a failure is a PB1xx diagnostic at the
prompt's source, as for the built-in formats. Import does not read a custom target's
outputs.
"""

from __future__ import annotations

import copy
import functools
import sys
from collections.abc import Mapping
from pathlib import PurePosixPath
from types import TracebackType
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError

from promptbundle.core.diagnostics import Diagnostic, LossyField
from promptbundle.core.errors import Location, RenderError, SourceError
from promptbundle.core.model import PROJECT_FOLDER, CustomKind, OutputFile, Prompt
from promptbundle.core.yamlio import dump_frontmatter
from promptbundle.formats.base import Format, Mapped
from promptbundle.formats.layouts import FRONTMATTER, JSON, TomlLayout, json_bytes
from promptbundle.formats.schema import evaluate
from promptbundle.render.environment import BundleEnvironment, RenderedPrompt
from promptbundle.render.limits import RenderLimitError
from promptbundle.sources.config import kind_key_line

__all__ = ["CUSTOM", "CustomFormat", "render_custom"]

CUSTOM = "custom"
# The file name Jinja gives a template compiled from a string (its frames in a traceback).
_STRING_TEMPLATE = "<template>"
# Reads a `.toml` output back for its schema (every key; no body key of its own).
_TOML = TomlLayout("")


@functools.cache
def _environment() -> BundleEnvironment:
    """The sandbox custom templates run in: the bundle's, without a loader (a custom template
    includes nothing), strict about undefined names, with `to_yaml` and `to_json` filters.
    A template's final line break is dropped, as Jinja does by default."""
    env = BundleEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
    env.filters["to_yaml"] = _to_yaml
    env.filters["to_json"] = _to_json
    return env


def _to_yaml(value: Any) -> str:
    """A mapping as block-style YAML (the writer of every format's frontmatter), ending with
    a line break; empty for an empty mapping."""
    if not isinstance(value, Mapping):
        raise TypeError(f"to_yaml needs a mapping, got {type(value).__name__}")
    return dump_frontmatter(value)


def _to_json(value: Any) -> str:
    """A value as stable JSON (two-space indent, UTF-8), without a final line break."""
    return json_bytes(value).decode("utf-8").rstrip("\n")


@functools.cache
def _compiled(text: str) -> jinja2.Template:
    return _environment().from_string(text)


def _template_line(tb: TracebackType | None) -> int:
    """The line of the custom template where a render failed (0: unknown)."""
    line = 0
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == _STRING_TEMPLATE:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def render_custom(text: str, context: dict[str, Any], where: Location, what: str) -> str:
    """`text` (a custom target's template or path pattern) rendered in the sandbox; an error
    is located at `where`'s file, at the template's failing line when known."""
    try:
        return str(_compiled(text).render(copy.deepcopy(context)))
    except jinja2.TemplateSyntaxError as err:
        location = Location(where.path, where.line + max(err.lineno, 1) - 1, 1)
        raise RenderError(f"template syntax error: {err.message}", location, code="PB002") from None
    except (RenderLimitError, MemoryError) as err:
        message = str(err) if isinstance(err, RenderLimitError) else "render limit: out of memory"
        raise _render_error(where, err, f"{message} ({what})", "PB004") from None
    except SecurityError as err:
        raise _render_error(where, err, f"unsafe template: {err} ({what})", None) from None
    except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as err:
        raise _render_error(where, err, f"{err} ({what})", None) from None
    except RecursionError as err:
        raise _render_error(where, err, f"nesting without end ({what})", None) from None


def _render_error(
    where: Location, err: BaseException, message: str, code: str | None
) -> RenderError:
    line = _template_line(err.__traceback__ or sys.exc_info()[2])
    location = Location(where.path, where.line + line - 1 if line else where.line, 1)
    return RenderError(message, location, code=code)


def _bad_path(rel: str) -> str | None:
    """Why a rendered output path cannot be used (None: it can)."""
    if not rel or rel != rel.strip():
        return "is empty or starts or ends with white space"
    if "\\" in rel or rel.startswith("/"):
        return "must be a relative path with '/' between folders"
    parts = rel.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "must not have empty, '.' or '..' parts"
    if any(ord(char) < 32 for char in rel):
        return "must not hold control characters"
    return None


class CustomFormat(Format):
    """A target of the bundle's own, written by the templates its target file names."""

    name = CUSTOM
    description = (
        "a tool without a built-in format: Jinja templates, path patterns, field maps and "
        'schemas named in the target file (`format = "custom"`, `[kinds.<kind>]`)'
    )
    kinds = frozenset()
    # The target's folder mirrors the project: each path pattern says where a file goes.
    install_prefix = ""
    default_target = False
    carries_resources = True
    detect_order = 99
    checked_by = "the target's own JSON Schemas"

    # -- kinds ---------------------------------------------------------------------------
    @property
    def specs(self) -> Mapping[str, CustomKind]:
        return self.target.kinds

    def carries(self, prompt: Prompt) -> bool:
        """The kinds the target file has a `[kinds.<kind>]` table for (no plugins' prompts)."""
        return not prompt.plugin and prompt.kind in self.specs

    def built_kind(self, prompt: Prompt) -> str:
        return prompt.kind

    def fields_of(self, kind: str) -> tuple[str, ...]:
        spec = self.specs.get(kind)
        return tuple(key for _, key in spec.fields) if spec is not None else ()

    # -- mapping -------------------------------------------------------------------------
    def map_tools(self, tools: Any) -> Any:
        """The tool list, each tool renamed by the target's `[tools]` table (empty: left out)."""
        return [t for t in (self.target.tools.get(tool, tool) for tool in tools) if t]

    def map_fields(self, rendered: RenderedPrompt) -> Mapped:
        """The canonical fields the field map names, under the tool's keys, then the prompt's
        block for this target (`<target name>:` in its frontmatter) as it is."""
        prompt = rendered.prompt
        kind = self.built_kind(prompt)
        values = self.canonical_values(rendered, kind)
        out = Mapped()
        for canonical, key in self.specs[kind].fields:
            if canonical in values:
                out.fields[key] = values.pop(canonical)
        for canonical in values:
            reason = f"the field map of {self.target.name} ({kind}) has no key for it"
            out.lossy.append(self.lossy(prompt.label, canonical, reason))
        for key, value in prompt.blocks.get(self.target.name, {}).items():
            if value is None:
                out.fields.pop(key, None)
            else:
                out.fields[key] = value
        return out

    # -- files ---------------------------------------------------------------------------
    def context(self, rendered: RenderedPrompt, fields: Mapping[str, Any]) -> dict[str, Any]:
        """What a custom template sees: the context of the prompt's body, plus `body`,
        `fields` and `frontmatter` (the fields as YAML between `---` lines; empty without
        fields)."""
        prompt = rendered.prompt
        yaml = dump_frontmatter(fields) if fields else ""
        return {
            **self.bundle.vars,
            **prompt.vars,
            "prompt": prompt.context(),
            prompt.kind: prompt.context(),
            "target": {
                "name": self.target.name,
                "format": self.target.format,
                "options": dict(self.target.options),
            },
            "bundle": {
                "name": self.bundle.name,
                "version": self.bundle.version,
                "description": self.bundle.description,
                "vars": dict(self.bundle.vars),
            },
            "body": rendered.body,
            "fields": dict(fields),
            "frontmatter": f"---\n{yaml}---\n" if yaml else "",
        }

    def _pattern_location(self, kind: str) -> Location:
        source = self.target.source
        assert source is not None
        return Location(source, kind_key_line(source, kind, "path"), 1)

    def output_path(self, kind: str, context: dict[str, Any], source: str) -> str:
        """The rendered path pattern of `kind`, checked to stay inside the target's folder."""
        where = self._pattern_location(kind)
        what = f"the output path of {source}"
        rel = render_custom(self.specs[kind].path, context, where, what)
        problem = _bad_path(rel)
        if problem is None and rel.split("/", 1)[0] == PROJECT_FOLDER and "/" not in rel:
            problem = f"names the folder {PROJECT_FOLDER}, not a file in it"
        if problem is not None:
            raise SourceError(f"output path {rel!r} {problem} ({what})", where)
        return rel

    def prompt_outputs(self, rendered: RenderedPrompt) -> tuple[list[OutputFile], list[LossyField]]:
        """The file the kind's template writes for one prompt (a skill's resources beside it)."""
        prompt = rendered.prompt
        kind = self.built_kind(prompt)
        spec = self.specs[kind]
        mapped = self.map_fields(rendered)
        context = self.context(rendered, mapped.fields)
        rel = self.output_path(kind, context, prompt.rel)
        what = f"while writing {prompt.rel} for target {self.target.name}"
        text = render_custom(spec.template_text, context, Location(spec.template, 1, 1), what)
        sources = {*rendered.sources, *self.config_sources(), self._rel(spec.template)}
        if spec.schema_file is not None:
            sources.add(self._rel(spec.schema_file))
        output = OutputFile(
            f"{self.target.name}/{rel}",
            text.encode("utf-8"),
            self.target.name,
            prompt.label,
            tuple(sorted(sources)),
            kind=kind,
            source=prompt.rel,
        )
        outputs = [output]
        if kind == "skill":
            outputs += self._resources(prompt, output.path.rsplit("/", 1)[0])
        elif prompt.resources:
            reason = f"{self.target.name} writes a {kind}, not a skill folder"
            mapped.lossy.append(self.lossy(prompt.label, "resources", reason))
        return outputs, mapped.lossy

    def _rel(self, path: Any) -> str:
        return PurePosixPath(path.relative_to(self.bundle.root)).as_posix()

    # -- validating ----------------------------------------------------------------------
    def read(self, output: OutputFile) -> tuple[dict[str, Any], str, int]:
        """The output's fields by its ending: a JSON object, a TOML table, else the YAML
        frontmatter when the file opens with one (no fields otherwise)."""
        text = output.content.decode("utf-8", errors="replace")
        if output.path.endswith(".json"):
            return JSON.read(text)
        if output.path.endswith(".toml"):
            return _TOML.read(text)
        if FRONTMATTER.header_length(text) is None:
            return {}, text, 1
        return FRONTMATTER.read(text, strict_yaml=True)

    def schema_name(self, output: OutputFile) -> str:
        return f"{CUSTOM}.{self.target.name}.{output.kind}"  # no shipped schema has this name

    def body_budget(self) -> int | None:
        option = self.target.options.get("max_body_chars")
        if isinstance(option, int) and not isinstance(option, bool) and option > 0:
            return option
        return None

    def checks(self, output: OutputFile, fields: Mapping[str, Any]) -> list[Diagnostic]:
        """The output's fields against the kind's JSON Schema, if the target names one."""
        spec = self.specs.get(output.kind or "")
        if spec is None or spec.schema is None:
            return []
        return [
            self.diagnostic(
                output,
                failure.severity,
                failure.code,
                failure.message,
                str(failure.path[0]) if failure.path else None,
            )
            for failure in evaluate(spec.schema, dict(fields))
        ]

    def _source_line(self, source: str, key: str | None) -> int:
        """The source line of an output key: the canonical field it maps from, if any."""
        if key is not None:
            for spec in self.specs.values():
                for canonical, mapped in spec.fields:
                    if mapped == key:
                        key = canonical
                        break
        return super()._source_line(source, key)
