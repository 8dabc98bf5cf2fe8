"""The benchmark workload: both tools' sources describe the same agents and bodies."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from promptbundle.build.pipeline import build_outputs, load

GENERATOR = Path(__file__).resolve().parents[2] / "bench" / "generate.py"


@pytest.fixture(scope="module")
def generate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_generate", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _body(text: str) -> str:
    return text.split("\n---\n", 1)[1]


def test_agents_include_core_and_two_to_four_other_fragments(generate: ModuleType) -> None:
    specs = generate.agent_specs(50)
    assert [s.id for s in specs] == sorted(s.id for s in specs)
    for spec in specs:
        assert spec.fragments[0] == "core" and 3 <= len(spec.fragments) <= 5
        assert set(spec.fragments) <= set(generate.FRAGMENT_NAMES)
    assert len(generate.fragment_sources()) == 12
    assert generate.agent_specs(50) == specs  # deterministic


def test_promptbundle_renders_the_bodies_written_for_rulesync(
    generate: ModuleType, tmp_path: Path
) -> None:
    specs = generate.agent_specs(6)
    generate.write_promptbundle(tmp_path / "pb", specs, generate.PROMPTBUNDLE_TARGETS)
    generate.write_rulesync(tmp_path / "rs", specs, generate.RULESYNC_TARGETS)
    outputs = {o.path: o.content.decode() for o in build_outputs(load(tmp_path / "pb")).outputs}
    lines = []
    for spec in specs:
        expected = _body(
            (tmp_path / "rs/.rulesync/subagents" / f"{spec.id}.md").read_text(encoding="utf-8")
        )
        assert _body(outputs[f"claude-code/agents/{spec.id}.md"]) == expected
        skill = tmp_path / "rs/.rulesync/skills" / spec.id / "SKILL.md"
        assert _body(skill.read_text(encoding="utf-8")) == expected
        lines.append(expected.count("\n"))
    assert 100 <= sum(lines) / len(lines) <= 200  # about 150 lines an agent


def test_changing_the_core_fragment_changes_every_body(generate: ModuleType) -> None:
    spec = generate.agent_specs(1)[0]
    before = generate.expand_body(spec, generate.fragment_sources(0))
    after = generate.expand_body(spec, generate.fragment_sources(1))
    assert before != after
    assert generate.fragment_sources(0)["git.md"] == generate.fragment_sources(1)["git.md"]


def test_one_target_writes_only_claude_code_sources(generate: ModuleType, tmp_path: Path) -> None:
    specs = generate.agent_specs(2)
    generate.write_rulesync(tmp_path, specs, generate.RULESYNC_TARGETS[:1])
    assert not (tmp_path / ".rulesync/skills").exists()
    assert '"claudecode"' in (tmp_path / "rulesync.jsonc").read_text(encoding="utf-8")
