"""Validate compiled outputs: each format's JSON Schema (schemas/<format>.json) plus the
few rules a schema cannot express (a skill's folder name, body size budgets)."""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from promptbundle.core.errors import Location
from promptbundle.formats.schema import SchemaFailure, evaluate, load_schema

if TYPE_CHECKING:
    from promptbundle.formats.base import Diagnostic, Format, OutputFile

__all__ = [
    "AS_IMPORTED",
    "AS_IMPORTED_CODE",
    "BODY_BUDGET_OPTION",
    "body_budget",
    "parse_output",
    "validate_output",
]

# An error in an output written back verbatim from an imported file is the user's file as it
# was: reported as this warning (the rule's own code at the end of the message).
AS_IMPORTED_CODE = "PB124"
AS_IMPORTED = "as imported: "

BODY_BUDGET_OPTION = "max_body_chars"
# Formats whose client rejects YAML that PyYAML rejects (skills-ref reads with strictyaml).
STRICT_YAML_FORMATS = frozenset({"agent-skill"})
_TABLE_ROW = re.compile(r"^\|\s*(?P<key>[^|]*?)\s*\|\s*(?P<value>(?:[^|\\]|\\.)*?)\s*\|\s*$")


class _Unparsable(Exception):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def schema_name(fmt: Format, output: OutputFile) -> str:
    """The schema an output is checked against: the format's, or `<format>.<stem>` for the
    bundle-level JSON files a format writes (plugin.json, marketplace.json)."""
    if output.path.endswith(".json"):
        return f"{fmt.target.format}.{PurePosixPath(output.path).stem}"
    return fmt.target.format


def parse_output(fmt: Format, output: OutputFile) -> tuple[dict[str, Any], str, int]:
    """(fields, body, first line of the body) of an output; raises _Unparsable."""
    from promptbundle.core.yamlio import YamlError, load_yaml
    from promptbundle.sources.prompts import split_frontmatter

    text = output.content.decode("utf-8", errors="replace")
    if output.path.endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise _Unparsable(f"invalid JSON: {err.msg}", err.lineno) from err
        if not isinstance(data, dict):
            raise _Unparsable("must be a JSON object", 1)
        return data, "", 1
    if getattr(fmt, "layout", "frontmatter") == "table":
        fields: dict[str, Any] = {}
        lines = text.splitlines(keepends=True)
        count = 0
        for line in lines:
            match = _TABLE_ROW.match(line.rstrip("\r\n"))
            if match is None:
                break
            fields[match["key"]] = match["value"].replace("\\|", "|")
            count += 1
        return fields, "".join(lines[count:]), count + 1
    frontmatter, body, body_line = split_frontmatter(text)
    if frontmatter is None:
        raise _Unparsable("no YAML frontmatter ('---' block) at the start", 1)
    try:
        data = load_yaml(frontmatter)
    except YamlError as err:
        if fmt.target.format not in STRICT_YAML_FORMATS:
            # Verbatim imported frontmatter the real clients read although PyYAML does not.
            from promptbundle.importing.importer import read_metadata

            return read_metadata(frontmatter)[0], body, body_line
        mark = getattr(err, "problem_mark", None)
        raise _Unparsable(
            f"frontmatter is not valid YAML: {getattr(err, 'problem', None) or err}",
            mark.line + 2 if mark is not None else 2,
        ) from err
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _Unparsable("frontmatter must be a mapping", 2)
    return data, body, body_line


def body_budget(fmt: Format) -> int | None:
    """The most characters an agent body may have in this target (None: no limit)."""
    option = fmt.target.options.get(BODY_BUDGET_OPTION)
    if isinstance(option, int) and not isinstance(option, bool) and option > 0:
        return option
    schema = load_schema(fmt.target.format) or {}
    default = schema.get("x-body-max-chars", getattr(fmt, "body_limit", None))
    return int(default) if isinstance(default, int) else None


def _key_line(text: str, key: str, json_file: bool) -> int:
    pattern = (
        re.compile(rf'^\s*"{re.escape(key)}"\s*:')
        if json_file
        else re.compile(rf"^(?:\|\s*)?{re.escape(key)}\s*[:|]")
    )
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.match(line):
            return number
    return 1 if json_file else 2


def validate_output(fmt: Format, output: OutputFile) -> list[Diagnostic]:
    """Every problem of one output for its format, as diagnostics with stable codes.

    A verbatim imported output reproduces the user's file, so its errors are warnings."""
    found = _problems(fmt, output)
    if not output.verbatim:
        return found
    return [_as_imported(d) if d.severity == "error" else d for d in found]


def _as_imported(diag: Diagnostic) -> Diagnostic:
    from promptbundle.formats.base import Diagnostic

    message = f"{AS_IMPORTED}{diag.message} ({diag.code})"
    return Diagnostic("warning", AS_IMPORTED_CODE, message, diag.location)


def _problems(fmt: Format, output: OutputFile) -> list[Diagnostic]:
    from promptbundle.formats.base import Diagnostic

    where = f"{fmt.bundle.out}/{output.path}"
    text = output.content.decode("utf-8", errors="replace")
    json_file = output.path.endswith(".json")
    try:
        fields, body, _ = parse_output(fmt, output)
    except _Unparsable as err:
        return [Diagnostic("error", "PB100", err.message, Location(where, err.line, 1))]
    found: list[Diagnostic] = []
    schema = load_schema(schema_name(fmt, output))
    if schema is not None:
        for failure in evaluate(schema, fields):
            found.append(_diagnostic(failure, where, text, json_file))
    if output.agent is None:
        return found
    if fmt.target.format == "agent-skill":
        folder = PurePosixPath(output.path).parent.name
        if fields.get("name") != folder:
            found.append(
                Diagnostic(
                    "error",
                    "PB120",
                    f"skill name {fields.get('name')!r} must equal its folder name {folder!r}",
                    Location(where, _key_line(text, "name", False), 1),
                )
            )
    stem = PurePosixPath(output.path).stem
    if fmt.target.format == "opencode" and "name" in fields and fields["name"] != stem:
        found.append(
            Diagnostic(
                "warning",
                "PB123",
                f"opencode knows this agent as {fields['name']!r}, not by its file name "
                f"{stem!r} (leave 'name' out of the opencode block or make it equal)",
                Location(where, _key_line(text, "name", False), 1),
            )
        )
    option = fmt.target.options.get(BODY_BUDGET_OPTION)
    if option is not None and (
        not isinstance(option, int) or isinstance(option, bool) or option <= 0
    ):
        source = fmt.target.source or where
        found.append(
            Diagnostic(
                "error",
                "PB122",
                f"option '{BODY_BUDGET_OPTION}' must be a positive integer, got {option!r}",
                Location(source, 1, 1),
            )
        )
    budget = body_budget(fmt)
    if budget is not None and len(body) > budget:
        found.append(
            Diagnostic(
                "error",
                "PB121",
                f"body is {len(body)} characters; {fmt.target.name} allows at most {budget} "
                f"(option '{BODY_BUDGET_OPTION}')",
                Location(where, 1, 1),
            )
        )
    return found


def _diagnostic(failure: SchemaFailure, where: str, text: str, json_file: bool) -> Diagnostic:
    from promptbundle.formats.base import Diagnostic

    top = str(failure.path[0]) if failure.path else ""
    line = _key_line(text, top, json_file) if top else 1
    return Diagnostic(failure.severity, failure.code, failure.message, Location(where, line, 1))
