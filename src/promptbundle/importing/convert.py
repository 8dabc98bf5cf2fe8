"""Convert one existing agent, skill, prompt or rule file into an agent source that builds
back to the same bytes for its native format (see core/roundtrip.py for what is recorded)."""

from __future__ import annotations

import dataclasses
import datetime
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promptbundle.core.errors import (
    UsageError,
)
from promptbundle.core.model import ID_PATTERN, KIND_FOLDERS, TIERS
from promptbundle.core.roundtrip import NativeLayout, escape_body, split_layout
from promptbundle.core.yamlio import YamlError, dump_frontmatter, load_yaml, quote
from promptbundle.formats.base import STRUCTURED
from promptbundle.formats.layouts import TABLE, Unparsable
from promptbundle.formats.opencode import OPENCODE_TOOLS
from promptbundle.formats.registry import FORMATS, Unsupported, detect_format

__all__ = [
    "ImportedAgent",
    "convert_file",
    "convert_part",
    "kind_of",
    "read_parts",
    "slugify",
    "with_targets",
]

_CLAUDE_FORMATS = frozenset({"claude-code", "claude-plugin"})
# Name endings dropped when an id is derived from a file name.
_NAME_SUFFIXES = (".agent.md", ".chatmode.md", ".prompt.md", ".instructions.md")


# A Roo Code mode's field that is the canonical description.
WHEN_TO_USE = "whenToUse"

# The kind of prompt a file of each format holds (an agent, unless listed).
KIND_OF_FORMAT = {
    "agent-skill": "skill",
    "skill-table": "skill",
}


def kind_of(fmt: str, path: Path) -> str:
    """The kind of prompt the file at `path`, of the format `fmt`, holds."""
    return FORMATS[fmt].kind_of_file(path) or KIND_OF_FORMAT.get(fmt, "agent")


@dataclass(frozen=True)
class ImportedAgent:
    """One imported file: its prompt source text and what other targets will lose."""

    source: Path
    format: str
    id: str
    text: str
    lossy: tuple[str, ...] = ()
    # The id the file itself names (before a numbered suffix or a forced id).
    derived_id: str = ""
    # The canonical fields written before the `import:` record.
    fields: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    kind: str = "agent"
    plugin: str = ""
    # Written back from its fields (a TOML or JSON file, a mode of `.roomodes`): byte for
    # byte only when laid out as promptbundle writes it (see targets.build_native).
    structured: bool = False

    @property
    def source_rel(self) -> str:
        """Where its source goes in the bundle (`skills/<id>/SKILL.md`, `commands/<id>.md`,
        inside `plugins/<name>/` for a plugin's prompt)."""
        folder = KIND_FOLDERS[self.kind]
        inside = (
            f"{folder}/{self.id}/SKILL.md" if self.kind == "skill" else f"{folder}/{self.id}.md"
        )
        return f"plugins/{self.plugin}/{inside}" if self.plugin else inside

    @property
    def label(self) -> str:
        """The label its outputs carry (see Prompt.label)."""
        if self.kind == "agent" and not self.plugin:
            return self.id
        return f"{self.plugin + '/' if self.plugin else ''}{self.kind}:{self.id}"


def with_targets(agent: ImportedAgent, targets: Sequence[str]) -> ImportedAgent:
    """The agent with `targets:` set (after the canonical fields, before the format block)."""
    head = "---\n" + dump_frontmatter(agent.fields)
    if not agent.text.startswith(head):  # pragma: no cover - convert_file writes it so
        raise AssertionError(f"{agent.source}: unexpected agent source layout")
    fields = {k: v for k, v in agent.fields.items() if k != agent.format}
    fields["targets"] = list(targets)
    if agent.format in agent.fields:
        fields[agent.format] = agent.fields[agent.format]
    text = "---\n" + dump_frontmatter(fields) + agent.text[len(head) :]
    return dataclasses.replace(agent, text=text, fields=fields)


