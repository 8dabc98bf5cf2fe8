"""gemini: Gemini CLI agents, TOML commands, skills and GEMINI.md; the TOML layout."""

from __future__ import annotations

import random
import tomllib
from pathlib import Path

import pytest

from promptbundle.build.pipeline import build_outputs, load, read_config
from promptbundle.core.model import OutputFile, TargetConfig
from promptbundle.formats.gemini import GeminiFormat
from promptbundle.formats.layouts import TomlLayout, Unparsable
from promptbundle.formats.registry import FORMATS, KNOWN_FORMATS, detect_format
from tests.support import BASIC_CONFIG, BundleFactory

CONFIG = BASIC_CONFIG + 'targets = ["gemini"]\n'
AGENT = """\
---
name: reviewer
description: Reviews "code" diffs
model: sonnet
tools: [Read, Grep, Edit, MultiEdit, TodoWrite]
gemini:
  temperature: 0.2
  color: red
---
# Reviewer

Review the diff.
"""
COMMAND = """\
---
description: Commit staged changes
---
Write a "commit" message \\ for the staged changes.
"""
SKILL = "---\nname: lint\ndescription: Lint the code\n---\nRun `lint.sh`.\n"
FILES = {
    "promptbundle.toml": CONFIG,
    "agents/reviewer.md": AGENT,
    "agents/review/security.md": "---\ndescription: Security review\n---\nCheck secrets.\n",
    "commands/git/commit.md": COMMAND,
    "skills/lint/SKILL.md": SKILL,
    "skills/lint/lint.sh": "echo lint\n",
    "rules/GEMINI.md": "Use type hints.\n",
    "rules/python.md": "Only for Claude.\n",
}


def _fmt(root: Path) -> GeminiFormat:
    return GeminiFormat(TargetConfig(name="gemini", format="gemini"), read_config(root))


def _output(path: str, text: str, kind: str) -> OutputFile:
    return OutputFile(path, text.encode(), "gemini", "x", (), kind=kind)


def test_the_format_is_registered_and_not_a_default_target() -> None:
    assert FORMATS["gemini"] is GeminiFormat
    assert GeminiFormat.kinds == frozenset({"agent", "command", "skill", "rule"})
    assert GeminiFormat.install_prefix == ".gemini"
    assert "gemini" not in KNOWN_FORMATS.defaults


def test_a_bundle_builds_to_the_files_gemini_reads(make_bundle: BundleFactory) -> None:
    result = build_outputs(load(make_bundle(FILES)))
    assert result.diagnostics == []
    built = {o.path: o.content for o in result.outputs if o.target == "gemini"}
    assert built == {
        "gemini/@project/GEMINI.md": b"Use type hints.\n",
        "gemini/agents/review_security.md": (
            b"---\nname: review_security\ndescription: Security review\n---\nCheck secrets.\n"
        ),
        "gemini/agents/reviewer.md": (
            b'---\nname: reviewer\ndescription: Reviews "code" diffs\ntools:\n'
            b"  - read_file\n  - search_file_content\n  - replace\n"
            b"model: gemini-2.5-pro\ntemperature: 0.2\n---\n# Reviewer\n\nReview the diff.\n"
        ),
        "gemini/commands/git/commit.toml": (
            b'description = "Commit staged changes"\n'
            b'prompt = """\nWrite a "commit" message \\\\ for the staged changes.\n"""\n'
        ),
        "gemini/skills/lint/SKILL.md": SKILL.encode(),
        "gemini/skills/lint/lint.sh": b"echo lint\n",
    }
    assert [(x.agent, x.target, x.field, x.reason) for x in result.lossy] == [
        ("reviewer", "gemini", "color", "gemini has no such field"),
        ("reviewer", "gemini", "tools.TodoWrite", "no Gemini CLI equivalent"),
    ]
    command = tomllib.loads(built["gemini/commands/git/commit.toml"].decode())
    assert command == {
        "description": "Commit staged changes",
        "prompt": 'Write a "commit" message \\ for the staged changes.\n',
    }


