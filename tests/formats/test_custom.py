"""Custom targets: a target file's own templates write the files of a tool without a format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from promptbundle.build.pipeline import build_outputs, load
from promptbundle.cli import main
from promptbundle.commands.install import run_install
from promptbundle.core.errors import PromptBundleError
from promptbundle.formats.custom import CustomFormat
from promptbundle.formats.registry import FORMATS, KNOWN_FORMATS
from tests.support import BundleFactory

CONFIG = 'name = "demo"\nversion = "1.2.3"\ntargets = ["notes"]\n\n[vars]\nteam = "core"\n'
TARGET = """\
format = "custom"
accept = ["model"]

[tools]
Bash = "shell"

[kinds.agent]
template = "agent.md.j2"
path = "notes/{{ prompt.id }}.md"
fields = { name = "title", description = "summary", tools = "allowed" }
schema = "agent.schema.json"

[kinds.command]
template = "command.json.j2"
path = "commands/{{ prompt.id | replace('/', '-') }}.json"
fields = { description = "summary" }
schema = "command.schema.json"
"""
AGENT_TEMPLATE = """\
{{ frontmatter }}<!-- {{ target.name }} ({{ target.format }}) for {{ bundle.name }} \
{{ bundle.version }}, team {{ team }} -->
{{ body }}
"""
COMMAND_TEMPLATE = "{{ dict(fields, prompt=body) | to_json }}\n"
AGENT_SCHEMA = {
    "type": "object",
    "required": ["title", "summary"],
    "properties": {
        "title": {"type": "string"},
        "summary": {"type": "string", "maxLength": 20},
        "allowed": {"type": "array"},
        "colour": {"enum": ["red", "blue"]},
    },
    "additionalProperties": False,
}
COMMAND_SCHEMA = {"type": "object", "required": ["summary", "prompt"]}
AGENT = """\
---
name: helper
description: Helps out
model: sonnet
tools: [Read, Bash]
notes:
  colour: red
