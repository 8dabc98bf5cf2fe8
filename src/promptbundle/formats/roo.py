"""Roo Code: agents become custom modes in one project file, `.roomodes` (YAML,
`customModes: [...]`, every agent in id order); commands `.roo/commands/<id>.md`, rules
`.roo/rules/<id>.md` and skills `.roo/skills/<id>/SKILL.md`.

A mode's `slug` is the agent's id with `/` written `--` (an id's segments never hold `--`, so
no two agents share a slug), its `roleDefinition` the rendered body, its `whenToUse` the
description, and its `groups` the tool groups the canonical tools fall into (every group
when the agent lists no tools). The modes file is written once per bundle
(`bundle_outputs`); each agent's dropped fields are reported as it is rendered. Importing a
project reads each mode of its `.roomodes` back as an agent (`read_parts`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from promptbundle.core.diagnostics import Diagnostic, LossyField
from promptbundle.core.errors import Location
from promptbundle.core.model import PROJECT_FOLDER, OutputFile
from promptbundle.core.yamlio import YamlError, dump_frontmatter, load_yaml
from promptbundle.formats.base import Format, Mapped
from promptbundle.formats.layouts import Unparsable
from promptbundle.formats.schema import evaluate_named
from promptbundle.render.environment import RenderedPrompt

__all__ = ["MODES_FILE", "ROO_GROUPS", "ROO_MODE_FIELDS", "RooFormat"]

ROO_MODE_FIELDS = (
    "slug",
    "name",
    "roleDefinition",
    "whenToUse",
    "description",
    "customInstructions",
    "groups",
)
# Canonical (Claude Code) tool names and the Roo Code tool group that holds each.
ROO_GROUPS = {
    "Read": "read",
    "Grep": "read",
    "Glob": "read",
    "LS": "read",
    "Edit": "edit",
    "Write": "edit",
    "MultiEdit": "edit",
    "NotebookEdit": "edit",
    "Bash": "command",
    "WebFetch": "browser",
    "WebSearch": "browser",
}
# The groups in Roo Code's order; an agent without a tool list gets all but `modes`.
_GROUP_ORDER = ("read", "edit", "browser", "command", "mcp", "modes")
_ALL_GROUPS = ["read", "edit", "browser", "command", "mcp"]
_MCP_PREFIX = "mcp__"
# The modes file, at the project's root, inside the target's folder.
MODES_NAME = ".roomodes"
MODES_FILE = f"{PROJECT_FOLDER}/{MODES_NAME}"
# The mode field that holds the agent's body.
BODY_FIELD = "roleDefinition"
MODES_SCHEMA = "roo.roomodes"
MODES_KEY = "customModes"
# A nested agent id's `/` in its slug.
NESTED_JOINER = "--"
_MODE_START = re.compile(r"^  - ")


class RooFormat(Format):
    name = "roo"
    description = "Roo Code: custom modes (.roomodes), commands, rules and skills (.roo/)"
    kinds = frozenset({"agent", "command", "skill", "rule"})
    fields = ROO_MODE_FIELDS
    kind_fields: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "command": ("description", "argument-hint", "mode"),
        "skill": ("name", "description"),
        "rule": (),
    }
    tools_field = "groups"
    kind_tools_fields: ClassVar[Mapping[str, str]] = {
        "command": "tools",
        "skill": "tools",
        "rule": "tools",
    }
    keep_unknown = False
    install_prefix = ".roo"
    default_target = False
    detect_order = 45
    checked_by = (
        "Roo Code's modes schema (@roo-code/types 1.115.0) in `make conformance` "
        "(`.roomodes`); commands, rules and skills: schemas and checks only"
    )
    parts_files = frozenset({MODES_NAME})
    project_files: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("command", ".roo/commands", ".md"),
        ("rule", ".roo/rules", ".md"),
        ("skill", ".roo/skills", "/SKILL.md"),
    )

    def agent_path(self, agent_id: str) -> str:
        return MODES_FILE

    @classmethod
    def read_parts(cls, path: Path, text: str) -> list[tuple[str, dict[str, Any], str]] | None:
        """Each mode of a `.roomodes` file: (the agent id its slug stands for, its other
        fields, its roleDefinition)."""
        if path.name != MODES_NAME:
            return None
        return [
            (
                mode["slug"].replace(NESTED_JOINER, "/"),
                {k: v for k, v in mode.items() if k not in ("slug", BODY_FIELD)},
                mode[BODY_FIELD],
            )
            for mode in _read_modes(text)
        ]

    @classmethod
    def claims(cls, path: Path, meta: Mapping[str, Any]) -> bool:
        return ".roo" in {part.lower() for part in path.parts[:-1]}

    @classmethod
    def kind_of_file(cls, path: Path) -> str | None:
        parts = [part.lower() for part in path.parts[:-1]]
        if path.name.lower() == "skill.md":
            return "skill"
        if "commands" in parts:
            return "command"
        if "rules" in parts:
            return "rule"
        return "agent"

    def command_path(self, command_id: str) -> str:
        return f"commands/{command_id}.md"

    def skill_path(self, skill_id: str) -> str:
        return f"skills/{skill_id}/SKILL.md"

    def rule_path(self, rule_id: str) -> str:
        return f"rules/{rule_id}.md"

    # -- mapping -------------------------------------------------------------------------
    def canonical_values(self, rendered: RenderedPrompt, kind: str) -> dict[str, Any]:
        values = super().canonical_values(rendered, kind)
        if kind != "agent":
            return values
        mode: dict[str, Any] = {"slug": rendered.prompt.id.replace("/", NESTED_JOINER)}
        mode.update(values)
        if "description" in mode:
            mode["whenToUse"] = mode.pop("description")
        return mode

    def map_tools(self, tools: Sequence[str]) -> Any:
        """The tool groups (in Roo Code's order) that hold the canonical tools."""
        found = {self._group(tool) for tool in tools}
        return [group for group in _GROUP_ORDER if group in found]

    def _group(self, tool: str) -> str | None:
        if tool in self.target.tools:
            return self.target.tools[tool] or None
        if tool.startswith(_MCP_PREFIX):
            return "mcp"
        return ROO_GROUPS.get(tool)

    def map_fields(self, rendered: RenderedPrompt) -> Mapped:
        mapped = super().map_fields(rendered)
        prompt = rendered.prompt
        if self.built_kind(prompt) != "agent":
            return mapped
        if "roleDefinition" in mapped.fields:
            reason = "the agent's body is its roleDefinition"
            mapped.lossy.append(self.lossy(prompt.label, "roleDefinition", reason))
        values = {**mapped.fields, "roleDefinition": rendered.body}
        values.setdefault("groups", list(_ALL_GROUPS))
        mapped.fields = {k: values[k] for k in ROO_MODE_FIELDS if k in values}
        for tool in prompt.tools or ():
            if self._group(tool) is None:
                reason = "no Roo Code tool group holds it"
                mapped.lossy.append(self.lossy(prompt.label, f"tools.{tool}", reason))
        return mapped

    # -- files ---------------------------------------------------------------------------
    def prompt_outputs(self, rendered: RenderedPrompt) -> tuple[list[OutputFile], list[LossyField]]:
        """An agent is a mode of the bundle's one `.roomodes` (see bundle_outputs): here it
        gives only what it loses."""
        if self.built_kind(rendered.prompt) == "agent":
            return [], self.map_fields(rendered).lossy
        return super().prompt_outputs(rendered)

    def bundle_outputs(self, rendered: Sequence[RenderedPrompt]) -> list[OutputFile]:
        """`.roomodes`, listing the mode of every agent in id order (none: no file)."""
        agents = sorted(
            (r for r in rendered if self.built_kind(r.prompt) == "agent"),
            key=lambda r: r.prompt.id,
        )
        if not agents:
            return []
        modes = [self.map_fields(r).fields for r in agents]
        sources = {*self.config_sources()}
        for item in agents:
            sources.update(item.sources)
        return [
            OutputFile(
                f"{self.target.name}/{MODES_FILE}",
                modes_yaml(modes).encode("utf-8"),
                self.target.name,
                None,
                tuple(sorted(sources)),
            )
        ]

    # -- validating ----------------------------------------------------------------------
    def schema_name(self, output: OutputFile) -> str:
        if _is_modes_file(output):
            return MODES_SCHEMA
        return super().schema_name(output)

    def validate(self, output: OutputFile) -> list[Diagnostic]:
        if not _is_modes_file(output):
            return super().validate(output)
        return self._modes_problems(output)

    def _modes_problems(self, output: OutputFile) -> list[Diagnostic]:
        """The file against `roo.roomodes`, each mode against `roo`, and unique slugs;
        each problem at its line of the file."""
        text = output.content.decode("utf-8", errors="replace")
        where = self.where(output)
        try:
            data = load_yaml(text)
        except YamlError as err:
            mark = getattr(err, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 1
            message = f".roomodes is not valid YAML: {getattr(err, 'problem', None) or err}"
            return [Diagnostic("error", "PB100", message, Location(where, line, 1), output.path)]
        if not isinstance(data, dict):
            message = ".roomodes must be a mapping with 'customModes'"
            return [Diagnostic("error", "PB100", message, Location(where, 1, 1), output.path)]
        lines = text.splitlines()
        found = []
        for failure in evaluate_named(MODES_SCHEMA, data):
            line = _line_in_modes(lines, failure.path)
            location = Location(where, line, 1)
            found.append(
                Diagnostic(failure.severity, failure.code, failure.message, location, output.path)  # type: ignore[arg-type]
            )
        modes = data.get(MODES_KEY)
        if not isinstance(modes, list):
            return found
        seen: set[Any] = set()
        for index, mode in enumerate(modes):
            if not isinstance(mode, dict):
                continue
            slug = mode.get("slug", f"#{index + 1}")
            for failure in evaluate_named(self.name, mode):
                path = (MODES_KEY, index, *failure.path)
                location = Location(where, _line_in_modes(lines, path), 1)
                message = f"mode {slug!r}: {failure.message}"
                found.append(
                    Diagnostic(failure.severity, failure.code, message, location, output.path)  # type: ignore[arg-type]
                )
            if "slug" in mode and mode["slug"] in seen:
                location = Location(where, _line_in_modes(lines, (MODES_KEY, index, "slug")), 1)
                message = f"mode slug {mode['slug']!r} is used twice (Roo Code needs unique slugs)"
                found.append(Diagnostic("error", "PB110", message, location, output.path))
            seen.add(mode.get("slug"))
        return found


def modes_yaml(modes: Sequence[Mapping[str, Any]]) -> str:
    """`customModes:` and each mode as a block-style list entry (empty lists as `[]`)."""
    out = [f"{MODES_KEY}:\n"]
    for mode in modes:
        full = {k: v for k, v in mode.items() if not _empty_list(v)}
        empty = [k for k, v in mode.items() if _empty_list(v)]
        lines = dump_frontmatter(full).splitlines() + [f"{key}: []" for key in empty]
        for i, line in enumerate(lines):
            out.append(("  - " if i == 0 else "    ") + line + "\n")
    return "".join(out)


def _empty_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and not value


def _read_modes(text: str) -> list[dict[str, Any]]:
    """The modes of a `.roomodes` file; raises Unparsable."""
    try:
        data = load_yaml(text)
    except YamlError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise Unparsable(f"{MODES_NAME} is not valid YAML", line) from err
    modes = data.get(MODES_KEY) if isinstance(data, dict) else None
    if not isinstance(modes, list) or not all(_is_mode(mode) for mode in modes):
        message = f"'{MODES_KEY}' must list modes, each with a slug and a roleDefinition"
        raise Unparsable(message, 1)
    return modes


def _is_mode(mode: Any) -> bool:
    return (
        isinstance(mode, dict)
        and isinstance(mode.get("slug"), str)
        and isinstance(mode.get(BODY_FIELD), str)
    )


def _is_modes_file(output: OutputFile) -> bool:
    return PurePosixPath(output.path).name == ".roomodes"


def _line_in_modes(lines: Sequence[str], path: Sequence[str | int]) -> int:
    """The 1-based line of `customModes[i].key` in a file written by modes_yaml (the mode's
    first line when the key is not found; the `customModes` line for anything else)."""
    top = next((n for n, line in enumerate(lines, 1) if line.startswith(f"{MODES_KEY}:")), 1)
    if len(path) < 2 or path[0] != MODES_KEY or not isinstance(path[1], int):
        return top
    starts = [n for n, line in enumerate(lines, 1) if _MODE_START.match(line)]
    if path[1] >= len(starts):
        return top
    start = starts[path[1]]
    stop = starts[path[1] + 1] if path[1] + 1 < len(starts) else len(lines) + 1
    if len(path) > 2 and isinstance(path[2], str):
        for n in range(start, stop):
            if lines[n - 1][4:].startswith(f"{path[2]}:"):
                return n
    return start