def convert_file(
    path: Path,
    data: bytes,
    *,
    format_name: str | None = None,
    taken: Iterable[str] = (),
    label: str | None = None,
    agent_id: str | None = None,
    kind: str | None = None,
    plugin: str = "",
    recorded: str | None = None,
) -> ImportedAgent:
    """The prompt source for one file; raises Unsupported for files import does not take.

    The id is derived from the file (a numbered suffix when `taken`) unless `agent_id` is
    given. `kind` overrides the kind the format implies; `recorded` is the path the file
    is written back to (relative to the imported project), kept in the `import:` record."""

    text = _utf8(data)
    if format_name is not None and format_name not in FORMATS:
        raise UsageError(f"unknown format {format_name!r} (formats: {', '.join(sorted(FORMATS))})")
    fmt = format_name or detect_format(path, text)
    kind = kind or kind_of(fmt, path)
    structured = _read_structured(fmt, path, text)
    if structured is not None:
        return _convert_structured(
            path, structured, fmt, kind, set(taken), label, agent_id, plugin, recorded
        )
    body = text.removeprefix("\ufeff")
    layout_of = FORMATS[fmt].layout
    length = layout_of.header_length(body)
    if length is None and kind in ("command", "rule") and layout_of is not TABLE:
        length = 0  # plain Markdown: commands and rules need no frontmatter
    if length is None:
        if layout_of is TABLE:
            raise Unsupported("not a skill table (no `| key | value |` rows first)")
        raise Unsupported(f"not a {fmt} file (no `---` frontmatter)")
    meta, strict = layout_of.header_fields(body[:length]) if length else ({}, True)
    layout = split_layout(text, length)
    derived = _derive_id(path, meta)
    if agent_id is None:
        agent_id = _unique_id(derived, set(taken))
    fields, lossy = _canonical(meta, fmt, path, agent_id, kind)
    if not strict:
        lossy.insert(0, "frontmatter is not valid YAML for PyYAML; fields read tolerantly")
    source = _agent_source(fields, fmt, label or path.as_posix(), layout, recorded)
    return ImportedAgent(
        path, fmt, agent_id, source, tuple(lossy), derived, fields, kind=kind, plugin=plugin
    )


def _utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise Unsupported(f"unsupported format (not UTF-8 text, byte {err.start})") from err


def _read_structured(fmt: str, path: Path, text: str) -> tuple[dict[str, Any], str] | None:
    """(fields, body) of a TOML or JSON file of `fmt`; None for a file with a header."""
    try:
        return FORMATS[fmt].read_structured(path, text)
    except Unparsable as err:
        raise Unsupported(f"not a {fmt} file ({err.message}, line {err.line})") from err


def _convert_structured(
    path: Path,
    structured: tuple[dict[str, Any], str],
    fmt: str,
    kind: str,
    taken: set[str],
    label: str | None,
    agent_id: str | None,
    plugin: str,
    recorded: str | None,
) -> ImportedAgent:
    """The source of a file whose body is one of its fields: it is written back from its
    fields (`structured: true`), byte for byte when it was written the way the format
    writes it (`import --check` says where it is not)."""
    meta, body = structured
    derived = _derive_id(path, meta)
    if agent_id is None:
        agent_id = _unique_id(derived, taken)
    fields, lossy = _canonical(meta, fmt, path, agent_id, kind)
    name = meta.get("name")
    if name is not None and name != fields.get("name"):  # no header keeps it: the block does
        fields[fmt] = {"name": name, **fields.get(fmt, {})}
    text = _structured_source(fields, fmt, label or path.as_posix(), body, recorded)
    return ImportedAgent(
        path,
        fmt,
        agent_id,
        text,
        tuple(lossy),
        derived,
        fields,
        kind=kind,
        plugin=plugin,
        structured=True,
    )


def _structured_source(
    fields: Mapping[str, Any], fmt: str, label: str, body: str, recorded: str | None
) -> str:
    """A source written back from its fields (`structured: true` in its `import:` record)."""
    record: dict[str, Any] = {"format": fmt, "source": label, STRUCTURED: True}
    if recorded:
        record["path"] = recorded
    nested = "".join(f"  {line}\n" for line in dump_frontmatter(record).splitlines())
    return "---\n" + dump_frontmatter(fields) + "import:\n" + nested + "---\n" + escape_body(body)


def read_parts(fmt: str, path: Path, data: bytes) -> list[tuple[str, dict[str, Any], str]]:
    """(id, fields, body) of each agent of a file that holds several (Roo Code's
    `.roomodes`); raises Unsupported for a file that holds one or cannot be read."""
    try:
        parts = FORMATS[fmt].read_parts(path, _utf8(data))
    except Unparsable as err:
        raise Unsupported(f"not a {fmt} file ({err.message}, line {err.line})") from err
    if parts is None:
        raise Unsupported(f"not a {fmt} file that holds several prompts")
    return parts


