"""Each format's JSON Schema (`formats/schemas/<name>.json`), checked with maintained libraries.

Most outputs are valid, so a compiled `fastjsonschema` validator answers first (about 2 µs
for an agent's frontmatter); only an output it rejects is checked again with `jsonschema`,
whose errors are turned into failures with a stable diagnostic code and a readable message.
Annotations of our own: `x-code` (the code for any failure of this subschema), `x-codes` (a
code per keyword) and `x-message` (the message, after the field). `deprecated: true` makes a
value a warning (for example an unknown field a tool ignores).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import fastjsonschema

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

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
# The order failures of one value are reported in.
_KEYWORD_ORDER = {
    name: rank
    for rank, name in enumerate(
        (
            "deprecated",
            "type",
            "const",
            "enum",
            "minLength",
            "maxLength",
            "pattern",
            "minimum",
            "exclusiveMinimum",
            "maximum",
            "minItems",
            "required",
            "additionalProperties",
            "anyOf",
        )
    )
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


@cache
def _full_validator_class() -> Any:
    """jsonschema's 2020-12 validator with `deprecated` as a failing keyword.

    Imported on first use: most builds have no invalid output, and jsonschema adds about
    10 MB to every render process."""
    import jsonschema
    from jsonschema.exceptions import ValidationError

    def deprecated(
        validator: Any, value: Any, instance: Any, schema: Mapping[str, Any]
    ) -> Iterator[ValidationError]:
        if value is True:
            yield ValidationError("deprecated")

    return jsonschema.validators.extend(  # type: ignore[no-untyped-call]
        jsonschema.Draft202012Validator, {"deprecated": deprecated}
    )


def _strict(schema: Any) -> Any:
    """The schema with every deprecated subschema made to fail (for the fast first pass)."""
    if isinstance(schema, dict):
        if schema.get("deprecated") is True:
            return False
        return {k: _strict(v) for k, v in schema.items() if not k.startswith("x-")}
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


@cache
def _fast(name: str) -> Any:
    schema = load_schema(name)
    assert schema is not None
    return fastjsonschema.compile(_strict(schema))


def evaluate_named(name: str, value: Any) -> list[SchemaFailure]:
    """Every failure of `value` against the shipped schema `name` ([] when it has none)."""
    if load_schema(name) is None:
        return []
    try:
        _fast(name)(value)
    except fastjsonschema.JsonSchemaException:
        return evaluate(load_schema(name) or {}, value)
    return []


def evaluate(schema: dict[str, Any], value: Any) -> list[SchemaFailure]:
    """Every failure of `value` against `schema`, in a stable order."""
    return _failures(_full_validator_class()(schema), value)


def _failures(validator: Any, value: Any) -> list[SchemaFailure]:
    errors = list(validator.iter_errors(value))
    # A value of the wrong type gets that one failure (its other keywords do not apply).
    typed = {
        (tuple(e.absolute_path), tuple(e.absolute_schema_path)[:-1])
        for e in errors
        if e.validator == "type"
    }
    found: list[tuple[tuple[Any, ...], SchemaFailure]] = []
    seen_required: set[JsonPath] = set()
    for error in errors:
        where = (tuple(error.absolute_path), tuple(error.absolute_schema_path)[:-1])
        if error.validator != "type" and where in typed and error.validator != "deprecated":
            continue
        for failure in _translate(error, seen_required):
            found.append((_order(value, failure), failure))
    found.sort(key=lambda item: item[0])
    return [failure for _, failure in found]


def _order(value: Any, failure: SchemaFailure) -> tuple[Any, ...]:
    """Sort key: document order of the path, then the keyword's rank."""
    key: list[int] = []
    node = value
    for part in failure.path:
        if isinstance(node, dict):
            keys = list(node)
            key.append(keys.index(part) if part in node else -1)
            node = node.get(part) if part in node else None
        elif isinstance(node, list) and isinstance(part, int):
            key.append(part)
            node = node[part] if part < len(node) else None
        else:
            key.append(-1)
    return (tuple(key), _KEYWORD_ORDER.get(failure.keyword, 99))