def test_a_target_maps_model_tiers_and_tools_its_own_way(make_bundle: BundleFactory) -> None:
    root = make_bundle(
        {
            "promptbundle.toml": CONFIG,
            "agents/reviewer.md": AGENT,
            "targets/gemini.toml": (
                '[models]\nsonnet = "gemini-2.5-flash"\n[tools]\nTodoWrite = "write_todos"\n'
            ),
        }
    )
    result = build_outputs(load(root))
    [agent] = [o for o in result.outputs if o.path == "gemini/agents/reviewer.md"]
    assert b"model: gemini-2.5-flash\n" in agent.content
    assert b"  - replace\n  - write_todos\nmodel:" in agent.content
    assert [x.field for x in result.lossy] == ["color"]


def test_a_command_without_a_description_is_still_toml(make_bundle: BundleFactory) -> None:
    root = make_bundle({"promptbundle.toml": CONFIG, "commands/go.md": "Go.\n"})
    result = build_outputs(load(root))
    assert result.diagnostics == []
    [command] = [o for o in result.outputs if o.target == "gemini"]
    assert (command.path, command.content) == (
        "gemini/commands/go.toml",
        b'prompt = """\nGo.\n"""\n',
    )


def test_an_unknown_agent_field_is_an_error_as_gemini_rejects_it(
    make_bundle: BundleFactory,
) -> None:
    fmt = _fmt(make_bundle({"promptbundle.toml": CONFIG}))
    text = "---\nname: x\ndescription: d\ncolor: red\n---\nBody\n"
    found = fmt.validate(_output("gemini/agents/x.md", text, "agent"))
    assert [(d.code, d.severity, d.location.line) for d in found] == [("PB103", "error", 4)]


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("name: Bad.Name", "PB110"),
        ("tools: read_file, glob", "PB102"),
        ("model: gpt-4", "PB111"),
        ("kind: elsewhere", "PB104"),
        ("max_turns: 0", "PB108"),
    ],
)
def test_broken_agent_fields_get_their_schema_codes(
    make_bundle: BundleFactory, line: str, code: str
) -> None:
    fmt = _fmt(make_bundle({"promptbundle.toml": CONFIG}))
    key = line.split(":", 1)[0]
    fields = {"name": "name: x", key: line}
    text = "---\n" + "\n".join(fields.values()) + "\ndescription: d\n---\nBody\n"
    found = fmt.validate(_output("gemini/agents/x.md", text, "agent"))
    assert [(d.code, d.severity) for d in found] == [(code, "error")]


def test_a_command_file_is_checked_as_toml(make_bundle: BundleFactory) -> None:
    fmt = _fmt(make_bundle({"promptbundle.toml": CONFIG}))
    path = "gemini/commands/x.toml"
    found = fmt.validate(_output(path, 'description = "d"\n', "command"))
    assert [(d.code, d.severity, d.location.line) for d in found] == [("PB101", "error", 1)]
    found = fmt.validate(_output(path, 'description = 3\nprompt = "p"\n', "command"))
    assert [(d.code, d.location.line) for d in found] == [("PB102", 1)]
    found = fmt.validate(_output(path, 'prompt = "p"\nshell = "x"\n', "command"))
    assert [(d.code, d.severity, d.location.line) for d in found] == [("PB103", "warning", 2)]
    found = fmt.validate(_output(path, 'prompt = """\nunclosed\n', "command"))
    assert [(d.code, d.location.line) for d in found] == [("PB100", 2)]


def test_a_skill_without_a_description_is_an_error(make_bundle: BundleFactory) -> None:
    fmt = _fmt(make_bundle({"promptbundle.toml": CONFIG}))
    found = fmt.validate(_output("gemini/skills/x/SKILL.md", "---\nname: x\n---\nB\n", "skill"))
    assert [(d.code, d.severity) for d in found] == [("PB101", "error")]


