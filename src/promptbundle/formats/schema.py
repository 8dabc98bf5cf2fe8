"""A small JSON Schema evaluator for the subset the format schemas use.

Supported keywords: type, properties, required, additionalProperties (bool or schema), enum,
const, pattern, minLength, minItems, maxLength, minimum, maximum, exclusiveMinimum, items,
anyOf, deprecated, and annotations of our own: `x-code` (the diagnostic code for a failure of
this subschema), `x-codes` (a code per keyword) and `x-message` (the message, after the
field). Each failure carries the JSON path of the value, the keyword that failed and the code
for it, so callers can turn it into a Diagnostic.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["KEYWORD_CODES", "SchemaFailure", "evaluate", "load_schema", "schema_names"]

JsonPath = tuple[str | int, ...]

# The default diagnostic code of each keyword (a subschema's `x-code` overrides it).
KEYWORD_CODES = {
    "type": "PB102",
    "required": "PB101",
    "additionalProperties": "PB103",
    "enum": "PB104",
    "const": "PB104",
    "pattern": "PB105",
    "minLength": "PB106",
    "minItems": "PB106",
    "maxLength": "PB107",
    "minimum": "PB108",
    "maximum": "PB108",
    "exclusiveMinimum": "PB108",
    "anyOf": "PB104",
    "deprecated": "PB109",
}

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "null": (type(None),),
}


@dataclass(frozen=True)
class SchemaFailure:
    """One place where a value does not satisfy the schema."""

    path: JsonPath
    keyword: str
    code: str
    message: str
    severity: str = "error"

    @property
    def dotted(self) -> str:
        """The path as `a.b[0]`, or `(top level)`."""
        text = ""
        for part in self.path:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
        return text or "(top level)"


def schema_names() -> list[str]:
    """Names of the schemas shipped with the package (file stems)."""
    folder = resources.files("promptbundle.formats") / "schemas"
    return sorted(p.name[: -len(".json")] for p in folder.iterdir() if p.name.endswith(".json"))


@cache
def load_schema(name: str) -> dict[str, Any] | None:
    """The shipped schema `schemas/<name>.json`, or None when there is none."""
    path = resources.files("promptbundle.formats") / "schemas" / f"{name}.json"
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _is_type(value: Any, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, _TYPES[name])


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "null" if value is None else type(value).__name__


def _fail(
    schema: dict[str, Any], path: JsonPath, keyword: str, message: str, severity: str = "error"
) -> SchemaFailure:
    codes = schema.get("x-codes", {})
    code = codes.get(keyword) or schema.get("x-code") or KEYWORD_CODES[keyword]
    if "x-message" in schema and keyword not in ("required", "additionalProperties"):
        message = f"{_where(path)} {schema['x-message']}"
    return SchemaFailure(path, keyword, str(code), message, severity)


def evaluate(schema: dict[str, Any], value: Any, path: JsonPath = ()) -> list[SchemaFailure]:
    """Every failure of `value` against `schema`, in a stable order."""
    where = _where(path)
    failures: list[SchemaFailure] = []
    if schema.get("deprecated"):
        failures.append(
            _fail(schema, path, "deprecated", f"{where} is deprecated", severity="warning")
        )
    wanted = schema.get("type")
    if wanted is not None:
        names = wanted if isinstance(wanted, list) else [wanted]
        if not any(_is_type(value, n) for n in names):
            expected = " or ".join(names)
            message = f"{where} must be {_article(expected)}, got {_describe(value)}"
            return [*failures, _fail(schema, path, "type", message)]
    if "const" in schema and value != schema["const"]:
        failures.append(_fail(schema, path, "const", f"{where} must be {schema['const']!r}"))
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(str(v) for v in schema["enum"])
        failures.append(
            _fail(schema, path, "enum", f"{where} must be one of {allowed}; got {value!r}")
        )
    if isinstance(value, str):
        failures.extend(_string(schema, value, path, where))
    if isinstance(value, int | float) and not isinstance(value, bool):
        failures.extend(_number(schema, value, path, where))
    if isinstance(value, list) and len(value) < schema.get("minItems", 0):
        failures.append(_fail(schema, path, "minItems", f"{where} must not be empty"))
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            failures.extend(evaluate(schema["items"], item, (*path, index)))
    if isinstance(value, dict):
        failures.extend(_object(schema, value, path))
    if "anyOf" in schema:
        branches = [evaluate(branch, value, path) for branch in schema["anyOf"]]
        if all(any(f.severity == "error" for f in b) for b in branches):
            message = f"{where} has no valid form: " + "; or ".join(
                b[0].message for b in branches if b
            )
            failures.append(_fail(schema, path, "anyOf", message))
    return failures


def _string(schema: dict[str, Any], value: str, path: JsonPath, where: str) -> list[SchemaFailure]:
    found = []
    if "minLength" in schema and len(value) < schema["minLength"]:
        what = "must not be empty" if schema["minLength"] == 1 else "is too short"
        found.append(_fail(schema, path, "minLength", f"{where} {what}"))
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        found.append(
            _fail(
                schema,
                path,
                "maxLength",
                f"{where} is {len(value)} characters, more than {schema['maxLength']}",
            )
        )
    if "pattern" in schema and not re.search(schema["pattern"], value):
        found.append(
            _fail(schema, path, "pattern", f"{where} {value!r} does not match {schema['pattern']}")
        )
    return found


def _number(
    schema: dict[str, Any], value: float, path: JsonPath, where: str
) -> list[SchemaFailure]:
    found = []
    if "minimum" in schema and value < schema["minimum"]:
        found.append(_fail(schema, path, "minimum", f"{where} must be >= {schema['minimum']}"))
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        found.append(
            _fail(
                schema, path, "exclusiveMinimum", f"{where} must be > {schema['exclusiveMinimum']}"
            )
        )
    if "maximum" in schema and value > schema["maximum"]:
        found.append(_fail(schema, path, "maximum", f"{where} must be <= {schema['maximum']}"))
    return found


def _object(schema: dict[str, Any], value: dict[Any, Any], path: JsonPath) -> list[SchemaFailure]:
    found = []
    properties: dict[str, Any] = schema.get("properties", {})
    for key in schema.get("required", []):
        if key not in value:
            message = f"{_where((*path, key))} is required"
            found.append(_fail(schema, (*path, key), "required", message))
    extra = schema.get("additionalProperties", True)
    for key in value:
        sub_path = (*path, str(key))
        if key in properties:
            found.extend(evaluate(properties[key], value[key], sub_path))
        elif extra is False:
            known = ", ".join(properties)
            found.append(
                _fail(
                    schema,
                    sub_path,
                    "additionalProperties",
                    f"unknown field {_where(sub_path)} (known: {known})",
                )
            )
        elif isinstance(extra, dict):
            found.extend(evaluate(extra, value[key], sub_path))
    return found


def _where(path: JsonPath) -> str:
    return f"'{SchemaFailure(path, '', '', '').dotted}'" if path else "the value"


def _article(expected: str) -> str:
    return ("an " if expected[:1] in "aeiou" else "a ") + expected
