"""Bundle configuration: `[tool.promptbundle]` in pyproject.toml or `promptbundle.toml`."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promptbundle.core.bounded import DepthError, load_toml
from promptbundle.core.errors import ConfigError, Location, PromptBundleError, raise_collected
from promptbundle.core.lines import key_line
from promptbundle.core.model import (
    ID_PATTERN,
    VERSION_PATTERN,
    BundleConfig,
    KnownFormats,
    TargetConfig,
)
from promptbundle.core.regular import decode_utf8, irregular_reason, read_regular
from promptbundle.core.suggest import did_you_mean

__all__ = ["find_root", "is_config_file", "key_line_in", "load_config", "read_toml"]

CONFIG_FILE = "promptbundle.toml"
PYPROJECT = "pyproject.toml"
_BUNDLE_KEYS = {"name", "version", "description", "author", "targets", "out", "vars", "tools"}
_TARGET_KEYS = {"format", "models", "tools", "options", "description", "convert", "accept"}
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
_SOURCE_DIRS = (
    "agents",
    "commands",
    "skills",
    "rules",
    "plugins",
    "files",
    "fragments",
    "targets",
    ".git",
)


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
            f"({', '.join(sorted(formats.names))}) "
            f"nor configured in targets/{name}.toml",
            location,
        )
    return TargetConfig(name=name, format=name)


def _format_problems(fmt: Any, path: Path, formats: KnownFormats) -> list[PromptBundleError]:
    """A target file's `format`: a built-in format, not an old name of one."""
    location = Location(path, key_line_in(path, "format"), 1)
    if isinstance(fmt, str) and fmt in RENAMED_FORMATS:
        return [ConfigError(_renamed(fmt), location)]
    if fmt not in formats.names:
        message = f"unknown format {fmt!r} (built-in: {', '.join(sorted(formats.names))})"
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
