"""Incremental builds: an agent whose recorded sources did not change is not rendered again.

After a full writing build, `.promptbundle-cache/renders.json` keeps, for every agent, the
digest of its file (and of a skill's resources), the digest of every template its renders
loaded, and, for every target, the rendered body, the templates loaded and what the build
kept of each output (path, digest, size, diagnostics) and of each dropped field. The next
full build reuses an agent's entry only when:

- the build key is the same: promptbundle's own code, the libraries and Python (as for the
  no-op record), the configuration files, every file under `targets/`, every plugin's
  `plugin.toml` and the list of carried files;
- the agent's file and every template its renders loaded have the same bytes;
- no template it loaded can choose what it loads at render time (a `fragment()` call or an
  `include`/`import`/`extends`/`from` whose name is not a string literal, or `ignore
  missing`): what such a template loads is not known before it runs, so it always renders;
- every output the entry names is in the output folder with the recorded bytes.

Anything else renders. A reused agent's outputs are not staged: the switch carries them from
the current output folder (build/switch.py), so the result is the same bytes as a full build.
Deleting the file is always safe.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promptbundle.build.cache import CONFIG_FILES, code_key
from promptbundle.build.staging import StagedOutput
from promptbundle.core.diagnostics import Diagnostic, LossyField
from promptbundle.core.errors import Location
from promptbundle.core.model import Bundle, Prompt

__all__ = [
    "MEMO_FILE",
    "RenderMemo",
    "Reused",
    "diagnostic_data",
    "diagnostic_from",
    "load_memo",
    "static_loads",
]

MEMO_FILE = "renders.json"
MEMO_VERSION = 1

# Jinja regions: expressions, statements and comments (comments are harmless but cheap to
# include).
_REGION = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_FRAGMENT_WORD = re.compile(r"\bfragment\b")
_LITERAL = r"""(?:'[^'\\]*'|"[^"\\]*")"""
_FRAGMENT_CALL = re.compile(r"\bfragment\s*\(\s*" + _LITERAL + r"\s*[,)]")
_LOAD_TAG = re.compile(r"^\{%[-+]?\s*(include|import|extends|from)\b(.*)$", re.DOTALL)
_LITERAL_NAME = re.compile(r"^\s*" + _LITERAL + r"(\s|-?%\}|$)")


def static_loads(text: str) -> bool:
    """Whether every template `text` loads is named by a string literal (else what it loads
    depends on the render, and its recorded sources cannot be trusted)."""
    if "{" not in text:
        return True
    for match in _REGION.finditer(text):
        region = match.group(0)
        if len(_FRAGMENT_WORD.findall(region)) != len(_FRAGMENT_CALL.findall(region)):
            return False
        tag = _LOAD_TAG.match(region)
        if tag is not None and (
            "ignore missing" in tag.group(2) or not _LITERAL_NAME.match(tag.group(2))
        ):
            return False
    return True


@dataclass(frozen=True)
class Reused:
    """What an earlier build made for one agent and one target."""

    body: str
    sources: tuple[str, ...]
    outputs: tuple[StagedOutput, ...]
    lossy: tuple[LossyField, ...]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _build_key(bundle: Bundle) -> str:
    """A digest of everything every output depends on besides its own sources."""
    root = bundle.root
    parts: list[Any] = [MEMO_VERSION, code_key()]
    for name in CONFIG_FILES:
        parts.append([name, _file_digest(root / name)])
    for folder in ("targets",):
        for path in sorted((root / folder).rglob("*")):
            parts.append([path.relative_to(root).as_posix(), _file_digest(path)])
    for path in sorted((root / "plugins").glob("*/plugin.toml")):
        parts.append([path.relative_to(root).as_posix(), _file_digest(path)])
    parts.append(sorted(str(item.rel) for item in bundle.files))
    return _digest(json.dumps(parts, sort_keys=True).encode("utf-8"))


def _file_digest(path: Path) -> str | None:
    try:
        return _digest(path.read_bytes()) if path.is_file() else None
    except OSError:
        return None


def diagnostic_data(diag: Diagnostic) -> list[Any]:
    loc = diag.location
    kind = "p" if isinstance(loc.path, Path) else "s"
    return [diag.severity, diag.code, diag.message, kind, str(loc.path), loc.line, loc.column,
            diag.output]  # fmt: skip


def diagnostic_from(data: list[Any]) -> Diagnostic:
    severity, code, message, kind, path, line, column, output = data
    where = Path(path) if kind == "p" else str(path)
    return Diagnostic(severity, code, message, Location(where, line, column), output)


def _output_data(output: StagedOutput) -> list[Any]:
    return [
        output.path,
        output.target,
        output.agent,
        list(output.sources),
        output.sha256,
        output.size,
        output.verbatim,
        [diagnostic_data(d) for d in output.diagnostics],
        output.kind,
    ]


def _output(data: list[Any]) -> StagedOutput:
    path, target, agent, sources, sha, size, verbatim, diags, kind = data
    return StagedOutput(
        path,
        target,
        agent,
        tuple(sources),
        sha,
        size,
        verbatim,
        tuple(map(diagnostic_from, diags)),
        kind,
        reused=True,
    )


