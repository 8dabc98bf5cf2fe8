"""`docs/formats.md`, written from the format classes and their JSON Schemas: for every
built-in target the kinds it carries, where each goes in a project, the fields it writes,
the limits its schemas check and what it drops. `tools/formats_doc.py` writes the file; a
test fails when the committed file differs from `formats_markdown()`.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from promptbundle.core.model import PROJECT_FOLDER, BundleConfig, TargetConfig
from promptbundle.formats.base import Format
from promptbundle.formats.custom import CUSTOM, CustomFormat
from promptbundle.formats.registry import FORMATS
from promptbundle.formats.schema import load_schema

__all__ = ["FORMATS_DOC", "formats_markdown"]

FORMATS_DOC = "docs/formats.md"
KIND_ORDER = ("agent", "command", "skill", "rule")
_BUNDLE = BundleConfig(
    root=Path("."), source=Path("promptbundle.toml"), name="<bundle>", version="0.0.0"
)
_HEAD = """\
# Formats

<!-- Generated from src/promptbundle/formats/ (the format classes and their JSON Schemas) by
`python tools/formats_doc.py`; do not edit by hand: tests/formats/test_docs.py fails when
this file is out of step. -->

Every built-in target a bundle config can list: the kinds of prompt it carries, where each
goes in a project (`<id>` is the prompt's id, `<bundle>` the bundle's name), the fields it
writes in their order, the limits its schemas check (each failure's code is in
[checks.md](checks.md)) and what it drops. A dropped field is a `lossy:` line of the build.

| target | tool | kinds | default target | outputs checked by |
| --- | --- | --- | --- | --- |
"""


def formats_markdown() -> str:
    """The whole of docs/formats.md."""
    ordered = [FORMATS[name] for name in sorted(FORMATS)]
    rows = "".join(_summary_row(cls) for cls in (*ordered, CustomFormat))
    sections = "".join(_section(cls) for cls in ordered)
    return _HEAD + rows + sections + _custom_section()


def _custom_section() -> str:
    """Custom targets: what a target file with `format = "custom"` writes (see README.md)."""
    example = "See README.md (Custom targets) and this repository's `targets/continue.toml`."
    return f"\n## {CUSTOM}\n\n{_prose(CustomFormat)}\n\n{example}\n"


def _kinds(cls: type[Format]) -> list[str]:
    return [kind for kind in KIND_ORDER if kind in cls.kinds]


def _summary_row(cls: type[Format]) -> str:
    kinds = ", ".join(_kinds(cls)) or "those its target file names"
    if cls.convertible:
        kinds += f" ({', '.join(sorted(cls.convertible))} by `convert`)"
    default = "yes" if cls.default_target else "no"
    tool = cls.description.replace("|", "\\|")
    return f"| [`{cls.name}`](#{cls.name}) | {tool} | {kinds} | {default} | {cls.checked_by} |\n"


def _section(cls: type[Format]) -> str:
    fmt = cls(TargetConfig(name=cls.name, format=cls.name), _BUNDLE)
    out = [f"\n## {cls.name}\n\n{_prose(cls)}\n"]
    out.append("\n| kind | path in the project | fields | schema |\n| --- | --- | --- | --- |\n")
    out += [_kind_row(fmt, kind) for kind in _kinds(cls)]
    limits = [line for kind in _kinds(cls) for line in _limits(fmt, kind)]
    if limits:
        out.append("\nLimits:\n\n" + "".join(f"- {line}\n" for line in limits))
    out.append("\nDrops:\n\n" + "".join(f"- {line}\n" for line in _losses(fmt)))
    return "".join(out)


def _prose(cls: type[Format]) -> str:
    """The format module's docstring, as one paragraph per blank-line-separated block."""
    module = inspect.getmodule(cls)
    text = inspect.getdoc(module) or cls.description
    paragraphs = [" ".join(block.split()) for block in text.split("\n\n")]
    return "\n\n".join(paragraphs)


