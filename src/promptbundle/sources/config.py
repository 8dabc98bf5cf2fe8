"""Bundle configuration: `[tool.promptbundle]` in pyproject.toml or `promptbundle.toml`."""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promptbundle.core.bounded import DepthError, load_json, load_toml
from promptbundle.core.errors import ConfigError, Location, PromptBundleError, raise_collected
from promptbundle.core.lines import key_line
from promptbundle.core.model import (
    ID_PATTERN,
    KINDS,
    SOURCE_FOLDERS,
    VERSION_PATTERN,
    BundleConfig,
    CustomKind,
    KnownFormats,
    TargetConfig,
)
from promptbundle.core.regular import decode_utf8, irregular_reason, read_regular
from promptbundle.core.suggest import did_you_mean

__all__ = [
    "CANONICAL_FIELDS",
    "CUSTOM_FORMAT",
    "find_root",
    "is_config_file",
    "key_line_in",
    "load_config",
    "read_toml",
]

CONFIG_FILE = "promptbundle.toml"
PYPROJECT = "pyproject.toml"
_BUNDLE_KEYS = {"name", "version", "description", "author", "targets", "out", "vars", "tools"}
_TARGET_KEYS = {
    "format",
    "models",
    "tools",
    "options",
    "description",
    "convert",
    "accept",
    "kinds",
}
# A target file with this format writes its files through its own templates (`[kinds.<kind>]`).
CUSTOM_FORMAT = "custom"
_KIND_KEYS = {"template", "path", "fields", "schema"}
# The canonical fields a custom target's field map may name.
CANONICAL_FIELDS = ("name", "description", "model", "tools")
# Formats that became part of another, by their old name: a config naming one is an error.
RENAMED_FORMATS = {
    "copilot-agent": "copilot",
    "copilot-prompt": "copilot",
    "copilot-instructions": "copilot",
    "cursor-rule": "cursor",
}
# Folders of the output folder that are the build's own: no target may take their names.
RESERVED_TARGETS_HOLD = {
    "files": "holds the bundle's own files",
    "schemas": "holds the JSON Schemas of the sources",
}
RESERVED_TARGETS = frozenset(RESERVED_TARGETS_HOLD)
# Folders a build must never write into: it removes every file there that it does not produce.
_SOURCE_DIRS = (*SOURCE_FOLDERS, ".git")


def _has_bundle_table(pyproject: Path) -> bool:
    """Whether a pyproject.toml holds `[tool.promptbundle]`; one that is not UTF-8 or nests
    too deeply is a located error (a bundle's config may be in it)."""
    try:
        data = load_toml(_read_text(pyproject))
    except (OSError, tomllib.TOMLDecodeError):
        return False
    except DepthError as err:
        raise _depth_error(pyproject, err) from err
    return isinstance(data.get("tool", {}).get("promptbundle"), dict)


def is_config_file(path: Path) -> bool:
    """Whether `path` is a regular file; a folder, FIFO, device or dangling link in its place
    is refused before anything opens it (PB006). A link to a regular file is followed."""
    reason = irregular_reason(path)
    if reason is not None:
        raise ConfigError(
            f"{reason}, not a regular file (a configuration file must be one)",
            Location(path),
            code="PB006",
        )
    return path.is_file()


def find_root(start: Path) -> Path:
    """The nearest folder at or above `start` holding a bundle configuration."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if is_config_file(folder / CONFIG_FILE):
            return folder
        pyproject = folder / PYPROJECT
        if is_config_file(pyproject) and _has_bundle_table(pyproject):
            return folder
    raise ConfigError(
        f"no bundle found in {start} or its parents "
        f"(looked for {CONFIG_FILE} or [tool.promptbundle] in {PYPROJECT}); use --root"
    )


RESERVED_VARS = frozenset(
    {"agent", "command", "skill", "rule", "prompt", "target", "bundle", "fragment"}
)
VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def var_name_problems(variables: dict[Any, Any]) -> list[str]:
    """Why some variable names cannot be used from a template (empty when all can)."""
    problems = []
    for key in variables:
        if not isinstance(key, str) or not VAR_NAME.match(key):
            problems.append(
                f"variable name {key!r} is not a template identifier "
                "(letters, digits and underscores, not starting with a digit)"
            )
        elif key in RESERVED_VARS:
            problems.append(f"variable name {key!r} is reserved for the render context")
    return problems


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file's table; invalid TOML, bytes that are not UTF-8 and nesting deeper than
    MAX_DEPTH are errors at their line and column."""
    try:
        return load_toml(_read_text(path))
    except tomllib.TOMLDecodeError as err:
        line, col = _toml_position(str(err))
        raise ConfigError(f"invalid TOML: {err}", Location(path, line, col)) from err
    except DepthError as err:
        raise _depth_error(path, err) from err
    except OSError as err:
        raise ConfigError(
            f"cannot read: {err.strerror or err}", Location(path), code="PB006"
        ) from err