def test_import_detects_a_gemini_agent_by_its_folder() -> None:
    text = "---\nname: x\ndescription: d\n---\nBody\n"
    assert detect_format(Path(".gemini/agents/x.md"), text) == "gemini"
    assert detect_format(Path(".claude/agents/x.md"), text) == "claude-code"


# -- the TOML layout ----------------------------------------------------------------------
STRINGS = [
    "",
    "plain",
    'say "hi"',
    "back\\slash\\",
    'ends with a quote"',
    'ends with two quotes""',
    'a """ triple and """" four and """""" six',
    '"""\nleading triple',
    'line\nends with quote"',
    "tab\there\nand newline\n",
    "\n\nleading blank lines\n",
    "carriage\r\nreturn\r\n",
    "control \x00\x01\x08\x0b\x0c\x1b\x1f\x7f chars\nand lines",
    "unicode: é, ✓, 𝄞, \u2028 line separator\nnext",
    "\\n is not a newline\n\\\n",
    "trailing backslash\\\n",
    "'''literal''' quotes\n",
]


@pytest.mark.parametrize("text", STRINGS)
def test_every_string_round_trips_through_the_toml_layout(text: str) -> None:
    layout = TomlLayout(body_key="prompt")
    fields = {"description": text, "name": text, "list": [text, 1, True], "map": {"k": text}}
    written = layout.write(fields, text)
    data = tomllib.loads(written)
    assert data == {**fields, "prompt": text}
    read, body, _ = layout.read(written)
    assert read == data and body == text
    assert layout.write(fields, text) == written  # deterministic


def test_the_toml_layout_writes_keys_in_order_tables_last() -> None:
    layout = TomlLayout(body_key="body")
    fields = {
        "b": "x",
        "tables": {"one": {"command": "npx", "args": ["-y"]}, "two": {"url": "u"}},
        "a": 1.5,
        "weird key": False,
        "empty": {},
        "body": "",
    }
    written = layout.write(fields, "Line one\nLine two\n")
    assert written == (
        'b = "x"\n'
        "a = 1.5\n"
        '"weird key" = false\n'
        "empty = {}\n"
        'body = """\nLine one\nLine two\n"""\n'
        "\n[tables.one]\n"
        'command = "npx"\n'
        'args = ["-y"]\n'
        "\n[tables.two]\n"
        'url = "u"\n'
    )
    assert tomllib.loads(written)["tables"] == fields["tables"]
    assert layout.header_length(written) is None
    assert layout.read(written)[2] == 6  # the line after `body = """`


def test_the_toml_layout_reports_where_a_file_does_not_parse() -> None:
    with pytest.raises(Unparsable) as info:
        TomlLayout(body_key="prompt").read('a = 1\nb = "x\n')
    assert info.value.line == 2 and info.value.message.startswith("invalid TOML: ")


def test_random_strings_of_tricky_characters_round_trip() -> None:
    layout = TomlLayout(body_key="prompt")
    alphabet = ['"', "\\", "'", "\n", "\r", "\t", "\x00", "\x7f", "é", "𝄞", "a", " ", "{", "#"]
    generator = random.Random(20240601)
    for _ in range(2000):
        text = "".join(generator.choice(alphabet) for _ in range(generator.randrange(12)))
        written = layout.write({"description": text}, text)
        assert tomllib.loads(written) == {"description": text, "prompt": text}, repr(text)


def test_import_reads_a_built_command_toml_back_byte_for_byte(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    from promptbundle.importing.check import check_import
    from promptbundle.importing.convert import convert_file

    built = {o.path: o.content for o in build_outputs(load(make_bundle(FILES))).outputs}
    path = tmp_path / ".gemini" / "commands" / "git" / "commit.toml"
    path.parent.mkdir(parents=True)
    path.write_bytes(built["gemini/commands/git/commit.toml"])
    assert detect_format(path, path.read_text()) == "gemini"
    command = convert_file(path, path.read_bytes())
    assert (command.format, command.kind, command.id) == ("gemini", "command", "commit")
    assert check_import([path]).summary == "exact 1/1 supported, 0 unsupported, 0 narrowed"
