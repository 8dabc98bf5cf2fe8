"""Provenance both ways: the sources of an output, or every output a source reaches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal, cast

from promptbundle.build.pipeline import build_outputs, load
from promptbundle.core.errors import UsageError
from promptbundle.core.model import Bundle, OutputFile

__all__ = ["Explanation", "SourceRole", "explain", "explanation_json", "format_explanation"]

SourceRole = Literal[
    "agent",
    "command",
    "skill",
    "rule",
    "file",
    "fragment",
    "plugin config",
    "target config",
    "bundle config",
]


@dataclass(frozen=True)
class Explanation:
    """What one path is in the build: an output with its sources, or a source with its reach."""

    kind: Literal["output", "source"]
    path: str
    target: str | None = None
    agent: str | None = None
    # For an output: (role, source path); targets without a config file list none.
    sources: tuple[tuple[SourceRole, str], ...] = ()
    target_config: str | None = None
    # For a source: every output rendered from it.
    outputs: tuple[OutputFile, ...] = ()


def _role(bundle: Bundle, rel: str) -> SourceRole:
    if rel == bundle.config.source.relative_to(bundle.root).as_posix():
        return "bundle config"
    if rel.startswith("targets/"):
        return "target config"
    kinds = {p.rel: cast(SourceRole, p.kind) for p in bundle.prompts}
    if rel in kinds:
        return kinds[rel]
    if rel.startswith("fragments/"):
        return "fragment"
    if rel.endswith("/plugin.toml") and rel.startswith("plugins/"):
        return "plugin config"
    return "file"


_ROLE_ORDER: dict[str, int] = {
    "agent": 0,
    "command": 0,
    "skill": 0,
    "rule": 0,
    "file": 1,
    "fragment": 1,
    "plugin config": 2,
    "target config": 2,
    "bundle config": 3,
}


def _explain_output(bundle: Bundle, output: OutputFile) -> Explanation:
    roles = sorted(
        ((_role(bundle, s), s) for s in output.sources), key=lambda r: (_ROLE_ORDER[r[0]], r[1])
    )
    config = None
    if output.target in {t.name for t in bundle.config.targets}:
        source = bundle.config.target(output.target).source
        config = source.relative_to(bundle.root).as_posix() if source else None
    return Explanation(
        "output", output.path, output.target, output.agent, tuple(roles), target_config=config
    )


def _candidates(bundle: Bundle, raw: str, cwd: Path) -> list[tuple[str, str]]:
    """(kind, path) readings of `raw`, most likely first."""
    root, out = bundle.root, bundle.config.out_dir
    text = raw.replace("\\", "/").removeprefix("./")
    found: list[tuple[str, str]] = []
    relative = _is_relative(text)
    if relative:
        found.append(("output", text))
        prefix = f"{bundle.config.out.rstrip('/')}/"
        if text.startswith(prefix):
            found.append(("output", text.removeprefix(prefix)))
        found.append(("source", text))
    path = Path(raw) if Path(raw).is_absolute() else cwd / raw
    resolved = path.resolve()
    if resolved.is_relative_to(out.resolve()):
        found.append(("output", resolved.relative_to(out.resolve()).as_posix()))
    elif resolved.is_relative_to(root.resolve()):
        found.append(("source", resolved.relative_to(root.resolve()).as_posix()))
    if relative:
        name = text if text.endswith(".md") else f"{text}.md"
        found += [("source", f"fragments/{name}"), ("source", f"agents/{name}")]
    return found


def _is_relative(text: str) -> bool:
    """Whether `text` reads as a path inside the bundle: relative, without `..`."""
    path = PurePosixPath(text)
    return bool(text) and not path.is_absolute() and ".." not in path.parts and ":" not in text


def explain(root: Path | None, path: str, *, cwd: Path | None = None) -> Explanation:
    """Explain `path`: an output (as in dist/, with or without the dist/ prefix) or a source."""
    bundle = load(root)
    outputs = build_outputs(bundle).outputs
    by_path = {o.path: o for o in outputs}
    used = {s for o in outputs for s in o.sources}
    candidates = _candidates(bundle, path, cwd or Path.cwd())
    if not candidates:
        raise UsageError(
            f"{path!r} is outside the bundle ({bundle.root}): give an output (a path in "
            f"{bundle.config.out}/) or a source file inside the bundle"
        )
    for kind, rel in candidates:
        if kind == "output" and rel in by_path:
            return _explain_output(bundle, by_path[rel])
        if kind == "source" and (rel in used or (bundle.root / rel).is_file()):
            reached = tuple(o for o in outputs if rel in o.sources)
            return Explanation("source", rel, outputs=reached)
    raise UsageError(
        f"{path!r} is neither an output of this bundle (a path in "
        f"{bundle.config.out}/) nor one of its source files"
    )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' * (count != 1)}"


def _reach(outputs: Sequence[OutputFile]) -> str:
    agents = {o.agent for o in outputs if o.agent}
    targets = {o.target for o in outputs}
    text = _plural(len(outputs), "output")
    if agents:
        text += f" in {_plural(len(agents), 'prompt')}"
    return text + f" across {_plural(len(targets), 'target')}" if outputs else text


def explanation_json(item: Explanation) -> dict[str, Any]:
    """The explanation as data for tools."""
    data: dict[str, Any] = {"kind": item.kind, "path": item.path}
    if item.kind == "output":
        data.update(
            target=item.target,
            prompt=item.agent,
            target_config=item.target_config,
            sources=[{"role": role, "path": path} for role, path in item.sources],
        )
    else:
        data["outputs"] = [
            {"path": o.path, "target": o.target, "prompt": o.agent} for o in item.outputs
        ]
    return data


def format_explanation(item: Explanation) -> str:
    """The explanation as text lines."""
    if item.kind == "output":
        lines = [
            item.path,
            f"  target: {item.target}",
            f"  prompt: {item.agent or '(none: a bundle-level file)'}",
            "  sources:",
        ]
        width = max((len(role) for role, _ in item.sources), default=0)
        lines += [f"    {role:<{width}}  {path}" for role, path in item.sources]
        if item.target_config is None and item.target not in (None, "catalog"):
            lines.append(f"  target config: none (built-in defaults of {item.target})")
        return "\n".join(lines) + "\n"
    if not item.outputs:
        return f"{item.path} reaches no output (no agent of this bundle loads it)\n"
    lines = [f"{item.path} reaches {_reach(item.outputs)}"]
    by_target: dict[str, list[OutputFile]] = {}
    for output in item.outputs:
        by_target.setdefault(output.target, []).append(output)
    for target in sorted(by_target):
        lines.append(f"  {target} ({len(by_target[target])})")
        lines += [f"    {o.path}" for o in sorted(by_target[target], key=lambda o: o.path)]
    return "\n".join(lines) + "\n"
