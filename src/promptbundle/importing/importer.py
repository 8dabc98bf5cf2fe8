"""Import existing agent, skill, prompt and rule files as agent sources that build back to
the same bytes for their native format (see roundtrip.py for what is recorded)."""

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
    Location,
    PromptBundleError,
    SourceError,
    UsageError,
    raise_collected,
)
from promptbundle.core.roundtrip import NativeLayout, escape_body, split_layout
from promptbundle.core.yamlio import YamlError, dump_frontmatter, load_yaml, quote
from promptbundle.sources.config import ID_PATTERN, BundleConfig

__all__ = [
    "ExistingSource",
    "ImportResult",
    "ImportedAgent",
    "Unsupported",
    "collect_files",
    "convert_file",
    "detect_format",
    "existing_sources",
    "read_metadata",
    "run_import",
    "with_targets",
]

TIERS = frozenset({"opus", "sonnet", "haiku", "inherit"})
TEXT_SUFFIXES = frozenset({".md", ".mdc", ".markdown", ".txt"})
_DELIMITER = re.compile(r"^---[ \t]*\r?$")
_TABLE_ROW = re.compile(r"^\|.*\|[ \t]*\r?$")
_KEY_LINE = re.compile(r"^([A-Za-z0-9_][\w.-]*)[ \t]*:(?:[ \t]+(.*)|[ \t]*)$")
_OPENCODE_KEYS = frozenset({"mode", "temperature", "top_p", "permission", "steps", "maxSteps"})
_CLAUDE_FORMATS = frozenset({"claude-code", "claude-plugin"})
_COPILOT_SUFFIXES = {
    ".agent.md": "copilot-agent",
    ".chatmode.md": "copilot-agent",
    ".prompt.md": "copilot-prompt",
    ".instructions.md": "copilot-prompt",
}


class Unsupported(Exception):
    """A file import does not take; the message says why."""


@dataclass(frozen=True)
class ImportedAgent:
    """One imported file: its agent source text and what other targets will lose."""

    source: Path
    format: str
    id: str
    text: str
    lossy: tuple[str, ...] = ()
    # The id the file itself names (before a numbered suffix or a forced id).
    derived_id: str = ""
    # The canonical fields written before the `import:` record.
    fields: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


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