def _read_text(path: Path) -> str:
    """A configuration file's text (a regular file only); not UTF-8: a located error."""
    text, line, column = decode_utf8(read_regular(path))
    if text is None:
        raise ConfigError("not UTF-8: TOML must be UTF-8 text", Location(path, line, column))
    return text


def _depth_error(path: Path, err: DepthError) -> ConfigError:
    return ConfigError(err.problem, Location(path, err.line, err.column), code="PB005")


def _toml_position(message: str) -> tuple[int, int]:
    match = re.search(r"at line (\d+), column (\d+)", message)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def key_line_in(path: Path, key: str) -> int:
    """Best-effort line of `key = ...` in a TOML file, for error locations (0: unknown)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return 0
    return key_line(text, key, style="toml")


@dataclass
class _Problems:
    """Collects the configuration's problems, each located at the key it concerns."""

    source: Path
    errors: list[PromptBundleError] = field(default_factory=list)

    def add(self, message: str, key: str) -> None:
        """Record a problem at the line setting `key` in the configuration file."""
        self.errors.append(
            ConfigError(message, Location(self.source, key_line_in(self.source, key), 1))
        )


def _config_table(root: Path) -> tuple[Path, dict[str, Any]]:
    """The configuration file and its bundle table: promptbundle.toml, else pyproject.toml."""
    if is_config_file(root / CONFIG_FILE):
        source = root / CONFIG_FILE
        return source, read_toml(source)
    if is_config_file(root / PYPROJECT) and _has_bundle_table(root / PYPROJECT):
        source = root / PYPROJECT
        table: dict[str, Any] = read_toml(source)["tool"]["promptbundle"]
        return source, table
    raise ConfigError(f"{root} has no {CONFIG_FILE} and no [tool.promptbundle] in {PYPROJECT}")


def _check_keys(table: dict[str, Any], problems: _Problems) -> None:
    """Every key of the bundle table is a known one."""
    for key in sorted(set(table) - _BUNDLE_KEYS):
        hint = did_you_mean(key, _BUNDLE_KEYS)
        problems.add(f"unknown key {key!r}{hint} (known: {', '.join(sorted(_BUNDLE_KEYS))})", key)


def _bundle_name(table: dict[str, Any], problems: _Problems) -> str:
    """The required bundle id (`bundle` stands in when it is missing or invalid)."""
    name = table.get("name")
    if name is None:
        problems.add("'name' is required: the bundle's id, like 'my-bundle'", "name")
        return "bundle"
    if not isinstance(name, str) or not ID_PATTERN.match(name):
        problems.add(
            f"'name' must be an id like 'my-bundle' (lowercase, digits, hyphens), got {name!r}",
            "name",
        )
        return "bundle"
    return name


def _version(table: dict[str, Any], problems: _Problems) -> str:
    """The bundle's semantic version (0.0.0 when unset)."""
    version = str(table.get("version", "0.0.0"))
    if not VERSION_PATTERN.match(version):
        problems.add(f"'version' must be a semantic version like 1.2.3, got {version!r}", "version")
    return version


def _check_strings(table: dict[str, Any], problems: _Problems) -> None:
    """The keys holding text are strings."""
    for key in ("description", "author", "out"):
        if key in table and not isinstance(table[key], str):
            problems.add(f"'{key}' must be a string", key)


