"""Which targets an imported agent builds for: every target of the bundle whose output for
it validates. The native target always does (its errors are the original file's, reported
as warnings); a mapped output that fails validation leaves its target out of the agent's
`targets:`, so the import's first build still writes every file back."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from promptbundle.build.pipeline import BuildResult, build_outputs, load
from promptbundle.core.diagnostics import Diagnostic
from promptbundle.core.errors import PromptBundleError
from promptbundle.core.model import BundleConfig, OutputFile
from promptbundle.formats.registry import FORMATS, KNOWN_FORMATS
from promptbundle.importing.convert import ImportedAgent

__all__ = [
    "LAID_OUT_OTHERWISE",
    "Narrowing",
    "build_native",
    "judge_targets",
    "narrowings",
    "written_back",
]


@dataclass(frozen=True)
class Narrowing:
    """An imported agent that builds for `kept` only; `reason` is the first error left out."""

    agent: str
    kept: tuple[str, ...]
    left_out: tuple[str, ...]
    reason: Diagnostic

    def line(self) -> str:
        return (
            f"narrowed: {self.agent} builds for {', '.join(self.kept) or 'no target'}; "
            f"left out {', '.join(self.left_out)} (first error: {self.reason.line()})"
        )


def narrowings(result: BuildResult[OutputFile], agents: Sequence[str]) -> dict[str, Narrowing]:
    """For each of `agents` with an output that fails validation, the targets that pass."""
    config = result.bundle.config
    wanted = set(agents)
    failing = _first_errors(result, wanted)
    built = _built_targets(result.outputs, wanted)
    found = {}
    for agent_id, bad in sorted(failing.items()):
        names = [t.name for t in config.targets]
        kept = tuple(t for t in names if t in built[agent_id] and t not in bad)
        left_out = tuple(t for t in names if t in bad)
        found[agent_id] = Narrowing(agent_id, kept, left_out, bad[left_out[0]])
    return found


def _first_errors(
    result: BuildResult[OutputFile], wanted: set[str]
) -> dict[str, dict[str, Diagnostic]]:
    """For each wanted agent, the first error (by place) of each target whose mapped (not
    verbatim) output fails validation."""
    outputs = {o.path: o for o in result.outputs}
    failing: dict[str, dict[str, Diagnostic]] = {}
    for diag in sorted(result.errors, key=lambda d: (str(d.location.path), d.location.line)):
        output = outputs.get(diag.output) if diag.output is not None else None
        if output is None or output.agent not in wanted or output.verbatim:
            continue
        failing.setdefault(output.agent, {}).setdefault(output.target, diag)
    return failing


def _built_targets(outputs: Iterable[OutputFile], wanted: set[str]) -> dict[str, set[str]]:
    """For each wanted agent, the targets it has outputs for."""
    built: dict[str, set[str]] = {}
    for output in outputs:
        if output.agent in wanted:
            built.setdefault(output.agent, set()).add(output.target)
    return built


def judge_targets(
    agents: Sequence[ImportedAgent], config: BundleConfig | None
) -> dict[str, Narrowing]:
    """Build the agent sources in a throwaway copy of the bundle's configuration (or, without
    one, a bundle of the default targets and the agents' native formats); the narrowings
    their outputs call for."""
    if not agents:
        return {}
    with tempfile.TemporaryDirectory(prefix="promptbundle-import-") as folder:
        root = Path(folder)
        if config is None:
            names = set(KNOWN_FORMATS.defaults)
            names |= {a.format for a in agents}
            listed = ", ".join(f'"{name}"' for name in sorted(names))
            (root / "promptbundle.toml").write_text(
                f'name = "import"\nversion = "0.0.0"\ntargets = [{listed}]\n', encoding="utf-8"
            )
        else:
            _copy_config(config, root)
        for agent in agents:
            path = root / agent.source_rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(agent.text.encode("utf-8"))
        result = build_outputs(load(root))
    return narrowings(result, [a.label for a in agents])


def _copy_config(config: BundleConfig, root: Path) -> None:
    """The bundle's config file and target files, so targets build with their own options."""
    shutil.copyfile(config.source, root / config.source.name)
    for target in config.targets:
        if target.source is not None:
            rel = target.source.relative_to(config.root)
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(target.source, root / rel)


# Why a TOML or JSON file (or a .roomodes) is not imported: built back, its bytes differ.
LAID_OUT_OTHERWISE = (
    "laid out otherwise than promptbundle writes it: it would not be written back byte for byte"
)
_CONFIG = 'name = "import-check"\nversion = "0.0.0"\ntargets = [{targets}]\n'


def build_native(agent: ImportedAgent) -> tuple[bytes, Narrowing | None]:
    """Build the prompt in a throwaway bundle with every format: the native output's bytes,
    and the targets import would leave out (None: it builds for every one)."""
    with tempfile.TemporaryDirectory(prefix="promptbundle-import-") as folder:
        root = Path(folder)
        names = ", ".join(f'"{name}"' for name in sorted(FORMATS))
        (root / "promptbundle.toml").write_text(_CONFIG.format(targets=names), encoding="utf-8")
        path = root / agent.source_rel
        path.parent.mkdir(parents=True)
        path.write_bytes(agent.text.encode("utf-8"))
        result = build_outputs(load(root))
    for output in result.outputs:
        if output.target == agent.format and output.agent == agent.label:
            return output.content, narrowings(result, [agent.label]).get(agent.label)
    raise PromptBundleError(f"the build wrote no {agent.format} file for {agent.label}")


def written_back(agent: ImportedAgent, data: bytes) -> bool:
    """Whether the agent's native target writes its file back as `data`, byte for byte."""
    try:
        return build_native(agent)[0] == data
    except PromptBundleError:
        return False
