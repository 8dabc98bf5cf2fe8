"""`promptbundle check`: every source lint and every output validation, reported at once.

Nothing is written but the cache folder (compiled templates, memos). Each problem is a Diagnostic
with a stable code (docs/checks.md).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promptbundle.build import cache as buildcache
from promptbundle.build.incremental import diagnostic_data, diagnostic_from
from promptbundle.build.pipeline import build_outputs, read_config
from promptbundle.build.pool import default_jobs
from promptbundle.core.diagnostics import Diagnostic, LossyField, lossiness_lines
from promptbundle.core.errors import ErrorGroup, Location, PromptBundleError, RenderError
from promptbundle.core.files import atomic_write
from promptbundle.core.model import SOURCE_FOLDERS, Bundle, BundleConfig, OutputFile
from promptbundle.formats.layouts import Unparsable
from promptbundle.formats.registry import FORMATS, KNOWN_FORMATS
from promptbundle.render.lint import duplicate_paragraphs, heading_jumps, lint_templates
from promptbundle.sources.bundle import read_bundle, readmes_like_prompts

__all__ = ["CheckReport", "run_checks"]


@dataclass
class CheckReport:
    """Every diagnostic of a check, and the fields formats drop (reported as notes)."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    lossy: list[LossyField] = field(default_factory=list)
    accepted: int = 0
    outputs: int = 0
    suppressed: int = 0

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    def exit_code(self, *, strict: bool = False) -> int:
        """1 on errors; with `strict`, on warnings and on fields dropped that the targets do
        not `accept` too (as `build --strict`)."""
        return 1 if self.errors or (strict and (self.warnings or self.lossy)) else 0

    def summary(self) -> str:
        return (
            f"checked {self.outputs} outputs: {len(self.errors)} error(s), "
            f"{len(self.warnings)} warning(s), {len(self.lossy)} dropped field(s)"
            + (f" ({self.accepted} more accepted)" if self.accepted else "")
            + (f", {self.suppressed} warning(s) suppressed by agents" if self.suppressed else "")
        )

    def text_lines(self) -> list[str]:
        lines = [d.line() for d in self.diagnostics]
        return lines + lossiness_lines(self.lossy, "note")


def _from_error(err: PromptBundleError, default: str = "PB001") -> list[Diagnostic]:
    """Library errors as diagnostics (an ErrorGroup gives one per error)."""
    errors = err.errors if isinstance(err, ErrorGroup) else [err]
    found = []
    for item in errors:
        code = item.code or ("PB003" if isinstance(item, RenderError) else default)
        location = item.location or Location("(bundle)", 0, 0)
        found.append(Diagnostic("error", code, item.message, location))
    return found


def _relative(config: BundleConfig, location: Location) -> Location:
    path = Path(location.path)
    if path.is_absolute() and path.is_relative_to(config.root):
        return Location(path.relative_to(config.root).as_posix(), location.line, location.column)
    return location


def _cache_dir(root: Path) -> Path | None:
    """The bundle's cache folder (compiled templates, memos), or None where it cannot be
    written: a check then works without it."""
    try:
        return buildcache.prepare_cache(root)
    except PromptBundleError:
        return None


def _build(
    bundle: Bundle, report: CheckReport, failures: list[Diagnostic], cache_dir: Path | None
) -> list[OutputFile]:
    """Outputs of every agent that renders; render errors go to `failures`."""
    try:
        result = build_outputs(bundle, cache_dir=cache_dir, jobs=default_jobs())
    except PromptBundleError as err:
        failures.extend(_from_error(err, "PB003"))
        outputs: list[OutputFile] = []
        for agent in bundle.prompts:  # isolate the agents that fail; check the rest
            alone = dataclasses.replace(bundle, prompts=(agent,))
            try:
                partial = build_outputs(alone)
            except PromptBundleError:
                continue
            mine = [o for o in partial.outputs if o.agent == agent.label]
            paths = {o.path for o in mine}
            outputs.extend(mine)
            report.diagnostics.extend(d for d in partial.diagnostics if d.output in paths)
            report.lossy.extend(partial.lossy)
            report.accepted += len(partial.accepted)
            report.suppressed += len(partial.suppressed)
        return outputs
    report.suppressed += len(result.suppressed)
    report.diagnostics.extend(result.diagnostics)
    report.lossy.extend(result.lossy)
    report.accepted += len(result.accepted)
    return result.outputs