def project_path(fmt: Format, kind: str, prompt_id: str = "<id>") -> str:
    """Where a prompt of `kind` goes in a project the target is installed into."""
    rel = fmt.path_of(kind, prompt_id)
    if rel.startswith(PROJECT_FOLDER + "/"):
        return rel[len(PROJECT_FOLDER) + 1 :]
    prefix = (fmt.install_prefix or "").strip("/")
    return f"{prefix}/{rel}" if prefix else rel


def _kind_row(fmt: Format, kind: str) -> str:
    paths = [f"`{project_path(fmt, kind)}`"]
    if kind == "rule" and fmt.rule_ids is not None:
        paths = [f"`{project_path(fmt, kind, rule)}`" for rule in sorted(fmt.rule_ids)]
    fields = ", ".join(f"`{name}`" for name in fmt.fields_of(kind)) or "none (plain Markdown)"
    schema = fmt.schema_of(kind)
    return f"| {kind} | {'<br>'.join(paths)} | {fields} | `{schema}.json` |\n"


def _limits(fmt: Format, kind: str) -> list[str]:
    schema = load_schema(fmt.schema_of(kind)) or {}
    found = []
    if kind == "agent" and fmt.body_budget() is not None:
        found.append(f"agent body: at most {fmt.body_budget():,} characters (PB121)")
    required = schema.get("required", [])
    if required:
        names = ", ".join(f"`{name}`" for name in required)
        found.append(f"{kind}: {names} required")
    for name, rules in sorted(schema.get("properties", {}).items()):
        said = _property_limits(rules)
        if said:
            found.append(f"{kind} `{name}`: {'; '.join(said)}")
    return found


def _property_limits(rules: Mapping[str, Any]) -> list[str]:
    said = []
    if "maxLength" in rules:
        said.append(f"at most {rules['maxLength']:,} characters")
    if "pattern" in rules and rules["pattern"] != "\\S":
        said.append(f"matches `{rules['pattern']}`")
    if "enum" in rules:
        said.append("one of " + ", ".join(f"`{value}`" for value in rules["enum"]))
    for key, word in (("minimum", "at least"), ("maximum", "at most")):
        if key in rules:
            said.append(f"{word} {rules[key]}")
    return said


def _losses(fmt: Format) -> list[str]:
    """What the format leaves out: kinds, rules, fields, tools, resources, model tiers."""
    return [
        *_kind_losses(fmt),
        _field_loss(fmt),
        *_tool_losses(fmt),
        *_model_losses(fmt),
    ]


def _kind_losses(fmt: Format) -> list[str]:
    found = []
    missing = [kind for kind in KIND_ORDER if kind not in fmt.kinds]
    if missing:
        found.append(f"{', '.join(missing)}: not built (the tool does not read them)")
    if fmt.rule_ids is not None and "rule" in fmt.kinds:
        ids = ", ".join(f"`{rule}`" for rule in sorted(fmt.rule_ids))
        found.append(f"rules other than {ids}: not built")
    if not fmt.carries_resources:
        found.append("a skill's resource files: dropped (a skill is one file)")
    return found


def _field_loss(fmt: Format) -> str:
    dropped = [k for k in _kinds(type(fmt)) if not fmt.kind_keep_unknown.get(k, fmt.keep_unknown)]
    if not dropped:
        return "fields it does not list: kept (a schema warning names them)"
    return f"fields it does not list ({', '.join(dropped)}): dropped, as lossy"


def _tool_losses(fmt: Format) -> list[str]:
    if not fmt.native_tools:
        return []
    pairs = ", ".join(f"{tool} → `{native}`" for tool, native in fmt.native_tools.items())
    return [f"tools: mapped to its own ({pairs}); any other tool is dropped, as lossy"]


def _model_losses(fmt: Format) -> list[str]:
    dropped = sorted(tier for tier, model in fmt.default_models.items() if not model)
    if not dropped:
        return []
    return [f"model tiers without a model here ({', '.join(dropped)}): dropped"]
