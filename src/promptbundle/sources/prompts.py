"""Load the bundle's sources: agents (frontmatter + Jinja body) and fragments."""

from __future__ import annotations

import re
from collections.abc import Mapping
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


def load_agent(path: Path, rel: str, known_targets: set[str], formats: KnownFormats) -> Agent:
    """Parse one agent file; raises every problem in it at once.

    Per-target blocks are keyed by a target of the bundle or by a built-in format."""
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

    errors: list[PromptBundleError] = []

    def problem(message: str, key: str, code: str | None = None) -> None:
        line = key_line(frontmatter, key, first_line=2) or 2
        errors.append(SourceError(message, Location(path, line, 1), code=code))

    block_names = known_targets | formats.names
    for key in meta:
        if key not in CANONICAL_KEYS and key not in block_names:
            problem(
                f"unknown key {key!r}: canonical keys are {', '.join(CANONICAL_KEYS[:6])}; "
                f"per-target blocks are keyed by target ({', '.join(sorted(known_targets))})",
                str(key),
            )
    agent_id = meta.get("name")
    if agent_id is None:
        agent_id = path.stem
    if not isinstance(agent_id, str) or not ID_PATTERN.match(agent_id) or len(agent_id) > 64:
        problem(
            f"'name' must be an id of lowercase letters, digits and hyphens (at most 64), "
            f"got {agent_id!r}",
            "name",
        )
        agent_id = path.stem
    elif agent_id != path.stem:
        problem(f"'name' {agent_id!r} does not match the file name {path.name!r}", "name")
    description = meta.get("description")
    if not isinstance(description, str) or not description.strip():
        problem("'description' is required and must be a non-empty string", "description")
        description = ""
    model = meta.get("model")
    if model is not None and (not isinstance(model, str) or not model.strip()):
        problem(f"'model' must be a tier ({', '.join(TIERS)}) or a model id", "model")
        model = None
    tools = meta.get("tools")
    if isinstance(tools, str):
        tools = [t.strip() for t in tools.split(",") if t.strip()]
    if tools is not None and (
        not isinstance(tools, list) or not all(isinstance(t, str) and t for t in tools)
    ):
        problem("'tools' must be a list of tool names", "tools")
        tools = None
    targets = meta.get("targets")
    if targets is not None:
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            problem("'targets' must be a list of target names", "targets")
            targets = None
        else:
            for target in targets:
                if target not in known_targets:
                    problem(
                        f"target {target!r} is not a target of this bundle "
                        f"({', '.join(sorted(known_targets))})",
                        "targets",
                        "PB205",
                    )
    variables = meta.get("vars", {})
    if not isinstance(variables, Mapping):
        problem("'vars' must be a mapping", "vars")
        variables = {}
    for message in var_name_problems(dict(variables)):
        problem(message, "vars")
    blocks: dict[str, dict[str, Any]] = {}
    for key in sorted(block_names & set(meta)):
        block = meta[key]
        if not isinstance(block, Mapping):
            problem(f"per-target block {key!r} must be a mapping of frontmatter keys", key)
            continue
        try:
            dump_frontmatter(block)
        except (TypeError, ValueError) as err:
            problem(f"per-target block {key!r}: {err} (quote a value meant as text)", key)
            continue
        blocks[key] = dict(block)
    suppress = meta.get("suppress", [])
    if not isinstance(suppress, list) or not all(
        isinstance(c, str) and CHECK_CODE.match(c) for c in suppress
    ):
        problem("'suppress' must be a list of check codes like PB112", "suppress")
        suppress = []
    imported = meta.get("import", {})
    if not isinstance(imported, Mapping):
        problem("'import' must be a mapping", "import")
        imported = {}
    raise_collected(errors)
    return Agent(
        id=agent_id,
        path=path,
        rel=rel,
        description=description,
        body=body,
        body_line=body_line,
        model=model,
        tools=tuple(tools) if tools is not None else None,
        targets=tuple(targets) if targets is not None else None,
        vars=dict(variables),
        blocks=blocks,
        imported=dict(imported),
        suppress=frozenset(suppress),
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