@dataclass
class ImportResult:
    """What `promptbundle import` wrote and what it skipped."""

    written: list[Path] = field(default_factory=list)
    agents: list[ImportedAgent] = field(default_factory=list)
    unsupported: list[tuple[Path, str]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    narrowed: int = 0

    @property
    def summary(self) -> str:
        text = f"imported {len(self.written)} file(s), {len(self.unsupported)} unsupported"
        if self.agents:
            text += f"; {sum(len(a.lossy) for a in self.agents)} lossy note(s)"
        if self.narrowed:
            text += f"; {self.narrowed} agent(s) narrowed (see 'narrowed:' lines)"
        return text


# -- reading -------------------------------------------------------------------------------
def _split_lf(text: str) -> list[str]:
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    return [*lines, parts[-1]] if parts[-1] else lines


def frontmatter_length(text: str) -> int | None:
    """Characters of the `---` block (both delimiter lines included), or None without one."""
    lines = _split_lf(text)
    if not lines or not _DELIMITER.match(lines[0].rstrip("\n")):
        return None
    for i in range(1, len(lines)):
        if _DELIMITER.match(lines[i].rstrip("\n")):
            return sum(len(line) for line in lines[: i + 1])
    return None


def table_length(text: str) -> int:
    """Characters of the `| key | value |` rows that open a skill-table file (0: none)."""
    length = 0
    for line in _split_lf(text):
        if not _TABLE_ROW.match(line.rstrip("\n")):
            break
        length += len(line)
    return length


def _table_rows(header: str) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for line in _split_lf(header):
        cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
        if len(cells) >= 2:
            key = cells[0].strip()
            value = "|".join(cells[1:]).strip().replace("\\|", "|")
            if key and key not in rows:
                rows[key] = value
    return rows


def read_metadata(frontmatter: str) -> tuple[dict[str, Any], bool]:
    """(fields, strict): PyYAML's reading, or a tolerant `key: value` reading when PyYAML
    rejects text the real tools accept (`globs: **/*`, an unquoted `: `)."""
    try:
        data = load_yaml(frontmatter)
    except YamlError:
        return _tolerant(frontmatter), False
    return (data if isinstance(data, dict) else {}), True


def _tolerant(frontmatter: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    current: str | None = None
    head = ""
    rest: list[str] = []

    def close() -> None:
        if current is not None and current not in fields:
            fields[current] = _tolerant_value(head, rest)

    for raw in frontmatter.replace("\r\n", "\n").split("\n"):
        match = _KEY_LINE.match(raw)
        if match and not raw[:1].isspace():
            close()
            current, head, rest = match.group(1), (match.group(2) or "").strip(), []
        elif current is not None and raw.strip() and not raw.lstrip().startswith("#"):
            rest.append(raw)
    close()
    return fields


def _tolerant_value(head: str, rest: list[str]) -> Any:
    if head[:1] in (">", "|") and len(head) <= 2:
        lines = [line.strip() for line in rest]
        return ("\n" if head[0] == "|" else " ").join(lines)
    if not head and rest and all(line.lstrip().startswith("- ") for line in rest):
        return [_unquote(line.lstrip()[2:].strip()) for line in rest]
    text = " ".join([head, *(line.strip() for line in rest)]).strip()
    try:
        value = load_yaml(f"k: {text}\n")
    except YamlError:
        return _unquote(text)
    return value.get("k") if isinstance(value, dict) else _unquote(text)


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


# -- detection -----------------------------------------------------------------------------
def detect_format(path: Path, text: str) -> str:
    """The native format of a file, from its name, location and frontmatter keys."""
    name = path.name.lower()
    for suffix, fmt in _COPILOT_SUFFIXES.items():
        if name.endswith(suffix):
            return fmt
    if name.endswith(".mdc"):
        return "cursor-rule"
    if path.suffix.lower() not in TEXT_SUFFIXES:
        raise Unsupported(f"unsupported format ({path.suffix or 'no'} file extension)")
    body = text.removeprefix("\ufeff")
    if table_length(body):
        return "skill-table"
    length = frontmatter_length(body)
    if length is None:
        raise Unsupported("unsupported format (no frontmatter and no skill table)")
    meta, _ = read_metadata(_inner(body[:length]))
    parts = {part.lower() for part in path.parts[:-1]}
    if name.endswith("skill.md"):
        return "agent-skill"
    if "globs" in meta or "alwaysApply" in meta or {".cursor", "rules"} <= parts:
        return "cursor-rule"
    if "applyTo" in meta:
        return "copilot-prompt"
    if parts & {"commands", "command"}:
        raise Unsupported("unsupported format (a command, not an agent)")
    if ".opencode" in parts or _OPENCODE_KEYS & set(meta) or isinstance(meta.get("tools"), dict):
        return "opencode"
    if "name" in meta and "description" in meta:
        plugin = "capabilities" in meta or any(
            (parent / ".claude-plugin").is_dir() for parent in path.parents[1:3]
        )
        return "claude-plugin" if plugin else "claude-code"
    raise Unsupported("unsupported format (frontmatter has no name and description)")


def _inner(header: str) -> str:
    """The YAML between the delimiter lines of a frontmatter block."""
    lines = _split_lf(header)
    return "".join(lines[1:-1])


# -- conversion ----------------------------------------------------------------------------
def convert_file(
    path: Path,
    data: bytes,
    *,
    format_name: str | None = None,
    taken: Iterable[str] = (),
    label: str | None = None,
    agent_id: str | None = None,
) -> ImportedAgent:
    """The agent source for one file; raises Unsupported for files import does not take.

    The id is derived from the file (a numbered suffix when `taken`) unless `agent_id` is
    given."""
    from promptbundle.formats.registry import FORMATS

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise Unsupported(f"unsupported format (not UTF-8 text, byte {err.start})") from err
    if format_name is not None and format_name not in FORMATS:
        raise UsageError(f"unknown format {format_name!r} (formats: {', '.join(sorted(FORMATS))})")
    fmt = format_name or detect_format(path, text)
    body = text.removeprefix("\ufeff")
    if fmt == "skill-table":
        length = table_length(body)
        if not length:
            raise Unsupported("not a skill table (no `| key | value |` rows first)")
        meta, strict = _table_rows(body[:length]), True
    else:
        found = frontmatter_length(body)
        if found is None:
            raise Unsupported(f"not a {fmt} file (no `---` frontmatter)")
        length = found
        meta, strict = read_metadata(_inner(body[:length]))
    layout = split_layout(text, length)
    derived = _derive_id(path, meta)
    if agent_id is None:
        agent_id = _unique_id(derived, set(taken))
    fields, lossy = _canonical(meta, fmt, path, agent_id)
    if not strict:
        lossy.insert(0, "frontmatter is not valid YAML for PyYAML; fields read tolerantly")
    source = _agent_source(fields, fmt, label or path.as_posix(), layout)
    return ImportedAgent(path, fmt, agent_id, source, tuple(lossy), derived, fields)


def _derive_id(path: Path, meta: Mapping[str, Any]) -> str:
    name = meta.get("name")
    if isinstance(name, str) and ID_PATTERN.match(name) and len(name) <= 64:
        return name
    stem = path.name
    for suffix in (*_COPILOT_SUFFIXES, ".mdc", ".md", ".markdown", ".txt"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    if stem.lower() == "skill" and path.parent.name:
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
    meta: Mapping[str, Any], fmt: str, path: Path, agent_id: str
) -> tuple[dict[str, Any], list[str]]:
    """Canonical fields, a per-format block for the rest, and what other targets lose."""
    lossy: list[str] = []
    fields: dict[str, Any] = {"name": agent_id}
    description = meta.get("description")
    if isinstance(description, str) and description.strip():
        fields["description"] = description
    else:
        fields["description"] = f"Imported from {path.name}"
        lossy.append("description: missing, other targets get a generated one")
    name = meta.get("name")
    if name is not None and name != agent_id:
        lossy.append(f"name: {name!r} is kept only in the {fmt} file (id {agent_id!r})")
    block: dict[str, Any] = {}
    model = meta.get("model")
    if isinstance(model, str) and model in TIERS:
        fields["model"] = model
    elif model is not None:
        block["model"] = model
        lossy.append(f"model: {model!r} is not a tier ({', '.join(sorted(TIERS))})")
    tools_key = "allowed-tools" if fmt == "agent-skill" else "tools"
    tools = meta.get(tools_key)
    if tools is not None:
        if fmt in _CLAUDE_FORMATS | {"agent-skill"} and isinstance(tools, (str, list)):
            items = tools.replace(",", " ").split() if isinstance(tools, str) else tools
            fields["tools"] = [str(t).strip() for t in items if str(t).strip()]
        else:
            block[tools_key] = tools
            lossy.append(f"{tools_key}: {fmt} tool names are not mapped to other targets")
    for key, value in meta.items():
        if key in ("name", "description", "model", tools_key):
            continue
        block[str(key)] = value
        lossy.append(f"{key}: only {fmt} reads it")
    clean = _plain(block)
    if isinstance(clean, dict) and clean:
        fields[fmt] = clean
    return fields, lossy


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


def _agent_source(fields: Mapping[str, Any], fmt: str, label: str, layout: NativeLayout) -> str:
    record = {"format": fmt, "source": label, **layout.record()}
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


# -- files ---------------------------------------------------------------------------------
def collect_files(paths: Sequence[Path]) -> list[Path]:
    """Every file named or inside a named folder (not inside .git), sorted, each once."""
    found: dict[str, Path] = {}
    for path in paths:
        if path.is_dir():
            for item in sorted(path.rglob("*")):
                if item.is_file() and ".git" not in item.relative_to(path).parts:
                    found.setdefault(item.as_posix(), item)
        elif path.is_file():
            found.setdefault(path.as_posix(), path)
        else:
            raise UsageError(f"no such file or folder: {path}")
    return [found[key] for key in sorted(found)]


@dataclass(frozen=True)
class ExistingSource:
    """An agent source already in the import folder: its id and what it was imported from."""

    path: Path
    id: str
    source: str | None


def existing_sources(into: Path) -> list[ExistingSource]:
    """Every agent source in `into` (id from `name:`, else the file stem)."""
    from promptbundle.sources.prompts import split_frontmatter

    found = []
    for path in sorted(into.glob("*.md")) if into.is_dir() else []:
        if path.name.lower() == "readme.md":
            continue
        try:
            frontmatter, _, _ = split_frontmatter(path.read_text(encoding="utf-8"))
            meta = load_yaml(frontmatter) if frontmatter else None
        except (OSError, UnicodeDecodeError, YamlError):
            meta = None
        meta = meta if isinstance(meta, dict) else {}
        name = meta.get("name")
        record = meta.get("import")
        label = record.get("source") if isinstance(record, dict) else None
        found.append(
            ExistingSource(
                path,
                name if isinstance(name, str) else path.stem,
                label if isinstance(label, str) else None,
            )
        )
    return found


def _same_file(label: str, path: Path) -> bool:
    if label == path.as_posix():
        return True
    try:
        return Path(label).resolve() == path.resolve()
    except OSError:  # pragma: no cover - resolve() fails only on odd file systems
        return False


def _previous(
    path: Path, agent_id: str, existing: Sequence[ExistingSource]
) -> tuple[ExistingSource | None, str]:
    """The source a new import of `path` (id `agent_id`) would duplicate, and why."""
    for item in existing:
        if item.source is not None and _same_file(item.source, path):
            return item, f"already imported as {item.path} (same import source)"
    for item in existing:
        if agent_id in (item.id, item.path.stem):
            return item, f"id {agent_id!r} is already used by {item.path}"
    return None, ""


def run_import(
    paths: Sequence[Path],
    *,
    into: Path,
    format_name: str | None = None,
    targets: Iterable[str] | None = None,
    force: bool = False,
    config: BundleConfig | None = None,
) -> ImportResult:
    """Write one agent source per supported file into `into`; nothing is written when a
    file cannot be read or already has a source there (unless `force`: it is replaced).
    Two files of this run that derive one id: the second gets a numbered suffix. An agent
    whose output for some target of `config` (None: the default targets) would fail
    validation gets `targets:` listing those that pass (see import_targets.py)."""
    from promptbundle.importing.targets import judge_targets

    result = ImportResult()
    existing = existing_sources(into)
    taken: dict[str, Path] = {}
    errors: list[PromptBundleError] = []
    for path in collect_files(paths):
        try:
            data = path.read_bytes()
            agent = convert_file(path, data, format_name=format_name, taken=taken)
            previous, why = _previous(path, agent.derived_id, existing)
            if previous is not None and force:
                agent = convert_file(path, data, format_name=format_name, agent_id=previous.id)
        except Unsupported as verdict:
            result.unsupported.append((path, str(verdict)))
            continue
        except OSError as err:
            errors.append(SourceError(f"cannot read: {err.strerror}", Location(path)))
            continue
        if previous is not None and not force:
            errors.append(
                SourceError(
                    f"{why}; use --force to replace it",
                    Location(path),
                )
            )
            continue
        base = agent.derived_id
        if base != agent.id and base in taken:
            result.messages.append(
                f"{path}: note: id {base!r} is taken by {taken[base]} in this import; "
                f"imported as {agent.id!r}"
            )
        taken[agent.id] = path
        result.agents.append(agent)
    raise_collected(errors)
    narrowed = judge_targets(result.agents, config)
    result.agents = [
        with_targets(a, narrowed[a.id].kept) if a.id in narrowed else a for a in result.agents
    ]
    result.narrowed = len(narrowed)
    known = set(targets) if targets is not None else None
    for agent in result.agents:
        target = into / f"{agent.id}.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(agent.text.encode("utf-8"))
        result.written.append(target)
        result.messages += [f"{agent.source}: lossy: {note}" for note in agent.lossy]
        if agent.id in narrowed:
            result.messages.append(f"{agent.source}: {narrowed[agent.id].line()}")
        if known is not None and agent.format not in known:
            result.messages.append(
                f"{agent.source}: note: the bundle has no {agent.format} target; add it to "
                f"'targets' to build the file back"
            )
    result.messages += [f"{path}: {reason}" for path, reason in result.unsupported]
    return result