HEADINGS_MEMO = "check-headings.json"


@dataclass
class _JumpMemo:
    """Heading jumps by a digest of the body (one parse per distinct body, kept for the next
    check in the cache folder while the code that finds them is the same)."""

    key: str
    known: dict[str, list[list[Any]]] = field(default_factory=dict)
    used: dict[str, list[list[Any]]] = field(default_factory=dict)

    def jumps(self, body: str, path: str, first_line: int) -> list[Diagnostic]:
        digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
        found = self.used.get(digest)
        if found is None:
            found = self.known.get(digest)
        if found is None:
            found = [[d.location.line, d.message] for d in heading_jumps(body, "", 1)]
        self.used[digest] = found
        return [
            Diagnostic("warning", "PB207", str(message), Location(path, first_line + line - 1, 1))
            for line, message in found
        ]


def _memo_key() -> str:
    code = json.dumps(buildcache.code_key(), sort_keys=True)
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def _load_jumps(cache_dir: Path | None) -> _JumpMemo:
    memo = _JumpMemo(_memo_key())
    if cache_dir is None:
        return memo
    try:
        data = json.loads((cache_dir / HEADINGS_MEMO).read_bytes())
        if data["key"] == memo.key and isinstance(data["bodies"], dict):
            memo.known = data["bodies"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        pass
    return memo


def _save_jumps(cache_dir: Path | None, memo: _JumpMemo) -> None:
    if cache_dir is None or memo.used.keys() == memo.known.keys():
        return
    data = {"key": memo.key, "bodies": memo.used}
    try:
        atomic_write(cache_dir / HEADINGS_MEMO, json.dumps(data, separators=(",", ":")).encode())
    except OSError:
        return  # only the next check's memo is lost


def _composed_headings(
    bundle: Bundle, outputs: list[OutputFile], cache_dir: Path | None
) -> list[Diagnostic]:
    """Heading jumps in each rendered body, each reported once per agent (first target)."""

    memo = _load_jumps(cache_dir)
    found = _heading_jumps(bundle, outputs, memo)
    _save_jumps(cache_dir, memo)
    return found


def _heading_jumps(bundle: Bundle, outputs: list[OutputFile], memo: _JumpMemo) -> list[Diagnostic]:
    config = bundle.config
    by_target = {t.name: FORMATS[t.format](t, config) for t in config.targets}
    found: list[Diagnostic] = []
    seen: set[tuple[str, str]] = set()
    for output in outputs:
        fmt = by_target.get(output.target)
        if output.agent is None or fmt is None:
            continue
        try:
            _, body, body_line = fmt.read(output)
        except Unparsable:  # reported by validation (PB100)
            continue
        for diag in memo.jumps(body, f"{config.out}/{output.path}", body_line):
            key = (output.agent, diag.message)
            if key not in seen:
                seen.add(key)
                found.append(diag)
    return found


def _readme_warnings(root: Path) -> list[Diagnostic]:
    """PB211: READMEs in prompt folders that look like prompts (they are never built)."""
    return [
        Diagnostic(
            "warning",
            "PB211",
            "a README is documentation and is never built, but this one has frontmatter like "
            "a prompt: rename it if it is one",
            Location(path, 1, 1),
        )
        for path in readmes_like_prompts(root)
    ]


def run_checks(root: Path | None = None) -> CheckReport:
    """Lint the bundle's sources and validate every output it would build."""

    try:
        config = read_config(root)
    except PromptBundleError as err:
        return CheckReport(diagnostics=_from_error(err))
    cache_dir = _cache_dir(config.root)
    key = _inputs_key(config.root)
    recalled = _recall(cache_dir, config.root, key)
    if recalled is not None:
        return recalled
    report, used = _check(config, cache_dir)
    _remember(cache_dir, config.root, key, report, used)
    return report


REPORT_MEMO = "check-report.json"


def _inputs_key(root: Path) -> str:
    """A digest of the code and of every file a check reads in the bundle's own folders."""
    digest = hashlib.sha256(_memo_key().encode("utf-8"))
    for name in buildcache.CONFIG_FILES:
        digest.update(_file_record(root, name))
    for folder in SOURCE_FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            digest.update(_file_record(root, path.relative_to(root).as_posix()))
    return digest.hexdigest()


def _file_record(root: Path, rel: str) -> bytes:
    path = root / rel
    try:
        content = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "-"
    except OSError:
        content = "?"
    return f"{rel}\0{content}\0".encode("utf-8", "surrogateescape")


def _recall(cache_dir: Path | None, root: Path, key: str) -> CheckReport | None:
    """The report of the last check when nothing it read has changed since."""
    if cache_dir is None:
        return None
    try:
        data = json.loads((cache_dir / REPORT_MEMO).read_bytes())
        if data["key"] != key:
            return None
        for rel, recorded in data["extra"].items():
            if _file_record(root, rel) != _file_record_of(rel, recorded):
                return None
        found = data["report"]
        return CheckReport(
            diagnostics=[diagnostic_from(item) for item in found["diagnostics"]],
            lossy=[LossyField(*item) for item in found["lossy"]],
            accepted=int(found["accepted"]),
            outputs=int(found["outputs"]),
            suppressed=int(found["suppressed"]),
        )
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


def _file_record_of(rel: str, recorded: str) -> bytes:
    return f"{rel}\0{recorded}\0".encode("utf-8", "surrogateescape")


def _remember(
    cache_dir: Path | None, root: Path, key: str, report: CheckReport, used: set[str]
) -> None:
    """Keep the report, and the digests of the templates it read outside the source folders
    (a template may be any file under the root)."""
    if cache_dir is None:
        return
    scanned = (*buildcache.CONFIG_FILES, *(f"{f}/" for f in SOURCE_FOLDERS))
    extra = {
        rel: _file_record(root, rel).decode("utf-8", "surrogateescape").split("\0")[1]
        for rel in sorted(used)
        if not rel.startswith(scanned)
    }
    data = {
        "key": key,
        "extra": extra,
        "report": {
            "diagnostics": [diagnostic_data(d) for d in report.diagnostics],
            "lossy": [[x.agent, x.target, x.field, x.reason] for x in report.lossy],
            "accepted": report.accepted,
            "outputs": report.outputs,
            "suppressed": report.suppressed,
        },
    }
    try:
        atomic_write(cache_dir / REPORT_MEMO, json.dumps(data).encode("utf-8"))
    except OSError:
        return  # only the next check's shortcut is lost


def _check(config: BundleConfig, cache_dir: Path | None) -> tuple[CheckReport, set[str]]:
    """Every diagnostic of the bundle, and the templates its renders read."""
    report = CheckReport()
    bundle, problems = read_bundle(config, formats=KNOWN_FORMATS)
    for problem in problems:
        report.diagnostics.extend(_from_error(problem))
    report.diagnostics.extend(_readme_warnings(config.root))
    failures: list[Diagnostic] = []
    outputs = _build(bundle, report, failures, cache_dir)
    report.outputs = len(outputs)
    used = {source for output in outputs for source in output.sources}
    report.diagnostics.extend(lint_templates(bundle, used_sources=used))
    report.diagnostics.extend(duplicate_paragraphs(bundle.prompts, bundle.fragments))
    report.diagnostics.extend(_composed_headings(bundle, outputs, cache_dir))
    # A render failure in a file a static lint already explains adds nothing.
    explained = {str(d.location.path) for d in report.diagnostics if d.severity == "error"}
    if any(d.code == "PB203" for d in report.diagnostics):
        failures = [f for f in failures if "include cycle" not in f.message]
    report.diagnostics.extend(f for f in failures if str(f.location.path) not in explained)
    report.diagnostics = sorted(
        {
            d.line(): d
            for d in (_with(d, _relative(config, d.location)) for d in report.diagnostics)
        }.values(),
        key=_sort_key,
    )
    report.lossy.sort(key=lambda x: (x.agent, x.target, x.field))
    return report, used


def _with(diag: Diagnostic, location: Location) -> Diagnostic:
    return Diagnostic(diag.severity, diag.code, diag.message, location, diag.output)


def _sort_key(diag: Diagnostic) -> tuple[str, int, int, str, str]:
    loc = diag.location
    return (str(loc.path), loc.line, loc.column, diag.code, diag.message)