def _out_folder(table: dict[str, Any], problems: _Problems) -> str:
    """The output folder: inside the bundle, outside every source folder."""
    out = str(table.get("out", "dist"))
    parts = Path(out).parts
    if Path(out).is_absolute() or ".." in parts or out in ("", "."):
        problems.add(f"'out' must be a folder inside the bundle, got {out!r}", "out")
    elif parts and parts[0] in _SOURCE_DIRS:
        problems.add(
            f"'out' must not be inside a source folder ({', '.join(_SOURCE_DIRS)}): "
            f"a build removes the files it does not produce there, got {out!r}",
            "out",
        )
    return out


def _variables(table: dict[str, Any], problems: _Problems) -> dict[str, Any]:
    """The bundle's `vars` table, whose names templates can use."""
    variables = table.get("vars", {})
    if not isinstance(variables, dict):
        problems.add("'vars' must be a table", "vars")
        variables = {}
    for problem in var_name_problems(variables):
        problems.add(problem, "vars")
    return dict(variables)


def _target_names(table: dict[str, Any], formats: KnownFormats, problems: _Problems) -> list[str]:
    """The names in `targets` (every default format when unset), each listed once."""
    target_names = table.get("targets", sorted(formats.defaults))
    if not isinstance(target_names, list) or not all(isinstance(t, str) for t in target_names):
        problems.add("'targets' must be a list of target names", "targets")
        target_names = []
    if len(set(target_names)) != len(target_names):
        problems.add("'targets' lists a target twice", "targets")
    return target_names


def _load_targets(
    root: Path, target_names: list[str], formats: KnownFormats, problems: _Problems
) -> list[TargetConfig]:
    """Load every named target whose name is a valid id; collects their problems."""
    targets: list[TargetConfig] = []
    for target_name in target_names:
        if target_name in RESERVED_TARGETS:
            problems.add(
                f"target name {target_name!r} is reserved (the output folder's {target_name}/ "
                + RESERVED_TARGETS_HOLD[target_name]
                + ")",
                "targets",
            )
            continue
        if not ID_PATTERN.match(target_name):
            problems.add(
                f"target name {target_name!r} must be an id (lowercase letters, digits, "
                "hyphens): it names the output folder and targets/<name>.toml",
                "targets",
            )
            continue
        try:
            targets.append(_load_target(root, target_name, problems.source, formats))
        except PromptBundleError as error:
            problems.errors.append(error)
    return targets


def load_config(root: Path, *, formats: KnownFormats) -> BundleConfig:
    """Read and validate the bundle configuration and every target it names."""

    root = root.resolve()
    source, table = _config_table(root)
    problems = _Problems(source)
    # Checked in this order, so that the problems are reported in this order.
    _check_keys(table, problems)
    name = _bundle_name(table, problems)
    version = _version(table, problems)
    _check_strings(table, problems)
    out = _out_folder(table, problems)
    variables = _variables(table, problems)
    tools = _tool_names(table, problems)
    target_names = _target_names(table, formats, problems)
    targets = _load_targets(root, target_names, formats, problems)
    raise_collected(problems.errors)
    return BundleConfig(
        root=root,
        source=source,
        name=name,
        version=version,
        description=str(table.get("description", "")),
        author=str(table.get("author", "")),
        out=out,
        vars=variables,
        targets=tuple(targets),
        tools=tools,
    )


def _tool_names(table: dict[str, Any], problems: _Problems) -> tuple[str, ...]:
    """`tools`: tool names beyond the canonical ones that this bundle's prompts may list."""
    tools = table.get("tools", [])
    if not isinstance(tools, list) or not all(isinstance(t, str) and t for t in tools):
        problems.add("'tools' must be a list of tool names", "tools")
        return ()
    return tuple(tools)


def _renamed(old: str) -> str:
    new = RENAMED_FORMATS[old]
    return f"{old!r} is now part of {new!r}: use {new!r}, which writes every kind the tool reads"


