"""kiro: JSON agents, steering, prompts and skills under .kiro/."""

from __future__ import annotations

import json
from pathlib import Path

from promptbundle.build.pipeline import build_outputs, load, read_config
from promptbundle.core.model import OutputFile, TargetConfig
from promptbundle.formats.kiro import KiroFormat
from promptbundle.formats.registry import FORMATS, KNOWN_FORMATS, detect_format
from promptbundle.importing.check import check_import
from promptbundle.importing.convert import convert_file
from tests.support import BASIC_CONFIG, BundleFactory

CONFIG = BASIC_CONFIG + 'targets = ["kiro"]\n'
AGENT = """\
---
name: reviewer
description: Reviews "code" diffs
model: sonnet
tools: [Read, Grep, Edit, TodoWrite]
kiro:
  welcomeMessage: Ready.
  colour: red
---
# Reviewer

Review the diff.
"""
FILES = {
    "promptbundle.toml": CONFIG,
    "agents/reviewer.md": AGENT,
    "agents/all.md": "---\nname: all\ndescription: Every tool\n---\nDo it all.\n",
    "commands/commit.md": "---\ndescription: Commit\n---\nWrite a commit message.\n",
    "skills/lint/SKILL.md": "---\nname: lint\ndescription: Lint the code\n---\nRun lint.\n",
    "skills/lint/lint.sh": "echo lint\n",
    "rules/python.md": "---\nkiro:\n  inclusion: fileMatch\n  fileMatchPattern: '**/*.py'\n"
    "---\nUse type hints.\n",
}


def _fmt(root: Path) -> KiroFormat:
    return KiroFormat(TargetConfig(name="kiro", format="kiro"), read_config(root))


def _built(root: Path) -> dict[str, bytes]:
    return {o.path: o.content for o in build_outputs(load(root)).outputs if o.target == "kiro"}


def test_the_format_is_registered_and_not_a_default_target() -> None:
    assert FORMATS["kiro"] is KiroFormat
    assert KiroFormat.kinds == frozenset({"agent", "command", "skill", "rule"})
    assert KiroFormat.install_prefix == ".kiro"
    assert "kiro" not in KNOWN_FORMATS.defaults


def test_every_kind_goes_where_kiro_reads_it(make_bundle: BundleFactory) -> None:
    built = _built(make_bundle(FILES))
    assert sorted(built) == [
        "kiro/agents/all.json",
        "kiro/agents/reviewer.json",
        "kiro/prompts/commit.md",
        "kiro/skills/lint/SKILL.md",
        "kiro/skills/lint/lint.sh",
        "kiro/steering/python.md",
    ]
    assert built["kiro/prompts/commit.md"] == b"Write a commit message.\n"
    assert built["kiro/steering/python.md"] == (
        b'---\ninclusion: fileMatch\nfileMatchPattern: "**/*.py"\n---\nUse type hints.\n'
    )


def test_an_agent_is_json_with_its_body_as_prompt_in_field_order(
    make_bundle: BundleFactory,
) -> None:
    built = _built(make_bundle(FILES))
    text = built["kiro/agents/reviewer.json"].decode()
    assert text == (
        "{\n"
        '  "name": "reviewer",\n'
        '  "description": "Reviews \\"code\\" diffs",\n'
        '  "prompt": "# Reviewer\\n\\nReview the diff.\\n",\n'
        '  "tools": [\n    "fs_read",\n    "grep",\n    "fs_write"\n  ],\n'
        '  "model": "claude-sonnet-4",\n'
        '  "welcomeMessage": "Ready."\n'
        "}\n"
    )
    # An agent that lists no tools gets every tool, as it would in Claude Code.
    assert json.loads(built["kiro/agents/all.json"])["tools"] == ["*"]


def test_unknown_fields_and_unmapped_tools_are_lossy(make_bundle: BundleFactory) -> None:
    result = build_outputs(load(make_bundle(FILES)))
    assert sorted((x.agent, x.field, x.reason) for x in result.lossy) == [
        ("command:commit", "description", "kiro has no such field"),
        ("reviewer", "colour", "kiro has no such field"),
        ("reviewer", "tools.TodoWrite", "no Kiro equivalent"),
    ]
    assert result.diagnostics == []


def test_the_same_sources_give_the_same_bytes(make_bundle: BundleFactory) -> None:
    root = make_bundle(FILES)
    assert _built(root) == _built(root)