def convert_part(
    path: Path, data: bytes, part: int, *, fmt: str, agent_id: str, label: str, recorded: str
) -> ImportedAgent:
    """The source of one agent of a file that holds several (a Roo Code mode): its body is
    the mode's roleDefinition, its description the mode's whenToUse, and every other field
    of the mode stays in the format's block; the file is written back from all of them."""
    _, meta, body = read_parts(fmt, path, data)[part]
    last = agent_id.rsplit("/", 1)[-1]
    fields: dict[str, Any] = {"name": last}
    lossy: list[str] = []
    block = {k: v for k, v in meta.items() if k != WHEN_TO_USE and (k, v) != ("name", last)}
    when = meta.get(WHEN_TO_USE)
    if isinstance(when, str) and when.strip():
        fields["description"] = when
    else:
        fields["description"] = f"Imported from {path.name}"
        block[WHEN_TO_USE] = when  # None (no whenToUse): left out when written back
        lossy.append("description: missing, other targets get a generated one")
    lossy += [f"{key}: only {fmt} reads it" for key in block if key != WHEN_TO_USE]
    clean = _plain(block)
    if isinstance(clean, dict) and clean:
        fields[fmt] = clean
    text = _structured_source(fields, fmt, label, body, recorded)
    return ImportedAgent(path, fmt, agent_id, text, tuple(lossy), agent_id, fields, structured=True)


