"""Load the bundle's sources: agents (frontmatter + Jinja body) and fragments."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promptbundle.core.errors import Location, PromptBundleError, SourceError, raise_collected
from promptbundle.core.frontmatter import key_line, split_frontmatter
from promptbundle.core.model import ID_PATTERN, TIERS, Agent, Bundle, BundleConfig, KnownFormats
from promptbundle.core.yamlio import YamlError, dump_frontmatter, load_yaml
from promptbundle.sources.config import var_name_problems

__all__ = ["load_bundle", "read_source"]

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


def read_source(path: Path) -> str:
    """Read a UTF-8 source exactly (no newline translation)."""
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise SourceError(f"not UTF-8 (byte {err.start})", Location(path, 1, 1)) from err


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


def _parse_frontmatter(path: Path) -> tuple[str, dict[Any, Any], str, int]:
    """Read an agent file: (frontmatter text, its mapping, body, body's first line)."""
    text = read_source(path)
    frontmatter, body, body_line = split_frontmatter(text)
    if frontmatter is None:
        raise SourceError(
            "agent has no YAML frontmatter (a '---' block first)", Location(path, 1, 1)
        )
    try:
        meta = load_yaml(frontmatter) or {}
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
            problems.add(
                f"unknown key {key!r}: canonical keys are {', '.join(CANONICAL_KEYS[:6])}; "
                f"per-target blocks are keyed by target ({', '.join(sorted(known_targets))})",
                str(key),
            )


def _agent_id(meta: dict[Any, Any], path: Path, problems: _Problems) -> str:
    """The agent's id: `name`, else the file's stem, which `name` must match."""
    agent_id = meta.get("name")
    if agent_id is None:
        agent_id = path.stem
    if not isinstance(agent_id, str) or not ID_PATTERN.match(agent_id) or len(agent_id) > 64:
        problems.add(
            f"'name' must be an id of lowercase letters, digits and hyphens (at most 64), "
            f"got {agent_id!r}",
            "name",
        )
        return path.stem
    if agent_id != path.stem:
        problems.add(f"'name' {agent_id!r} does not match the file name {path.name!r}", "name")
    return agent_id


def _description(meta: dict[Any, Any], problems: _Problems) -> str:
    """The required, non-empty `description`."""
    description = meta.get("description")
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


def load_agent(path: Path, rel: str, known_targets: set[str], formats: KnownFormats) -> Agent:
    """Parse one agent file; raises every problem in it at once.

    Per-target blocks are keyed by a target of the bundle or by a built-in format."""
    frontmatter, meta, body, body_line = _parse_frontmatter(path)
    problems = _Problems(path, frontmatter)
    block_names = known_targets | formats.names
    _check_keys(meta, block_names, known_targets, problems)
    # Checked in this order, so that the problems are reported in this order.
    agent_id = _agent_id(meta, path, problems)
    description = _description(meta, problems)
    model = _model(meta, problems)
    tools = _tools(meta, problems)
    targets = _targets(meta, known_targets, problems)
    variables = _variables(meta, problems)
    blocks = _blocks(meta, block_names, problems)
    suppress = _suppress(meta, problems)
    imported = _imported(meta, problems)
    raise_collected(problems.errors)
    return Agent(
        id=agent_id,
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
    )


def load_bundle(config: BundleConfig, *, formats: KnownFormats) -> Bundle:
    """Load every agent and list every fragment; all problems are reported together."""
    root = config.root
    known_targets = {t.name for t in config.targets}
    agents: list[Agent] = []
    errors: list[PromptBundleError] = []
    agent_dir = root / "agents"
    for path in sorted(agent_dir.glob("*.md")) if agent_dir.is_dir() else []:
        if path.name.lower() == "readme.md":
            continue
        try:
            agents.append(
                load_agent(path, path.relative_to(root).as_posix(), known_targets, formats)
            )
        except PromptBundleError as error:
            errors.append(error)
    raise_collected(errors)
    fragment_dir = root / "fragments"
    fragments = (
        tuple(
            sorted(
                p.relative_to(fragment_dir).as_posix()
                for p in fragment_dir.rglob("*.md")
                if p.is_file() and p.name.lower() != "readme.md"
            )
        )
        if fragment_dir.is_dir()
        else ()
    )
    return Bundle(config=config, agents=tuple(agents), fragments=fragments)
