"""Read one prompt source: frontmatter (canonical fields, per-target blocks) and Jinja body."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promptbundle.core.errors import Location, PromptBundleError, SourceError, raise_collected
from promptbundle.core.frontmatter import split_frontmatter
from promptbundle.core.lines import key_line
from promptbundle.core.model import ID_PATTERN, TIERS, KnownFormats, Prompt
from promptbundle.core.regular import decode_utf8, irregular_reason, read_regular
from promptbundle.core.suggest import did_you_mean
from promptbundle.core.yamlio import YamlError, YamlStructureError, dump_frontmatter, load_yaml
from promptbundle.sources.config import var_name_problems

__all__ = ["is_valid_id", "load_prompt", "read_source"]

CANONICAL_KEYS = (
    "name",
    "description",
    "model",
    "tools",
    "targets",
    "vars",
    "suppress",
    "import",
)
CHECK_CODE = re.compile(r"^PB[0-9]{3}$")
# Kinds whose frontmatter names the prompt and describes it (both required).
NAMED_KINDS = frozenset({"agent", "skill"})
OPTIONAL_FRONTMATTER = frozenset({"command", "rule"})
# A part of a command's or rule's id (commands/git/commit.md is `git/commit`): any file
# name that does not start with a dot and holds no control character or backslash.
PATH_SEGMENT = re.compile(r"^[^.\\\x00-\x1f][^\\\x00-\x1f]*$")


def read_source(path: Path) -> str:
    """Read a UTF-8 source exactly (no newline translation); a folder, FIFO, device or
    dangling link in its place is refused by its type before anything opens it (PB006)."""
    reason = irregular_reason(path)
    if reason is not None:
        raise SourceError(
            f"{reason}, not a regular file (a source must be one)", Location(path), code="PB006"
        )
    try:
        data = read_regular(path)
    except OSError as err:
        raise SourceError(
            f"cannot read: {err.strerror or err}", Location(path), code="PB006"
        ) from err
    text, line, column = decode_utf8(data)
    if text is None:
        raise SourceError("not UTF-8: a source must be UTF-8 text", Location(path, line, column))
    return text


def _yaml_location(path: Path, err: YamlError, offset: int) -> Location:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    if mark is None:
        return Location(path, offset, 1)
    return Location(path, mark.line + offset, mark.column + 1)


@dataclass
class _Problems:
    """Collects an agent file's problems, each located at the frontmatter key it concerns."""

    path: Path
    frontmatter: str
    errors: list[PromptBundleError] = field(default_factory=list)

    def add(self, message: str, key: str, code: str | None = None) -> None:
        """Record a problem at the line setting `key` (the frontmatter's first line if unset)."""
        line = key_line(self.frontmatter, key, first_line=2) or 2
        self.errors.append(SourceError(message, Location(self.path, line, 1), code=code))


def _parse_frontmatter(path: Path, kind: str) -> tuple[str, dict[Any, Any], str, int]:
    """Read a prompt file: (frontmatter text, its mapping, body, body's first line).

    Agents and skills need frontmatter (their name and description); commands and rules
    may be plain Markdown."""
    text = read_source(path)
    frontmatter, body, body_line = split_frontmatter(text)
    if frontmatter is None:
        if kind in OPTIONAL_FRONTMATTER:
            return "", {}, text, 1
        raise SourceError(
            f"{kind} has no YAML frontmatter (a '---' block first)", Location(path, 1, 1)
        )
    try:
        meta = load_yaml(frontmatter) or {}
    except YamlStructureError as err:
        location = _yaml_location(path, err, 2)
        raise SourceError(str(err.problem), location, code=err.code) from err
    except YamlError as err:
        issue = getattr(err, "problem", None) or str(err)
        raise SourceError(f"invalid YAML: {issue}", _yaml_location(path, err, 2)) from err
    if not isinstance(meta, dict):
        raise SourceError("frontmatter must be a mapping of keys to values", Location(path, 2, 1))
    return frontmatter, meta, body, body_line


def _check_keys(
    meta: dict[Any, Any], block_names: set[str], known_targets: set[str], problems: _Problems
) -> None:
    """Every key is canonical or names a per-target block."""
    for key in meta:
        if key not in CANONICAL_KEYS and key not in block_names:
            hint = did_you_mean(str(key), [*CANONICAL_KEYS, *known_targets])
            problems.add(
                f"unknown key {key!r}{hint}: canonical keys are {', '.join(CANONICAL_KEYS[:6])}; "
                f"per-target blocks are keyed by target ({', '.join(sorted(known_targets))})",
                str(key),
            )


def is_valid_id(kind: str, prompt_id: str) -> bool:
    """Whether `prompt_id` can be the id of a prompt of `kind`: each `/`-separated part a
    lowercase-hyphen name (agents, skills) or a file name (commands, rules), at most 64."""
    pattern = ID_PATTERN if kind in NAMED_KINDS else PATH_SEGMENT
    return all(pattern.match(part) and len(part) <= 64 for part in prompt_id.split("/"))


def _prompt_id(
    meta: dict[Any, Any], kind: str, prompt_id: str, path: Path, problems: _Problems
) -> str:
    """The prompt's id (its path under the kind's folder); an agent's or a skill's `name`,
    when set, must be the last part of it."""
    if not is_valid_id(kind, prompt_id):
        rule = (
            "lowercase letters, digits and hyphens (at most 64)"
            if kind in NAMED_KINDS
            else "a file name of at most 64 characters that does not start with '.'"
        )
        problems.add(f"{kind} id {prompt_id!r}: each part must be {rule}", "name")
    if kind not in NAMED_KINDS:
        return prompt_id
    name = meta.get("name")
    last = prompt_id.rsplit("/", 1)[-1]
    if name is None:
        return prompt_id
    if not isinstance(name, str) or not ID_PATTERN.match(name) or len(name) > 64:
        problems.add(
            f"'name' must be an id of lowercase letters, digits and hyphens (at most 64), "
            f"got {name!r}",
            "name",
        )
    elif name != last:
        where = (
            f"the folder name {path.parent.name!r}"
            if kind == "skill"
            else (f"the file name {path.name!r}")
        )
        problems.add(f"'name' {name!r} does not match {where}", "name")
    return prompt_id