def _built_in_target(name: str, config_source: Path, formats: KnownFormats) -> TargetConfig:
    """A target without a file of its own: a built-in format by its name."""
    location = Location(config_source, key_line_in(config_source, "targets"), 1)
    if name in RENAMED_FORMATS:
        raise ConfigError(_renamed(name), location)
    if name not in formats.names:
        raise ConfigError(
            f"target {name!r}{did_you_mean(name, formats.names)} is neither a built-in format "
            f"({', '.join(sorted(formats.names - {CUSTOM_FORMAT}))}) "
            f"nor configured in targets/{name}.toml",
            location,
        )
    if name == CUSTOM_FORMAT:
        raise ConfigError(
            f"target {name!r} needs its target file targets/{name}.toml: a custom target "
            "names a template and an output path for each kind it carries",
            location,
        )
    return TargetConfig(name=name, format=name)


def _format_problems(fmt: Any, path: Path, formats: KnownFormats) -> list[PromptBundleError]:
    """A target file's `format`: a built-in format, not an old name of one."""
    location = Location(path, key_line_in(path, "format"), 1)
    if isinstance(fmt, str) and fmt in RENAMED_FORMATS:
        return [ConfigError(_renamed(fmt), location)]
    if fmt not in formats.names:
        built_in = ", ".join(sorted(formats.names - {CUSTOM_FORMAT}))
        message = (
            f"unknown format {fmt!r} (built-in: {built_in}; or {CUSTOM_FORMAT!r}, "
            "a target written by its own templates)"
        )
        return [ConfigError(message, location)]
    return []


def _load_target(root: Path, name: str, config_source: Path, formats: KnownFormats) -> TargetConfig:
    path = root / "targets" / f"{name}.toml"
    if not is_config_file(path):
        return _built_in_target(name, config_source, formats)
    table = read_toml(path)
    errors: list[PromptBundleError] = []
    for key in sorted(set(table) - _TARGET_KEYS):
        errors.append(
            ConfigError(
                f"unknown key {key!r}{did_you_mean(key, _TARGET_KEYS)}"
                f" (known: {', '.join(sorted(_TARGET_KEYS))})",
                Location(path, key_line_in(path, key), 1),
            )
        )
    fmt = table.get("format", name)
    errors += _format_problems(fmt, path, formats)
    for key in ("models", "tools", "options"):
        value = table.get(key, {})
        if not isinstance(value, dict) or (
            key != "options" and not all(isinstance(v, str) for v in value.values())
        ):
            errors.append(
                ConfigError(
                    f"'{key}' must be a table" + (" of strings" if key != "options" else ""),
                    Location(path, key_line_in(path, key), 1),
                )
            )
    convert = table.get("convert", [])
    allowed = formats.convertible.get(str(fmt), frozenset())
    if not isinstance(convert, list) or not all(k in allowed for k in convert):
        errors.append(
            ConfigError(
                f"'convert' must list kinds {fmt} can convert into its own "
                f"({', '.join(sorted(allowed)) or 'none'}), got {convert!r}",
                Location(path, key_line_in(path, "convert"), 1),
            )
        )
        convert = []
    accept = _accepted_losses(table, path, errors)
    kinds = _target_kinds(root, name, str(fmt), table, errors)
    raise_collected(errors)
    return TargetConfig(
        name=name,
        format=str(fmt),
        models=dict(table.get("models", {})),
        tools=dict(table.get("tools", {})),
        options=dict(table.get("options", {})),
        source=path,
        convert=tuple(convert),
        accept=accept,
        kinds=kinds,
    )


def _accepted_losses(
    table: dict[str, Any], path: Path, errors: list[PromptBundleError]
) -> tuple[str, ...]:
    """`accept`: the fields this target may drop without failing `--strict` (`model`,
    `tools`, or `*` for every field)."""
    accept = table.get("accept", [])
    if not isinstance(accept, list) or not all(isinstance(f, str) and f for f in accept):
        errors.append(
            ConfigError(
                f"'accept' must be a list of field names this target may drop, got {accept!r}",
                Location(path, key_line_in(path, "accept"), 1),
            )
        )
        return ()
    return tuple(accept)


# -- custom targets ---------------------------------------------------------------------------