def _translate(error: ValidationError, seen_required: set[JsonPath]) -> list[SchemaFailure]:
    path: JsonPath = tuple(error.absolute_path)
    keyword = str(error.validator)
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    instance: Any = error.instance
    value: Any = error.validator_value
    if keyword == "required":
        if path in seen_required:
            return []
        seen_required.add(path)
        missing = [key for key in value if key not in instance]
        return [
            _fail(schema, (*path, key), "required", f"{_where((*path, key))} is required")
            for key in missing
        ]
    if keyword == "additionalProperties":
        known = ", ".join(schema.get("properties", {}))
        extra = [key for key in instance if key not in schema.get("properties", {})]
        return [
            _fail(
                schema,
                (*path, str(key)),
                "additionalProperties",
                f"unknown field {_where((*path, str(key)))} (known: {known})",
            )
            for key in extra
        ]
    return [_fail(schema, path, keyword, _message(error, path, keyword, instance, value))]


def _type_message(where: str, instance: Any, value: Any) -> str:
    expected = " or ".join(value if isinstance(value, list) else [value])
    return f"{where} must be {_article(expected)}, got {_describe(instance)}"


def _enum_message(where: str, instance: Any, value: Any) -> str:
    allowed = ", ".join(str(v) for v in value)
    return f"{where} must be one of {allowed}; got {instance!r}"


# The message of a failed keyword: (where, the value, the keyword's argument) -> text.
_MESSAGES: dict[str, Callable[[str, Any, Any], str]] = {
    "deprecated": lambda where, instance, value: f"{where} is deprecated",
    "type": _type_message,
    "const": lambda where, instance, value: f"{where} must be {value!r}",
    "enum": _enum_message,
    "minLength": lambda where, instance, value: (
        f"{where} {'must not be empty' if value == 1 else 'is too short'}"
    ),
    "maxLength": lambda where, instance, value: (
        f"{where} is {len(instance)} characters, more than {value}"
    ),
    "pattern": lambda where, instance, value: f"{where} {instance!r} does not match {value}",
    "minimum": lambda where, instance, value: f"{where} must be >= {value}",
    "maximum": lambda where, instance, value: f"{where} must be <= {value}",
    "exclusiveMinimum": lambda where, instance, value: f"{where} must be > {value}",
    "minItems": lambda where, instance, value: f"{where} must not be empty",
}


def _message(
    error: ValidationError, path: JsonPath, keyword: str, instance: Any, value: Any
) -> str:
    where = _where(path)
    if keyword == "anyOf":
        return f"{where} has no valid form: " + "; or ".join(_branch_messages(error))
    message = _MESSAGES.get(keyword)
    return message(where, instance, value) if message else f"{where}: {error.message}"


def _branch_messages(error: ValidationError) -> list[str]:
    """The first failure of each branch of a failed anyOf, in branch order."""
    firsts: dict[int, str] = {}
    for sub in sorted(error.context or (), key=lambda e: tuple(map(str, e.schema_path))):
        branch = int(sub.schema_path[0]) if sub.schema_path else 0
        if branch in firsts:
            continue
        sub_schema = sub.schema if isinstance(sub.schema, Mapping) else {}
        sub_path: JsonPath = tuple(sub.absolute_path)
        keyword = str(sub.validator)
        message = _message(sub, sub_path, keyword, sub.instance, sub.validator_value)
        firsts[branch] = _fail(sub_schema, sub_path, keyword, message).message
    return [firsts[branch] for branch in sorted(firsts)]


def _fail(schema: Mapping[str, Any], path: JsonPath, keyword: str, message: str) -> SchemaFailure:
    codes = schema.get("x-codes", {})
    code = codes.get(keyword) or schema.get("x-code") or KEYWORD_CODES.get(keyword, "PB100")
    if "x-message" in schema and keyword not in ("required", "additionalProperties"):
        message = f"{_where(path)} {schema['x-message']}"
    severity = "warning" if keyword == "deprecated" else "error"
    return SchemaFailure(path, keyword, str(code), message, severity)


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


def _where(path: JsonPath) -> str:
    return f"'{SchemaFailure(path, '', '', '').dotted}'" if path else "the value"


def _article(expected: str) -> str:
    return ("an " if expected[:1] in "aeiou" else "a ") + expected
