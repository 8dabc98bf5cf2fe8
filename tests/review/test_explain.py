"""explain: the sources of an output, and every output a source reaches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from promptbundle.cli import main
from promptbundle.review.explain import explain
from tests.support import BundleFactory

CONFIG = 'name = "demo"\nversion = "1.0.0"\ntargets = ["claude-code", "opencode"]\n'
FILES = {
    "promptbundle.toml": CONFIG,
    "targets/opencode.toml": '[models]\nsonnet = "my/sonnet"\n',
    "fragments/testing.md": "Run pytest.\n",
    "fragments/git.md": "Small commits.\n",
    "fragments/unused.md": "Nobody includes this.\n",
    "agents/alpha.md": '---\nname: alpha\ndescription: A\n---\n{{ fragment("testing") }}\n',
    "agents/beta.md": (
        '---\nname: beta\ndescription: B\n---\n{{ fragment("testing") }}\n{{ fragment("git") }}\n'
    ),
}


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def root(make_bundle: BundleFactory) -> Path:
    return make_bundle(FILES)


def test_output_lists_agent_fragments_and_target_config(root: Path) -> None:
    code, out, _ = cli("explain", "--root", str(root), "opencode/agent/beta.md")
    assert code == 0
    assert out == (
        "opencode/agent/beta.md\n"
        "  target: opencode\n"
        "  prompt: beta\n"
        "  sources:\n"
        "    agent          agents/beta.md\n"
        "    fragment       fragments/git.md\n"
        "    fragment       fragments/testing.md\n"
        "    target config  targets/opencode.toml\n"
        "    bundle config  promptbundle.toml\n"
    )


def test_output_of_a_target_without_config_file_says_so(root: Path) -> None:
    item = explain(root, "claude-code/agents/alpha.md")
    assert item.sources == (
        ("agent", "agents/alpha.md"),
        ("fragment", "fragments/testing.md"),
        ("bundle config", "promptbundle.toml"),
    )
    code, out, _ = cli("explain", "--root", str(root), "claude-code/agents/alpha.md")
    assert code == 0
    assert out == (
        "claude-code/agents/alpha.md\n"
        "  target: claude-code\n"
        "  prompt: alpha\n"
        "  sources:\n"
        "    agent          agents/alpha.md\n"
        "    fragment       fragments/testing.md\n"
        "    bundle config  promptbundle.toml\n"
        "  target config: none (built-in defaults of claude-code)\n"
    )


def test_output_path_may_carry_the_dist_prefix_or_be_a_file_in_dist(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert explain(root, "dist/claude-code/agents/alpha.md").path == "claude-code/agents/alpha.md"
    monkeypatch.chdir(root)
    absolute = str(root / "dist" / "opencode" / "agent" / "alpha.md")
    assert explain(root, absolute).path == "opencode/agent/alpha.md"


def test_fragment_lists_every_output_it_reaches(root: Path) -> None:
    code, out, _ = cli("explain", "--root", str(root), "fragments/git.md")
    assert code == 0
    assert out == (
        "fragments/git.md reaches 3 outputs in 1 prompt across 3 targets\n"
        "  catalog (1)\n"
        "    README.md\n"
        "  claude-code (1)\n"
        "    claude-code/agents/beta.md\n"
        "  opencode (1)\n"
        "    opencode/agent/beta.md\n"
    )


def test_source_may_be_named_by_fragment_name_or_relative_to_the_working_folder(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert explain(root, "testing").path == "fragments/testing.md"
    monkeypatch.chdir(root / "agents")
    item = explain(root, "alpha.md")
    assert item.kind == "source" and item.path == "agents/alpha.md"
    assert {o.path for o in item.outputs} == {
        "README.md",
        "claude-code/agents/alpha.md",
        "opencode/agent/alpha.md",
    }


def test_target_config_reaches_only_its_targets_outputs(root: Path) -> None:
    item = explain(root, "targets/opencode.toml")
    assert {o.path for o in item.outputs} == {"opencode/agent/alpha.md", "opencode/agent/beta.md"}


def test_unused_fragment_reaches_no_output(root: Path) -> None:
    code, out, _ = cli("explain", "--root", str(root), "fragments/unused.md")
    assert code == 0
    assert out == "fragments/unused.md reaches no output (no agent of this bundle loads it)\n"


def test_unknown_path_is_a_usage_error(root: Path) -> None:
    code, out, err = cli("explain", "--root", str(root), "claude-code/agents/zeta.md")
    assert code == 2 and out == ""
    assert err == (
        "error: 'claude-code/agents/zeta.md' is neither an output of this bundle"
        " (a path in dist/) nor one of its source files\n"
    )


def test_a_bundle_that_does_not_build_reports_the_location(make_bundle: BundleFactory) -> None:
    root = make_bundle({"agents/one.md": "---\nname: one\ndescription: x\n---\n{{ nope }}\n"})
    code, _, err = cli("explain", "--root", str(root), "fragments/x.md")
    assert code == 1
    assert err == f"{root / 'agents/one.md'}:5:1: error: 'nope' is undefined [PB003]\n"


def test_json_output_for_both_directions(root: Path) -> None:
    _, out, _ = cli("explain", "--root", str(root), "--json", "opencode/agent/alpha.md")
    data = json.loads(out)
    assert data["kind"] == "output" and data["target_config"] == "targets/opencode.toml"
    assert (data["path"], data["target"], data["prompt"]) == (
        "opencode/agent/alpha.md",
        "opencode",
        "alpha",
    )
    assert data["sources"] == [
        {"role": "agent", "path": "agents/alpha.md"},
        {"role": "fragment", "path": "fragments/testing.md"},
        {"role": "target config", "path": "targets/opencode.toml"},
        {"role": "bundle config", "path": "promptbundle.toml"},
    ]
    _, out, _ = cli("explain", "--root", str(root), "--json", "fragments/testing.md")
    data = json.loads(out)
    assert data["kind"] == "source" and data["path"] == "fragments/testing.md"
    assert data["outputs"] == [
        {"path": "README.md", "target": "catalog", "prompt": None},
        {"path": "claude-code/agents/alpha.md", "target": "claude-code", "prompt": "alpha"},
        {"path": "claude-code/agents/beta.md", "target": "claude-code", "prompt": "beta"},
        {"path": "opencode/agent/alpha.md", "target": "opencode", "prompt": "alpha"},
        {"path": "opencode/agent/beta.md", "target": "opencode", "prompt": "beta"},
    ]


@pytest.mark.parametrize("outside", ["/etc/passwd", "../outside.md", "agents/../../outside.md"])
def test_path_outside_the_bundle_is_a_usage_error(root: Path, outside: str) -> None:
    (root.parent / "outside.md").write_text("not a source\n", encoding="utf-8")
    code, out, err = cli("explain", "--root", str(root), outside)
    assert code == 2 and out == ""
    assert err == (
        f"error: {outside!r} is outside the bundle ({root}): give an output (a path in dist/)"
        " or a source file inside the bundle\n"
    )


def test_absolute_path_of_a_source_inside_the_bundle_is_explained(root: Path) -> None:
    item = explain(root, str(root / "fragments" / "git.md"))
    assert item.kind == "source" and item.path == "fragments/git.md"
    assert item.outputs == explain(root, "fragments/git.md").outputs
    assert {o.path for o in item.outputs} == {
        "README.md",
        "claude-code/agents/beta.md",
        "opencode/agent/beta.md",
    }


def test_source_path_that_does_not_exist_is_a_usage_error(root: Path) -> None:
    code, out, err = cli("explain", "--root", str(root), "fragments/missing.md")
    assert code == 2 and out == ""
    assert err == (
        "error: 'fragments/missing.md' is neither an output of this bundle"
        " (a path in dist/) nor one of its source files\n"
    )