def kind_key_line(path: Path, kind: str, key: str | None = None) -> int:
    """The line of `key` inside `[kinds.<kind>]` of a target file (the table's own line when
    `key` is None or not found there; the line of `kinds` when the table is not found)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return 0
    header = re.compile(rf"^\s*\[\s*kinds\s*\.\s*(\"{re.escape(kind)}\"|{re.escape(kind)})\s*\]")
    start = next((i for i, line in enumerate(lines) if header.match(line)), None)
    if start is None:
        return _kinds_line(path)
    if key is not None:
        setting = re.compile(rf"^\s*(\"{re.escape(key)}\"|{re.escape(key)})\s*=")
        for offset, line in enumerate(lines[start + 1 :], start + 2):
            if line.lstrip().startswith("["):
                break
            if setting.match(line):
                return offset
    return start + 1


_KINDS_LINE = re.compile(r"^\s*(\[\s*kinds\s*[.\]]|kinds\s*=)")


def _kinds_line(path: Path) -> int:
    """The first line of a target file that sets `kinds` or opens a `[kinds.<kind>]` table."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return 0
    return next((i for i, line in enumerate(lines, 1) if _KINDS_LINE.match(line)), 0)


def _kind_error(path: Path, kind: str, key: str | None, message: str) -> ConfigError:
    return ConfigError(message, Location(path, kind_key_line(path, kind, key), 1))


def _target_kinds(
    root: Path, name: str, fmt: str, table: dict[str, Any], errors: list[PromptBundleError]
) -> dict[str, CustomKind]:
    """A custom target's `[kinds.<kind>]` tables; `kinds` in any other target is an error."""
    path = root / "targets" / f"{name}.toml"
    kinds = table.get("kinds")
    if fmt != CUSTOM_FORMAT:
        if kinds is not None:
            message = f"'kinds' belongs to custom targets: set format = {CUSTOM_FORMAT!r}"
            errors.append(ConfigError(message, Location(path, _kinds_line(path), 1)))
        return {}
    if not isinstance(kinds, dict) or not kinds:
        message = (
            "a custom target needs a [kinds.<kind>] table for each kind it carries "
            f"({', '.join(KINDS)}), with a template and an output path"
        )
        errors.append(ConfigError(message, Location(path, _kinds_line(path), 1)))
        return {}
    found: dict[str, CustomKind] = {}
    for kind, spec in kinds.items():
        if kind not in KINDS:
            message = (
                f"unknown kind {kind!r}{did_you_mean(kind, KINDS)} (kinds: {', '.join(KINDS)})"
            )
            errors.append(_kind_error(path, kind, None, message))
        elif not isinstance(spec, dict):
            errors.append(_kind_error(path, kind, None, f"'kinds.{kind}' must be a table"))
        else:
            custom = _custom_kind(path, kind, spec, errors)
            if custom is not None:
                found[kind] = custom
    return found


def _custom_kind(
    path: Path, kind: str, spec: dict[str, Any], errors: list[PromptBundleError]
) -> CustomKind | None:
    """One `[kinds.<kind>]` table: template, output path pattern, field map, schema."""
    before = len(errors)
    for key in sorted(set(spec) - _KIND_KEYS):
        hint = did_you_mean(key, _KIND_KEYS)
        message = f"unknown key {key!r}{hint} (known: {', '.join(sorted(_KIND_KEYS))})"
        errors.append(_kind_error(path, kind, key, message))
    pattern = spec.get("path")
    if not isinstance(pattern, str) or not pattern.strip():
        message = (
            "'path' is required: the output path pattern, like "
            "'prompts/{{ prompt.id }}.md' (inside the target's output folder)"
        )
        errors.append(_kind_error(path, kind, "path", message))
    template = _kind_file(path, kind, "template", spec.get("template", f"{kind}.j2"), errors)
    template_text = _kind_text(path, kind, "template", template, errors)
    fields = _field_map(path, kind, spec.get("fields", {}), errors)
    schema_file = None
    if "schema" in spec:
        schema_file = _kind_file(path, kind, "schema", spec["schema"], errors)
    schema = _kind_schema(path, kind, schema_file, errors)
    if len(errors) > before or template is None or template_text is None:
        return None
    return CustomKind(
        template=template,
        template_text=template_text,
        path=str(pattern),
        fields=fields,
        schema=schema,
        schema_file=schema_file,
    )