@dataclass
class RenderMemo:
    """The memo of the last full build, and the digests of this build's sources."""

    root: Path
    out_dir: Path
    key: str
    entries: dict[str, Any] = field(default_factory=dict)
    _digests: dict[str, str | None] = field(default_factory=dict)
    _static: dict[str, bool] = field(default_factory=dict)
    # Whether this build recorded anything (else the file on disk is already the memo).
    changed: bool = False

    def digest(self, rel: str) -> str | None:
        """The digest of a source file (read once per build); whether its loads are static
        is noted on the way."""
        if rel not in self._digests:
            try:
                data = (self.root / rel).read_bytes()
            except OSError:
                self._digests[rel] = None
                self._static[rel] = False
                return None
            self._digests[rel] = _digest(data)
            self._static[rel] = static_loads(data.decode("utf-8", "replace"))
        return self._digests[rel]

    def agent_digest(self, agent: Prompt) -> str | None:
        """The digest of an agent's file and of its resources."""
        own = self.digest(agent.rel)
        if own is None or not agent.resources:
            return own
        base = agent.rel.rsplit("/", 1)[0]
        extra = [self.digest(f"{base}/{name}") for name in agent.resources]
        return _digest(json.dumps([own, *extra]).encode("utf-8"))

    def reusable(self, agent: Prompt, targets: Iterable[str]) -> dict[str, Reused] | None:
        """The agent's outputs for every target named, when none of its sources changed."""
        entry = self.entries.get(agent.rel)
        if not isinstance(entry, dict) or entry.get("agent") != self.agent_digest(agent):
            return None
        deps: dict[str, str] = entry["deps"]
        if not self._static.get(agent.rel, False):
            return None
        for rel, digest in deps.items():
            if self.digest(rel) != digest or not self._static.get(rel, False):
                return None
        found: dict[str, Reused] = {}
        bodies: list[str] = entry["bodies"]
        for name in targets:
            made = entry["targets"].get(name)
            if made is None:
                return None
            outputs = tuple(_output(item) for item in made["outputs"])
            if not all(self._holds(output) for output in outputs):
                return None
            lossy = tuple(LossyField(*item) for item in made["lossy"])
            found[name] = Reused(bodies[made["body"]], tuple(made["sources"]), outputs, lossy)
        return found

    def _holds(self, output: StagedOutput) -> bool:
        """Whether the output folder holds the output's exact bytes."""
        path = os.path.join(self.out_dir, output.path)
        try:
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode) or info.st_size != output.size:
                return False
            with open(path, "rb") as handle:
                return _digest(handle.read()) == output.sha256
        except OSError:
            return False

    def record(
        self,
        agent: Prompt,
        made: Mapping[str, tuple[str, Sequence[str], Sequence[StagedOutput], Sequence[LossyField]]],
    ) -> None:
        """Keep what this build made of `agent` (by target: body, sources, outputs, losses)."""
        bodies: list[str] = []
        targets: dict[str, Any] = {}
        deps: dict[str, str | None] = {}
        for name, (body, sources, outputs, lossy) in made.items():
            if body not in bodies:
                bodies.append(body)
            targets[name] = {
                "body": bodies.index(body),
                "sources": list(sources),
                "outputs": [_output_data(o) for o in outputs],
                "lossy": [[x.agent, x.target, x.field, x.reason] for x in lossy],
            }
            deps.update((rel, self.digest(rel)) for rel in sources if rel != agent.rel)
        self.changed = True
        if any(digest is None for digest in deps.values()):
            self.entries.pop(agent.rel, None)
            return
        self.entries[agent.rel] = {
            "agent": self.agent_digest(agent),
            "deps": deps,
            "bodies": bodies,
            "targets": targets,
        }

    def save(self, cache_dir: Path, keep: Iterable[str]) -> None:
        """Write the memo of the agents in `keep` (the others are gone)."""
        wanted = set(keep)
        if not self.changed and wanted == self.entries.keys():
            return
        agents = {rel: e for rel, e in sorted(self.entries.items()) if rel in wanted}
        # Streamed into a temporary file (the memo holds every rendered body: as one string
        # it would be a large share of a build's memory), then renamed into place.
        fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".pb-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                # One agent at a time through the C encoder (json.dump would use the slow
                # pure-Python one).
                handle.write(f'{{"key":{json.dumps(self.key)},"agents":{{')
                for number, (rel, entry) in enumerate(agents.items()):
                    handle.write("," if number else "")
                    handle.write(f"{json.dumps(rel)}:{json.dumps(entry, separators=(',', ':'))}")
                handle.write("}}")
            os.replace(tmp, cache_dir / MEMO_FILE)
        except OSError:
            Path(tmp).unlink(missing_ok=True)  # only the next build's reuse is lost


def load_memo(bundle: Bundle, cache_dir: Path) -> RenderMemo:
    """The memo the last full build left (empty when its key differs or it is unreadable)."""
    key = _build_key(bundle)
    memo = RenderMemo(bundle.root, Path(os.path.realpath(bundle.config.out_dir)), key)
    try:
        # The build's own file (written by json.dumps): the plain parser, with its recursion
        # limit for a file that is not.
        data = json.loads((cache_dir / MEMO_FILE).read_bytes())
        if data["key"] == key and isinstance(data["agents"], dict):
            memo.entries = data["agents"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        pass
    return memo
