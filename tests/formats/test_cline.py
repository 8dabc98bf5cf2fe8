"""cline: Cline agents and skills (.cline/), workflows and rules (.clinerules/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptbundle.build.pipeline import build_outputs, load, read_config
from promptbundle.core.model import OutputFile, TargetConfig
from promptbundle.formats.cline import ClineFormat
from promptbundle.formats.registry import FORMATS, KNOWN_FORMATS, detect_format
from tests.support import BASIC_CONFIG, BundleFactory

CONFIG = BASIC_CONFIG + 'targets = ["cline"]\n'
AGENT = """\
---
name: reviewer
description: Reviews "code" diffs
model: sonnet
tools: [Read, Grep, Edit, MultiEdit, Bash, TodoWrite]
cline:
  maxIterations: 20
  color: red
---
# Reviewer

Review the diff.
"""
COMMAND = "---\ndescription: Commit staged changes\n---\nWrite a commit message.\n"
SKILL = "---\nname: lint\ndescription: Lint the code\n---\nRun `lint.sh`.\n"
RULE = "---\ncline:\n  paths: ['src/**/*.py']\n---\nUse type hints.\n"
FILES = {
    "promptbundle.toml": CONFIG,
    "agents/reviewer.md": AGENT,
    "agents/review/security.md": "---\ndescription: Security review\n---\nCheck secrets.\n",
    "commands/commit.md": COMMAND,
    "skills/lint/SKILL.md": SKILL,
    "skills/lint/lint.sh": "echo lint\n",
    "rules/python.md": RULE,
}


def _fmt(root: Path) -> ClineFormat:
    return ClineFormat(TargetConfig(name="cline", format="cline"), read_config(root))


def _output(path: str, text: str, kind: str) -> OutputFile:
    return OutputFile(path, text.encode(), "cline", "x", (), kind=kind)


def test_the_format_is_registered_and_not_a_default_target() -> None:
    assert FORMATS["cline"] is ClineFormat
    assert ClineFormat.kinds == frozenset({"agent", "command", "skill", "rule"})
    assert ClineFormat.install_prefix == ".cline"
    assert "cline" not in KNOWN_FORMATS.defaults


def test_a_bundle_builds_to_the_files_cline_reads(make_bundle: BundleFactory) -> None:
    result = build_outputs(load(make_bundle(FILES)))
    assert result.diagnostics == []
    built = {o.path: o.content for o in result.outputs if o.target == "cline"}
    assert built == {
        "cline/@project/.clinerules/python.md": (
            b"---\npaths:\n  - src/**/*.py\n---\nUse type hints.\n"
        ),
        "cline/@project/.clinerules/workflows/commit.md": b"Write a commit message.\n",
        "cline/agents/review_security.yaml": (
            b"---\nname: review_security\ndescription: Security review\n---\nCheck secrets.\n"
        ),
        "cline/agents/reviewer.yaml": (
            b'---\nname: reviewer\ndescription: Reviews "code" diffs\ntools:\n'
            b"  - read_file\n  - search_files\n  - replace_in_file\n  - execute_command\n"
            b"modelId: claude-sonnet-4-5\nmaxIterations: 20\n---\n# Reviewer\n\n"
            b"Review the diff.\n"
        ),
        "cline/skills/lint/SKILL.md": SKILL.encode(),
        "cline/skills/lint/lint.sh": b"echo lint\n",
    }
    assert [(x.agent, x.target, x.field, x.reason) for x in result.lossy] == [
        ("command:commit", "cline", "description", "cline has no such field"),
        ("reviewer", "cline", "color", "cline has no such field"),
        ("reviewer", "cline", "tools.TodoWrite", "no Cline equivalent"),
    ]


def test_a_target_maps_model_tiers_and_tools_its_own_way(make_bundle: BundleFactory) -> None:
    root = make_bundle(
        {
            "promptbundle.toml": CONFIG,
            "agents/reviewer.md": AGENT,
            "targets/cline.toml": (
                '[models]\nsonnet = "gpt-5"\n[tools]\nTodoWrite = "focus_chain"\n'
            ),
        }
    )
    result = build_outputs(load(root))
    [agent] = [o for o in result.outputs if o.path == "cline/agents/reviewer.yaml"]
    assert b"modelId: gpt-5\n" in agent.content
    assert b"  - execute_command\n  - focus_chain\nmodelId:" in agent.content
    assert [x.field for x in result.lossy] == ["color"]


@pytest.mark.parametrize(
    ("line", "code", "severity"),
    [
        ("tools: read_file", "PB102", "error"),
        ("maxIterations: 0", "PB108", "error"),
        ("skills: [1]", "PB102", "error"),
        ("color: red", "PB103", "warning"),
        ("description: ' '", "PB106", "error"),
    ],
)
def test_broken_agent_fields_get_their_schema_codes(
    make_bundle: BundleFactory, line: str, code: str, severity: str
) -> None:
    fmt = _fmt(make_bundle({"promptbundle.toml": CONFIG}))
    key = line.split(":", 1)[0]
    fields = {"name": "name: x", "description": "description: d", key: line}
    text = "---\n" + "\n".join(fields.values()) + "\n---\nBody\n"
    found = fmt.validate(_output("cline/agents/x.yaml", text, "agent"))
    assert [(d.code, d.severity) for d in found] == [(code, severity)]


def test_an_agent_needs_a_name_a_description_and_a_body(make_bundle: BundleFactory) -> None:
    fmt = _fmt(make_bundle({"promptbundle.toml": CONFIG}))
    found = fmt.validate(_output("cline/agents/x.yaml", "---\ndescription: d\n---\n\n", "agent"))
    assert [(d.code, d.severity, d.location.line) for d in found] == [
        ("PB101", "error", 2),
        ("PB106", "error", 1),
    ]


def test_rules_and_workflows_are_checked(make_bundle: BundleFactory) -> None:
    fmt = _fmt(make_bundle({"promptbundle.toml": CONFIG}))
    rule = "---\npaths: 3\n---\nBody\n"
    found = fmt.validate(_output("cline/@project/.clinerules/x.md", rule, "rule"))
    assert [(d.code, d.severity, d.location.line) for d in found] == [("PB104", "error", 2)]
    workflow = "---\ndescription: d\n---\nBody\n"
    path = "cline/@project/.clinerules/workflows/x.md"
    found = fmt.validate(_output(path, workflow, "command"))
    assert [(d.code, d.severity) for d in found] == [("PB103", "warning")]
    assert fmt.validate(_output(path, "Just Markdown.\n", "command")) == []


def test_a_skill_without_a_description_is_an_error(make_bundle: BundleFactory) -> None:
    fmt = _fmt(make_bundle({"promptbundle.toml": CONFIG}))
    found = fmt.validate(_output("cline/skills/x/SKILL.md", "---\nname: x\n---\nB\n", "skill"))
    assert [(d.code, d.severity) for d in found] == [("PB101", "error")]


def test_import_detects_a_cline_agent_by_its_folder() -> None:
    text = "---\nname: x\ndescription: d\n---\nBody\n"
    assert detect_format(Path(".cline/agents/x.md"), text) == "cline"
    assert detect_format(Path(".claude/agents/x.md"), text) == "claude-code"


def test_import_claims_the_yaml_agent_files_cline_loads() -> None:
    text = "---\nname: x\ndescription: d\n---\nBody\n"
    assert detect_format(Path("p/.cline/agents/x.yaml"), text) == "cline"
    assert detect_format(Path(".cline/agents/x.yml"), text) == "cline"
    assert ClineFormat.project_file(".cline/agents/x.yaml") == ("agent", "x")
    assert ClineFormat.claims_name(Path("dist/cline/agents/x.yaml"))
    assert not ClineFormat.claims_name(Path("agents/x.json"))
    assert not ClineFormat.claims_name(Path(".cline/skills/x.yaml"))