---
Be helpful, {{ prompt.name }}.
"""


def _files(**changes: str | bytes) -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {
        "promptbundle.toml": CONFIG,
        "targets/notes.toml": TARGET,
        "targets/notes/agent.md.j2": AGENT_TEMPLATE,
        "targets/notes/command.json.j2": COMMAND_TEMPLATE,
        "targets/notes/agent.schema.json": json.dumps(AGENT_SCHEMA),
        "targets/notes/command.schema.json": json.dumps(COMMAND_SCHEMA),
        "agents/helper.md": AGENT,
        "commands/git/commit.md": "---\ndescription: Commit\n---\nCommit $ARGUMENTS.\n",
        "rules/style.md": "Use tabs.\n",
    }
    files.update({path.replace(":", "/"): text for path, text in changes.items()})
    return files


def _error(root: Path) -> list[str]:
    with pytest.raises(PromptBundleError) as info:
        build_outputs(load(root))
    return info.value.lines()


def test_custom_resolves_through_the_registry_but_is_no_built_in() -> None:
    assert FORMATS["custom"] is CustomFormat
    assert FORMATS.get("custom") is CustomFormat
    assert "custom" not in list(FORMATS)
    assert "custom" in KNOWN_FORMATS.names
    assert "custom" not in KNOWN_FORMATS.defaults


def test_the_templates_write_each_kind_the_target_names(make_bundle: BundleFactory) -> None:
    result = build_outputs(load(make_bundle(_files())))
    built = {o.path: o for o in result.outputs if o.target == "notes"}
    assert sorted(built) == ["notes/commands/git-commit.json", "notes/notes/helper.md"]
    assert built["notes/notes/helper.md"].content.decode() == (
        "---\n"
        "title: helper\n"
        "summary: Helps out\n"
        "allowed:\n"
        "  - Read\n"
        "  - shell\n"
        "colour: red\n"
        "---\n"
        "<!-- notes (custom) for demo 1.2.3, team core -->\n"
        "Be helpful, helper.\n"
    )
    assert json.loads(built["notes/commands/git-commit.json"].content) == {
        "summary": "Commit",
        "prompt": "Commit $ARGUMENTS.\n",
    }
    assert built["notes/notes/helper.md"].sources == (
        "agents/helper.md",
        "promptbundle.toml",
        "targets/notes.toml",
        "targets/notes/agent.md.j2",
        "targets/notes/agent.schema.json",
    )
    # The rule has no kind here; the model has no key in the field map (and is accepted).
    assert [(x.agent, x.field) for x in result.accepted] == [("helper", "model")]
    assert result.lossy == []
    assert result.diagnostics == []


def test_the_build_is_deterministic(make_bundle: BundleFactory) -> None:
    root = make_bundle(_files())
    first = [(o.path, o.content) for o in build_outputs(load(root)).outputs]
    assert first == [(o.path, o.content) for o in build_outputs(load(root)).outputs]


def test_a_schema_failure_is_located_at_the_prompt_source(make_bundle: BundleFactory) -> None:
    agent = AGENT.replace("Helps out", "Helps out with far too many things").replace(
        "colour: red", "colour: green"
    )
    result = build_outputs(load(make_bundle(_files(**{"agents:helper.md": agent}))))
    found = [(d.code, str(d.location), d.message) for d in result.diagnostics]
    assert found == [
        (
            "PB107",
            "agents/helper.md:3:1",
            "'summary' is 34 characters, more than 20 (in dist/notes/notes/helper.md)",
        ),
        (
            "PB104",
            "agents/helper.md:7:1",
            "'colour' must be one of red, blue; got 'green' (in dist/notes/notes/helper.md)",
        ),
    ]


def test_a_json_output_is_checked_against_its_schema(make_bundle: BundleFactory) -> None:
    root = make_bundle(_files(**{"targets:notes:command.json.j2": "{{ fields | to_json }}\n"}))
    [found] = build_outputs(load(root)).diagnostics
    assert (found.code, str(found.location)) == ("PB101", "commands/git/commit.md:1:1")
    assert found.message == "'prompt' is required (in dist/notes/commands/git-commit.json)"


def test_an_output_that_cannot_be_read_back_is_an_error(make_bundle: BundleFactory) -> None:
    root = make_bundle(_files(**{"targets:notes:command.json.j2": "{{ body }}"}))
    [found] = build_outputs(load(root)).diagnostics
    assert found.code == "PB100"
    assert found.message.startswith("invalid JSON")


def test_a_template_syntax_error_is_at_the_template_line(make_bundle: BundleFactory) -> None:
    template = "{{ frontmatter }}\n{{ body }}\n{% if %}\n"
    root = make_bundle(_files(**{"targets:notes:agent.md.j2": template}))
    assert _error(root) == [
        f"{root / 'targets/notes/agent.md.j2'}:3:1: error: template syntax error: "
        "Expected an expression, got 'end of statement block' [PB002]"
    ]


def test_a_template_render_error_is_at_the_template_line(make_bundle: BundleFactory) -> None:
    template = "{{ frontmatter }}\n{{ body }}\n{{ prompt.colour }}\n"
    root = make_bundle(_files(**{"targets:notes:agent.md.j2": template}))
    assert _error(root) == [
        f"{root / 'targets/notes/agent.md.j2'}:3:1: error: 'dict object' has no attribute "
        "'colour' (while writing agents/helper.md for target notes) [PB003]"
    ]


def test_the_render_limits_apply_to_custom_templates(make_bundle: BundleFactory) -> None:
    template = "{{ body }}\n{% for i in range(5) %}{{ body * 1000000 }}{% endfor %}\n"
    root = make_bundle(_files(**{"targets:notes:agent.md.j2": template}))
    [line] = _error(root)
    assert line.startswith(f"{root / 'targets/notes/agent.md.j2'}:2:1: error: render limit")
    assert line.endswith("(while writing agents/helper.md for target notes) [PB004]")


def test_the_sandbox_applies_to_custom_templates(make_bundle: BundleFactory) -> None:
    template = "{{ body.__class__.__mro__ }}\n"
    root = make_bundle(_files(**{"targets:notes:agent.md.j2": template}))
    [line] = _error(root)
    assert line == (
        f"{root / 'targets/notes/agent.md.j2'}:1:1: error: unsafe template: access to "
        "attribute '__class__' of 'str' object is unsafe. (while writing agents/helper.md "
        "for target notes) [PB003]"
    )


@pytest.mark.parametrize(
    ("pattern", "message", "code"),
    [
        (
            "../{{ prompt.id }}.md",
            "output path '../helper.md' must not have empty, '.' or '..' parts",
            "PB001",
        ),
        ("/{{ prompt.id }}.md", "output path '/helper.md' must be a relative path", "PB001"),
        ("{{ prompt.colour }}", "'dict object' has no attribute 'colour'", "PB003"),
        (
            "@project",
            "output path '@project' names the folder @project, not a file in it",
            "PB001",
        ),
    ],
)
def test_a_bad_output_path_is_an_error_at_the_path_pattern(
    make_bundle: BundleFactory, pattern: str, message: str, code: str
) -> None:
    target = TARGET.replace('path = "notes/{{ prompt.id }}.md"', f'path = "{pattern}"')
    root = make_bundle(_files(**{"targets:notes.toml": target}))
    [line] = _error(root)
    assert line.startswith(f"{root / 'targets/notes.toml'}:9:1: error: {message}")
    assert line.endswith(f"(the output path of agents/helper.md) [{code}]")


def test_two_prompts_at_one_path_are_an_error(make_bundle: BundleFactory) -> None:
    target = TARGET.replace("{{ prompt.id | replace('/', '-') }}", "all")
    files = _files(**{"targets:notes.toml": target, "commands:push.md": "Push.\n"})
    [line] = _error(make_bundle(files))
    assert "two outputs write notes/commands/all.json" in line


def test_a_block_for_the_target_sets_or_removes_keys(make_bundle: BundleFactory) -> None:
    agent = AGENT.replace("  colour: red", "  title: null\n  colour: blue")
    schema = {**AGENT_SCHEMA, "required": ["summary"]}
    root = make_bundle(
        _files(**{"agents:helper.md": agent, "targets:notes:agent.schema.json": json.dumps(schema)})
    )
    [output] = [o for o in build_outputs(load(root)).outputs if o.path == "notes/notes/helper.md"]
    assert output.content.decode().startswith("---\nsummary: Helps out\nallowed:")
    assert "colour: blue\n" in output.content.decode()


def test_a_canonical_field_without_a_key_is_lossy(make_bundle: BundleFactory) -> None:
    target = TARGET.replace('accept = ["model"]\n', "")
    result = build_outputs(load(make_bundle(_files(**{"targets:notes.toml": target}))))
    assert [(x.agent, x.field, x.reason) for x in result.lossy] == [
        ("helper", "model", "the field map of notes (agent) has no key for it")
    ]


def test_install_puts_each_file_at_its_path_in_the_project(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    report = run_install(make_bundle(_files()), targets=["notes"], into=tmp_path / "p")
    assert report.lines == ["add: commands/git-commit.json", "add: notes/helper.md"]


def test_the_cli_reports_a_template_error_and_writes_nothing(make_bundle: BundleFactory) -> None:
    root = make_bundle(_files(**{"targets:notes:agent.md.j2": "{{ body }\n"}))
    result = CliRunner().invoke(main, ["build", "--root", str(root)])
    assert result.exit_code == 1
    assert "agent.md.j2:1:1: error: template syntax error" in result.output
    assert "Traceback" not in result.output
    assert not (root / "dist").exists()


def test_import_does_not_take_custom_as_a_format(tmp_path: Path) -> None:
    source = tmp_path / "x.md"
    source.write_text("---\nname: x\ndescription: d\n---\nBody\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["import", "--format", "custom", str(source)])
    assert result.exit_code == 2
    assert "unknown format 'custom'" in result.output


def test_a_skill_keeps_its_resources_beside_its_file(make_bundle: BundleFactory) -> None:
    target = (
        'format = "custom"\n[kinds.skill]\npath = "skills/{{ prompt.id }}/INDEX.md"\n'
        'fields = { name = "name", description = "description" }\n'
    )
    files = {
        "promptbundle.toml": CONFIG,
        "targets/notes.toml": target,
        "targets/notes/skill.j2": "{{ frontmatter }}{{ body }}",
        "skills/lint/SKILL.md": "---\nname: lint\ndescription: Lint it\n---\nRun ruff.\n",
        "skills/lint/scripts/run.sh": "ruff check .\n",
        "agents/helper.md": AGENT,
    }
    built = {o.path: o.content for o in build_outputs(load(make_bundle(files))).outputs}
    assert built["notes/skills/lint/INDEX.md"] == (
        b"---\nname: lint\ndescription: Lint it\n---\nRun ruff.\n"
    )
    assert built["notes/skills/lint/scripts/run.sh"] == b"ruff check .\n"
    assert not [path for path in built if path.startswith("notes/notes/")]


def test_convert_is_refused_for_a_custom_target(make_bundle: BundleFactory) -> None:
    target = TARGET.replace('accept = ["model"]\n', 'convert = ["rule"]\n')
    root = make_bundle(_files(**{"targets:notes.toml": target}))
    with pytest.raises(PromptBundleError) as info:
        load(root)
    assert info.value.lines() == [
        f"{root / 'targets/notes.toml'}:2:1: error: 'convert' must list kinds custom can "
        "convert into its own (none), got ['rule'] [PB001]"
    ]


def test_without_fields_the_frontmatter_is_empty(make_bundle: BundleFactory) -> None:
    target = TARGET + '\n[kinds.rule]\npath = "{{ prompt.id }}.txt"\n'
    files = _files(**{"targets:notes.toml": target, "targets:notes:rule.j2": "[{{ frontmatter }}]"})
    built = {o.path: o.content for o in build_outputs(load(make_bundle(files))).outputs}
    assert built["notes/style.txt"] == b"[]"


def test_to_yaml_of_a_value_that_is_no_mapping_is_located(make_bundle: BundleFactory) -> None:
    root = make_bundle(_files(**{"targets:notes:agent.md.j2": "{{ body }}\n{{ body | to_yaml }}"}))
    assert _error(root) == [
        f"{root / 'targets/notes/agent.md.j2'}:2:1: error: to_yaml needs a mapping, got str"
        " (while writing agents/helper.md for target notes) [PB003]"
    ]