def _description(meta: dict[Any, Any], kind: str, problems: _Problems) -> str:
    """The `description`: required and non-empty for agents and skills, optional else."""
    description = meta.get("description")
    if description is None and kind not in NAMED_KINDS:
        return ""
    if not isinstance(description, str) or not description.strip():
        problems.add("'description' is required and must be a non-empty string", "description")
        return ""
    return description


def _model(meta: dict[Any, Any], problems: _Problems) -> str | None:
    """The optional `model`: a tier or a model id."""
    model = meta.get("model")
    if model is not None and (not isinstance(model, str) or not model.strip()):
        problems.add(f"'model' must be a tier ({', '.join(TIERS)}) or a model id", "model")
        return None
    return model


def _tools(meta: dict[Any, Any], problems: _Problems) -> tuple[str, ...] | None:
    """The optional `tools`: a list of names, or one comma-separated string."""
    tools = meta.get("tools")
    if isinstance(tools, str):
        tools = [t.strip() for t in tools.split(",") if t.strip()]
    if tools is None:
        return None
    if not isinstance(tools, list) or not all(isinstance(t, str) and t for t in tools):
        problems.add("'tools' must be a list of tool names", "tools")
        return None
    return tuple(tools)


def _targets(
    meta: dict[Any, Any], known_targets: set[str], problems: _Problems
) -> tuple[str, ...] | None:
    """The optional `targets`: names of targets of this bundle."""
    targets = meta.get("targets")
    if targets is None:
        return None
    if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
        problems.add("'targets' must be a list of target names", "targets")
        return None
    for target in targets:
        if target not in known_targets:
            problems.add(
                f"target {target!r} is not a target of this bundle "
                f"({', '.join(sorted(known_targets))})",
                "targets",
                "PB205",
            )
    return tuple(targets)


def _variables(meta: dict[Any, Any], problems: _Problems) -> dict[str, Any]:
    """The optional `vars` mapping, whose names templates can use."""
    variables = meta.get("vars", {})
    if not isinstance(variables, Mapping):
        problems.add("'vars' must be a mapping", "vars")
        variables = {}
    for message in var_name_problems(dict(variables)):
        problems.add(message, "vars")
    return dict(variables)


def _blocks(
    meta: dict[Any, Any], block_names: set[str], problems: _Problems
) -> dict[str, dict[str, Any]]:
    """The per-target blocks: mappings that can be written back as frontmatter."""
    blocks: dict[str, dict[str, Any]] = {}
    for key in sorted(block_names & set(meta)):
        block = meta[key]
        if not isinstance(block, Mapping):
            problems.add(f"per-target block {key!r} must be a mapping of frontmatter keys", key)
            continue
        try:
            dump_frontmatter(block)
        except (TypeError, ValueError) as err:
            problems.add(f"per-target block {key!r}: {err} (quote a value meant as text)", key)
            continue
        blocks[key] = dict(block)
    return blocks


def _suppress(meta: dict[Any, Any], problems: _Problems) -> frozenset[str]:
    """The optional `suppress`: check codes like PB112."""
    suppress = meta.get("suppress", [])
    if not isinstance(suppress, list) or not all(
        isinstance(c, str) and CHECK_CODE.match(c) for c in suppress
    ):
        problems.add("'suppress' must be a list of check codes like PB112", "suppress")
        return frozenset()
    return frozenset(suppress)


def _imported(meta: dict[Any, Any], problems: _Problems) -> dict[str, Any]:
    """The optional `import` record, kept as is."""
    imported = meta.get("import", {})
    if not isinstance(imported, Mapping):
        problems.add("'import' must be a mapping", "import")
        return {}
    return dict(imported)


def load_prompt(
    path: Path,
    rel: str,
    known_targets: set[str],
    formats: KnownFormats,
    *,
    kind: str = "agent",
    prompt_id: str | None = None,
    plugin: str = "",
    resources: tuple[str, ...] = (),
) -> Prompt:
    """Parse one prompt file; raises every problem in it at once.

    Per-target blocks are keyed by a target of the bundle or by a built-in format."""
    frontmatter, meta, body, body_line = _parse_frontmatter(path, kind)
    problems = _Problems(path, frontmatter)
    block_names = known_targets | formats.names
    _check_keys(meta, block_names, known_targets, problems)
    # Checked in this order, so that the problems are reported in this order.
    prompt_id = _prompt_id(meta, kind, prompt_id or path.stem, path, problems)
    description = _description(meta, kind, problems)
    model = _model(meta, problems)
    tools = _tools(meta, problems)
    targets = _targets(meta, known_targets, problems)
    variables = _variables(meta, problems)
    blocks = _blocks(meta, block_names, problems)
    suppress = _suppress(meta, problems)
    imported = _imported(meta, problems)
    raise_collected(problems.errors)
    return Prompt(
        id=prompt_id,
        path=path,
        rel=rel,
        description=description,
        body=body,
        body_line=body_line,
        model=model,
        tools=tools,
        targets=targets,
        vars=variables,
        blocks=blocks,
        imported=imported,
        suppress=suppress,
        meta=meta,
        kind=kind,
        plugin=plugin,
        resources=resources,
    )
