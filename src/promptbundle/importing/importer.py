"""Import existing agent, skill, prompt and rule files as agent sources that build back to
the same bytes for their native format (see roundtrip.py for what is recorded)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from promptbundle.core.errors import (
    Location,
    PromptBundleError,
    SourceError,
    UsageError,
    raise_collected,
)
from promptbundle.core.files import atomic_write, check_paths_inside
from promptbundle.core.frontmatter import (
    split_frontmatter,
)
from promptbundle.core.model import KIND_FOLDERS, BundleConfig
from promptbundle.core.yamlio import YamlError, load_yaml
from promptbundle.formats.registry import Unsupported
from promptbundle.importing.convert import ImportedAgent, convert_file, with_targets
from promptbundle.importing.targets import (
    LAID_OUT_OTHERWISE,
    Narrowing,
    judge_targets,
    written_back,
)

__all__ = [
    "ExistingSource",
    "ImportResult",
    "collect_files",
    "existing_sources",
    "run_import",
]

_CLAUDE_FORMATS = frozenset({"claude-code", "claude-plugin"})
# Name endings dropped when an id is derived from a file name.
_NAME_SUFFIXES = (".agent.md", ".chatmode.md", ".prompt.md", ".instructions.md")


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
    """Every prompt source of the bundle at `into` (id from `name:`, else the file stem)."""
    found = []
    paths = [p for folder in KIND_FOLDERS.values() for p in sorted((into / folder).rglob("*.md"))]
    for path in paths:
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

    result = ImportResult()
    existing = existing_sources(into)
    _convert_all(paths, result, existing, format_name=format_name, force=force)
    narrowed = judge_targets(result.agents, config)
    result.agents = [
        with_targets(a, narrowed[a.label].kept) if a.label in narrowed else a for a in result.agents
    ]
    result.narrowed = len(narrowed)
    known = set(targets) if targets is not None else None
    check_paths_inside(into, [agent.source_rel for agent in result.agents])
    for agent in result.agents:
        result.written.append(_write_agent(into, agent))
        result.messages += _agent_notes(agent, narrowed, known)
    result.messages += [f"{path}: {reason}" for path, reason in result.unsupported]
    return result


def _convert_all(
    paths: Sequence[Path],
    result: ImportResult,
    existing: Sequence[ExistingSource],
    *,
    format_name: str | None,
    force: bool,
) -> None:
    """Convert every file into `result.agents` (or `result.unsupported`); raise the
    collected errors of files that cannot be read or already have a source."""
    taken: dict[str, Path] = {}
    errors: list[PromptBundleError] = []
    for path in collect_files(paths):
        try:
            agent, why = _convert(path, existing, format_name=format_name, taken=taken, force=force)
        except Unsupported as verdict:
            result.unsupported.append((path, str(verdict)))
            continue
        except OSError as err:
            errors.append(SourceError(f"cannot read: {err.strerror}", Location(path)))
            continue
        if why:
            errors.append(SourceError(f"{why}; use --force to replace it", Location(path)))
            continue
        if agent.structured and not written_back(agent, path.read_bytes()):
            result.unsupported.append((path, LAID_OUT_OTHERWISE))
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


def _convert(
    path: Path,
    existing: Sequence[ExistingSource],
    *,
    format_name: str | None,
    taken: Mapping[str, Path],
    force: bool,
) -> tuple[ImportedAgent, str]:
    """The agent for one file and why it duplicates an existing source ("": it does not,
    or `force` replaces that source, taking its id)."""
    data = path.read_bytes()
    agent = convert_file(path, data, format_name=format_name, taken=taken)
    previous, why = _previous(path, agent.derived_id, existing)
    if previous is None:
        return agent, ""
    if not force:
        return agent, why
    return convert_file(path, data, format_name=format_name, agent_id=previous.id), ""


def _write_agent(into: Path, agent: ImportedAgent) -> Path:
    """Write the prompt's source into the bundle at `into` (replacing a link inside it, never
    writing through one); the file written."""
    target = into / agent.source_rel
    atomic_write(target, agent.text.encode("utf-8"))
    return target


def _agent_notes(
    agent: ImportedAgent, narrowed: Mapping[str, Narrowing], known: set[str] | None
) -> list[str]:
    """The report lines for one written agent: lossy notes, narrowing, missing target."""
    notes = [f"{agent.source}: lossy: {note}" for note in agent.lossy]
    if agent.label in narrowed:
        notes.append(f"{agent.source}: {narrowed[agent.label].line()}")
    if known is not None and agent.format not in known:
        notes.append(
            f"{agent.source}: note: the bundle has no {agent.format} target; add it to "
            f"'targets' to build the file back"
        )
    return notes