def _derive_id(path: Path, meta: Mapping[str, Any]) -> str:
    name = meta.get("name")
    if isinstance(name, str) and ID_PATTERN.match(name) and len(name) <= 64:
        return name
    stem = path.name
    for suffix in (*_NAME_SUFFIXES, ".mdc", ".md", ".markdown", ".txt", ".toml", ".json"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    if (stem.lower() == "skill" or path.name == "AGENT.md") and path.parent.name:
        stem = path.parent.name
    return slugify(stem)


def slugify(text: str) -> str:
    """A valid agent id from any text: ASCII, lowercase, hyphens, at most 64 characters."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:64].rstrip("-") or "agent"


def _unique_id(agent_id: str, taken: set[str]) -> str:
    if agent_id not in taken:
        return agent_id
    for number in range(2, len(taken) + 3):
        candidate = f"{agent_id[:60].rstrip('-')}-{number}"
        if candidate not in taken:
            return candidate
    raise AssertionError("unreachable")  # pragma: no cover


def _canonical(
    meta: Mapping[str, Any], fmt: str, path: Path, agent_id: str, kind: str = "agent"
) -> tuple[dict[str, Any], list[str]]:
    """Canonical fields, a per-format block for the rest, and what other targets lose.

    Agents and skills are named and described; a command or a rule is only when its file
    says so."""
    lossy: list[str] = []
    named = kind in ("agent", "skill")
    last = agent_id.rsplit("/", 1)[-1]
    fields: dict[str, Any] = {"name": last} if named else {}
    if named or "description" in meta:
        _take_description(meta, path, fields, lossy)
    name = meta.get("name")
    if not named and isinstance(name, str) and ID_PATTERN.match(name) and name == last:
        fields["name"] = name
    elif name is not None and name != last:
        lossy.append(f"name: {name!r} is kept only in the {fmt} file (id {agent_id!r})")
    block: dict[str, Any] = {}
    _take_model(meta, fields, block, lossy)
    tools_key = "allowed-tools" if fmt == "agent-skill" else "tools"
    _take_tools(meta, fmt, tools_key, fields, block, lossy)
    _take_rest(meta, fmt, tools_key, block, lossy)
    clean = _plain(block)
    if isinstance(clean, dict) and clean:
        fields[fmt] = clean
    return fields, lossy


def _take_description(
    meta: Mapping[str, Any], path: Path, fields: dict[str, Any], lossy: list[str]
) -> None:
    """`description:` as given, or a generated one when it is missing or blank."""
    description = meta.get("description")
    if isinstance(description, str) and description.strip():
        fields["description"] = description
    else:
        fields["description"] = f"Imported from {path.name}"
        lossy.append("description: missing, other targets get a generated one")


def _take_model(
    meta: Mapping[str, Any], fields: dict[str, Any], block: dict[str, Any], lossy: list[str]
) -> None:
    """`model:` as a canonical field when it names a tier, else kept in the format block."""
    model = meta.get("model")
    if isinstance(model, str) and model in TIERS:
        fields["model"] = model
    elif model is not None:
        block["model"] = model
        lossy.append(f"model: {model!r} is not a tier ({', '.join(sorted(TIERS))})")


def _take_tools(
    meta: Mapping[str, Any],
    fmt: str,
    tools_key: str,
    fields: dict[str, Any],
    block: dict[str, Any],
    lossy: list[str],
) -> None:
    """The tool list as canonical `tools:` for Claude formats and skills, else kept in the
    format block."""
    tools = meta.get(tools_key)
    if fmt == "opencode":
        _take_opencode_tools(meta, fields, lossy)
    if tools is None:
        return
    if fmt in _CLAUDE_FORMATS | {"agent-skill"} and isinstance(tools, (str, list)):
        items = tools.replace(",", " ").split() if isinstance(tools, str) else tools
        fields["tools"] = [str(t).strip() for t in items if str(t).strip()]
        return
    block[tools_key] = tools
    if "tools" not in fields:
        lossy.append(f"{tools_key}: {fmt} tool names are not mapped to other targets")


# opencode tool -> the canonical (Claude Code) tool it is; MultiEdit goes with edit.
_FROM_OPENCODE = {native: canonical for canonical, native in OPENCODE_TOOLS.items()}
_FROM_OPENCODE["edit"] = "Edit"
# opencode permissions that switch canonical tools off when denied.
_PERMISSION_TOOLS = {
    "edit": ("Edit", "MultiEdit", "Write"),
    "bash": ("Bash",),
    "webfetch": ("WebFetch",),
    "websearch": ("WebSearch",),
    "read": ("Read",),
    "grep": ("Grep",),
    "glob": ("Glob",),
    "list": ("LS",),
    "task": ("Task",),
    "skill": ("Skill",),
    "todowrite": ("TodoWrite",),
}


def _take_opencode_tools(meta: Mapping[str, Any], fields: dict[str, Any], lossy: list[str]) -> None:
    """An opencode agent's tool switches (`tools: {write: false}`) and denied permissions
    (`permission: {edit: deny}`) as the canonical allow-list other targets need: every tool
    but those switched off (opencode enables what it does not name)."""
    switches = meta.get("tools")
    permission = meta.get("permission")
    denied: set[str] = set()
    if isinstance(switches, dict):
        for native, enabled in switches.items():
            if native not in _FROM_OPENCODE:
                lossy.append(f"tools.{native}: no canonical tool; other targets cannot limit it")
            elif enabled is False:
                denied.add(_FROM_OPENCODE[native])
                denied.update(("MultiEdit",) if native == "edit" else ())
    if isinstance(permission, dict):
        for key, tools in _PERMISSION_TOOLS.items():
            if permission.get(key) == "deny":
                denied.update(tools)
    if denied:
        fields["tools"] = [tool for tool in OPENCODE_TOOLS if tool not in denied]


def _take_rest(
    meta: Mapping[str, Any], fmt: str, tools_key: str, block: dict[str, Any], lossy: list[str]
) -> None:
    """Every other field, kept in the format block: only `fmt` reads it."""
    for key, value in meta.items():
        if key in ("name", "description", "model", tools_key):
            continue
        block[str(key)] = value
        lossy.append(f"{key}: only {fmt} reads it")


def _plain(value: Any) -> Any:
    """Values every YAML client reads back the same: dates and odd numbers become strings."""
    if isinstance(value, Mapping):
        items = {str(k): _plain(v) for k, v in value.items()}
        return {k: v for k, v in items.items() if not _empty(v)}
    if isinstance(value, (list, tuple)):
        return [v for v in (_plain(v) for v in value) if not _empty(v)]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _empty(value: Any) -> bool:
    return isinstance(value, (dict, list)) and not value


def _agent_source(
    fields: Mapping[str, Any],
    fmt: str,
    label: str,
    layout: NativeLayout,
    recorded: str | None = None,
) -> str:
    record = {"format": fmt, "source": label, **({"path": recorded} if recorded else {})}
    record.update(layout.record())
    header = record.pop("header")
    nested = "".join(f"  {line}\n" for line in dump_frontmatter(record).splitlines())
    frontmatter = dump_frontmatter(fields) + "import:\n" + nested
    literal = _literal_block("header", header, "  ")
    candidate = frontmatter + (literal or "")
    if literal is None or not _reads_back(candidate, header):
        candidate = frontmatter + f"  header: {quote(header)}\n"
    return "---\n" + candidate + "---\n" + escape_body(layout.body) + "\n"


def _literal_block(key: str, text: str, pad: str) -> str | None:
    """`key: |` with `text` as a literal block, when the text can be written that way."""
    if not text or text[0] in " \t\n":
        return None
    if text.endswith("\n"):
        chomp, content = "", text[:-1]
    else:
        chomp, content = "-", text
    if content.endswith("\n"):
        return None
    lines = content.split("\n")
    if any(not line.isprintable() for line in lines):
        return None
    body = "".join(f"{pad}  {line}\n" if line else "\n" for line in lines)
    return f"{pad}{key}: |{chomp}\n{body}"


def _reads_back(frontmatter: str, header: str) -> bool:
    try:
        data = load_yaml(frontmatter)
    except YamlError:
        return False
    return isinstance(data, dict) and data.get("import", {}).get("header") == header