def test_an_agent_without_a_prompt_or_with_a_bad_name_is_an_error(
    make_bundle: BundleFactory,
) -> None:
    fmt = _fmt(make_bundle({"promptbundle.toml": CONFIG}))
    data = {"name": "a b", "description": "d", "prompt": " ", "tools": "fs_read"}
    output = OutputFile(
        "kiro/agents/x.json", json.dumps(data, indent=2).encode(), "kiro", "x", (), kind="agent"
    )
    found = fmt.validate(output)
    assert sorted((d.code, d.location.line) for d in found) == [
        ("PB102", 5),
        ("PB106", 4),
        ("PB110", 2),
    ]


def test_broken_json_is_pb100(make_bundle: BundleFactory) -> None:
    fmt = _fmt(make_bundle({"promptbundle.toml": CONFIG}))
    output = OutputFile("kiro/agents/x.json", b'{\n  "name": \n}\n', "kiro", "x", (), kind="agent")
    [found] = fmt.validate(output)
    assert (found.code, found.location.line) == ("PB100", 3)


def test_steering_inclusion_needs_its_field(make_bundle: BundleFactory) -> None:
    root = make_bundle(
        {
            "promptbundle.toml": CONFIG,
            "rules/py.md": "---\nkiro:\n  inclusion: fileMatch\n---\nBody\n",
            "rules/auto.md": "---\nkiro:\n  inclusion: auto\n---\nBody\n",
            "rules/odd.md": "---\nkiro:\n  inclusion: sometimes\n---\nBody\n",
        }
    )
    result = build_outputs(load(root))
    assert sorted((d.code, d.location.path, d.location.line) for d in result.diagnostics) == [
        ("PB101", "rules/auto.md", 3),
        ("PB101", "rules/py.md", 3),
        ("PB104", "rules/odd.md", 3),
    ]
    messages = sorted(d.message for d in result.diagnostics if d.code == "PB101")
    assert messages[0].startswith("steering with 'inclusion: auto' needs 'description'")
    assert messages[1].startswith("steering with 'inclusion: fileMatch' needs 'fileMatchPattern'")


def test_import_reads_an_agent_json_back_byte_for_byte(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    built = _built(make_bundle(FILES))
    folder = tmp_path / "project" / ".kiro" / "agents"
    folder.mkdir(parents=True)
    path = folder / "reviewer.json"
    path.write_bytes(built["kiro/agents/reviewer.json"])
    assert detect_format(path, path.read_text()) == "kiro"
    agent = convert_file(path, path.read_bytes())
    assert (agent.format, agent.kind, agent.id) == ("kiro", "agent", "reviewer")
    assert "structured: true" in agent.text
    assert check_import([path]).summary == "exact 1/1 supported, 0 unsupported, 0 narrowed"


def test_import_of_an_agent_json_written_otherwise_says_where_it_differs(tmp_path: Path) -> None:
    path = tmp_path / ".kiro" / "agents" / "x.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"name": "x", "description": "d", "prompt": "Do x.\\n"}\n')
    report = check_import([path])
    [verdict] = report.files
    assert (verdict.status, verdict.reason) == (
        "unsupported",
        "laid out otherwise than promptbundle writes it: it would not be written back byte"
        " for byte (byte 1)",
    )


def test_import_of_broken_json_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / ".kiro" / "agents" / "x.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"name": "x", "prompt": 3}\n')
    [verdict] = check_import([path]).files
    assert (verdict.status, verdict.reason) == (
        "unsupported",
        "not a kiro file ('prompt' must be a string, line 1)",
    )


def test_a_nested_agent_is_written_flat_and_reads_back(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    files = {
        "promptbundle.toml": CONFIG,
        "agents/review/security.md": "---\nname: security\ndescription: d\n---\nCheck.\n",
    }
    built = _built(make_bundle(files))
    assert list(built) == ["kiro/agents/review_security.json"]
    data = built["kiro/agents/review_security.json"]
    assert json.loads(data)["name"] == "review_security"
    path = tmp_path / ".kiro" / "agents" / "review_security.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    agent = convert_file(path, data)
    # The id must be lowercase and hyphens; the name Kiro knows stays in the kiro block.
    assert agent.id == "review-security"
    assert "kiro:\n  name: review_security\n" in agent.text
    assert check_import([path]).summary == "exact 1/1 supported, 0 unsupported, 0 narrowed"