def _kind_file(
    path: Path, kind: str, key: str, value: Any, errors: list[PromptBundleError]
) -> Path | None:
    """A file a custom target names: relative to `targets/<name>/`, inside `targets/`."""
    folder = path.parent / path.stem
    targets = path.parent
    if not isinstance(value, str) or not value or Path(value).is_absolute():
        message = f"'{key}' must be a path relative to targets/{path.stem}/, got {value!r}"
        errors.append(_kind_error(path, kind, key, message))
        return None
    file = Path(os.path.normpath(folder / value))
    # A link may not lead out of `targets/` either (the no-op check watches only that folder).
    if not file.is_relative_to(targets) or not file.resolve().is_relative_to(targets.resolve()):
        message = f"'{key}' must name a file inside targets/, got {value!r}"
        errors.append(_kind_error(path, kind, key, message))
        return None
    try:
        exists = is_config_file(file)
    except PromptBundleError as err:
        errors.append(err)
        return None
    if not exists:
        rel = file.relative_to(targets.parent).as_posix()
        errors.append(_kind_error(path, kind, key, f"'{key}': {rel} does not exist"))
        return None
    return file


def _kind_text(
    path: Path, kind: str, key: str, file: Path | None, errors: list[PromptBundleError]
) -> str | None:
    """The UTF-8 text of a file a custom target names (None when it cannot be read)."""
    if file is None:
        return None
    try:
        return _read_text(file)
    except OSError as err:
        message = f"'{key}': cannot read {file.name}: {err.strerror or err}"
        errors.append(_kind_error(path, kind, key, message))
    except PromptBundleError as err:
        errors.append(err)
    return None


def _field_map(
    path: Path, kind: str, fields: Any, errors: list[PromptBundleError]
) -> tuple[tuple[str, str], ...]:
    """`fields`: canonical field -> output key, each output key once."""
    known = ", ".join(CANONICAL_FIELDS)
    if not isinstance(fields, dict) or not all(isinstance(v, str) and v for v in fields.values()):
        message = f"'fields' must be a table of canonical field = \"output key\" ({known})"
        errors.append(_kind_error(path, kind, "fields", message))
        return ()
    problems = [
        f"unknown canonical field {key!r}{did_you_mean(key, CANONICAL_FIELDS)} (fields: {known})"
        for key in fields
        if key not in CANONICAL_FIELDS
    ]
    if len(set(fields.values())) != len(fields):
        problems.append("'fields' maps two canonical fields onto one output key")
    errors += [_kind_error(path, kind, "fields", problem) for problem in problems]
    return tuple((str(k), str(v)) for k, v in fields.items())


def _kind_schema(
    path: Path, kind: str, file: Path | None, errors: list[PromptBundleError]
) -> dict[str, Any] | None:
    """The JSON Schema a custom target's outputs of `kind` are checked against, itself
    checked as a JSON Schema (2020-12)."""
    text = _kind_text(path, kind, "schema", file, errors)
    if file is None or text is None:
        return None
    try:
        schema = load_json(text)
    except DepthError as err:
        errors.append(_depth_error(file, err))
        return None
    except json.JSONDecodeError as err:
        errors.append(
            ConfigError(f"invalid JSON: {err.msg}", Location(file, err.lineno, err.colno))
        )
        return None
    if not isinstance(schema, dict):
        errors.append(ConfigError("a JSON Schema must be a JSON object", Location(file, 1, 1)))
        return None
    # Imported here: jsonschema costs about 50 ms, and a build with nothing to do reads the
    # config without ever checking a custom target's schema.
    import jsonschema

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as err:
        where = "/".join(str(part) for part in err.path) or "(top level)"
        message = f"not a valid JSON Schema at {where}: {err.message}"
        errors.append(ConfigError(message, Location(file, 1, 1)))
        return None
    return schema
