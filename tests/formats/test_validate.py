"""Output validation: each format's schema and rules, run by build and by check."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from promptbundle.build.pipeline import build_outputs, load, read_config
from promptbundle.core.model import OutputFile, TargetConfig
from promptbundle.formats.registry import FORMATS
from promptbundle.formats.schema import evaluate, load_schema, schema_names

AGENT = """\
---
name: reviewer
description: Reviews code
model: sonnet
tools: [Read, Grep]
---
# Reviewer

Review the diff.
"""


def _codes(make_bundle, files):
    root = make_bundle(files)
    result = build_outputs(load(root))
    return {(d.code, d.severity) for d in result.diagnostics}, result


def _validate(make_bundle, fmt_name, path, text, agent="x", options=None, kind="agent"):
    root = make_bundle({"agents/x.md": AGENT.replace("reviewer", "x")})
    config = read_config(root)
    target = TargetConfig(name=fmt_name, format=fmt_name, options=options or {})
    fmt = FORMATS[fmt_name](target, config)
    output = OutputFile(path, text.encode(), fmt_name, agent, (), kind=kind)
    return [(d.code, d.severity, d.location.line) for d in fmt.validate(output)]


def test_a_clean_agent_gives_no_diagnostics_in_any_format(make_bundle):
    codes, result = _codes(make_bundle, {"agents/reviewer.md": AGENT})
    assert codes == set()
    # agent-skill and skill-table carry skills only: an agent reaches them only by `convert`.
    assert [o.path for o in result.outputs] == [
        "README.md",
        "claude-code/agents/reviewer.md",
        "claude-plugin/.claude-plugin/marketplace.json",
        "claude-plugin/plugins/demo/.claude-plugin/plugin.json",
        "claude-plugin/plugins/demo/agents/reviewer.md",
        "opencode/agent/reviewer.md",
    ]


def test_every_shipped_schema_is_valid_json_with_a_title():
    names = schema_names()
    assert names == [
        "agent-skill.skill",
        "agents-md.rule",
        "claude-code",
        "claude-code.command",
        "claude-code.rule",
        "claude-code.skill",
        "claude-plugin",
        "claude-plugin.command",
        "claude-plugin.marketplace",
        "claude-plugin.plugin",
        "claude-plugin.skill",
        "cline",
        "cline.command",
        "cline.rule",
        "cline.skill",
        "codex",
        "codex.rule",
        "codex.skill",
        "copilot",
        "copilot.command",
        "copilot.rule",
        "copilot.skill",
        "cursor",
        "cursor.command",
        "cursor.rule",
        "cursor.skill",
        "devin",
        "devin.rule",
        "devin.skill",
        "gemini",
        "gemini.command",
        "gemini.rule",
        "gemini.skill",
        "kiro",
        "kiro.command",
        "kiro.rule",
        "kiro.skill",
        "opencode",
        "opencode.command",
        "opencode.rule",
        "opencode.skill",
        "roo",
        "roo.command",
        "roo.roomodes",
        "roo.rule",
        "roo.skill",
        "skill-table.skill",
    ]
    for name in names:
        schema = load_schema(name)
        assert schema is not None and schema["title"]


def test_claude_code_name_with_capitals_is_an_error(make_bundle):
    found = _validate(
        make_bundle,
        "claude-code",
        "claude-code/agents/x.md",
        "---\nname: Bad_Name\ndescription: d\n---\nBody\n",
    )
    assert found == [("PB110", "error", 2)]


def test_missing_description_is_required_field_error(make_bundle):
    found = _validate(make_bundle, "claude-code", "claude-code/agents/x.md", "---\nname: x\n---\n")
    assert found == [("PB101", "error", 2)]


def test_unparsable_skill_frontmatter_is_reported_with_its_line(make_bundle):
    found = _validate(
        make_bundle,
        "agent-skill",
        "agent-skill/x/SKILL.md",
        "---\nname: x\ndescription: Use when: asked\n---\nBody\n",
        kind="skill",
    )
    assert found == [("PB100", "error", 3)]


def test_frontmatter_the_clients_read_tolerantly_is_not_an_error(make_bundle):
    found = _validate(
        make_bundle,
        "claude-code",
        "claude-code/agents/x.md",
        "---\nname: x\ndescription: Use when: asked\n---\nBody\n",
    )
    assert found == []


def test_file_without_frontmatter_is_reported(make_bundle):
    found = _validate(make_bundle, "opencode", "opencode/agent/x.md", "Body only\n")
    assert found == [("PB100", "error", 1)]


def test_opencode_mode_temperature_and_tools_are_checked(make_bundle):
    codes, _ = _codes(
        make_bundle,
        {
            "agents/reviewer.md": AGENT.replace(
                "tools: [Read, Grep]\n",
                "opencode: {mode: bogus, temperature: hot}\n",
            )
        },
    )
    assert codes == {("PB104", "error"), ("PB102", "error")}


def test_opencode_tools_must_be_a_map_of_booleans(make_bundle):
    found = _validate(
        make_bundle,
        "opencode",
        "opencode/agent/x.md",
        "---\ndescription: d\ntools:\n  read: yes please\n---\nBody\n",
    )
    assert found == [("PB102", "error", 3)]


def test_opencode_name_different_from_the_file_is_a_warning(make_bundle):
    found = _validate(
        make_bundle, "opencode", "opencode/agent/x.md", "---\nname: Other\ndescription: d\n---\n"
    )
    assert found == [("PB123", "warning", 2)]


def test_model_the_target_cannot_resolve_is_an_error(make_bundle):
    codes, result = _codes(make_bundle, {"agents/reviewer.md": AGENT.replace("sonnet", "gpt-4")})
    assert codes == {("PB111", "error")}
    assert [d.output for d in result.diagnostics] == [
        "claude-code/agents/reviewer.md",
        "claude-plugin/plugins/demo/agents/reviewer.md",
        "opencode/agent/reviewer.md",
    ]


def test_opencode_model_must_be_provider_slash_model(make_bundle):
    found = _validate(
        make_bundle, "opencode", "opencode/agent/x.md", "---\ndescription: d\nmodel: sonnet\n---\n"
    )
    assert found == [("PB111", "error", 3)]


def test_unknown_claude_code_field_is_a_warning(make_bundle):
    codes, _ = _codes(
        make_bundle,
        {"agents/reviewer.md": AGENT.replace("tools:", "claude-code: {foo: 1}\ntools:")},
    )
    assert codes == {("PB103", "warning")}


def test_plugin_agent_capabilities_is_deprecated(make_bundle):
    codes, _ = _codes(
        make_bundle,
        {
            "agents/reviewer.md": AGENT.replace(
                "tools:", "claude-plugin: {capabilities: [a]}\ntools:"
            )
        },
    )
    assert codes == {("PB112", "warning")}


def test_skill_name_must_equal_its_folder(make_bundle):
    found = _validate(
        make_bundle,
        "agent-skill",
        "agent-skill/other/SKILL.md",
        "---\nname: x\ndescription: d\n---\nBody\n",
        kind="skill",
    )
    assert found == [("PB120", "error", 2)]


@pytest.mark.parametrize(
    ("name", "code"),
    [("a--b", "PB110"), ("-a", "PB110"), ("Bad", "PB110"), ("a_b", "PB110"), ("x" * 65, "PB107")],
)
def test_skill_name_rules(make_bundle, name, code):
    found = _validate(
        make_bundle,
        "agent-skill",
        f"agent-skill/{name}/SKILL.md",
        f"---\nname: {name}\ndescription: d\n---\n",
        kind="skill",
    )
    assert found == [(code, "error", 2)]


def test_skill_description_over_1024_characters_is_an_error(make_bundle):
    found = _validate(
        make_bundle,
        "agent-skill",
        "agent-skill/x/SKILL.md",
        f"---\nname: x\ndescription: {'d' * 1025}\n---\n",
        kind="skill",
    )
    assert found == [("PB107", "error", 3)]


def test_skill_with_an_extra_field_is_an_error(make_bundle):
    found = _validate(
        make_bundle,
        "agent-skill",
        "agent-skill/x/SKILL.md",
        "---\nname: x\ndescription: d\nmodel: opus\n---\n",
        kind="skill",
    )
    assert found == [("PB103", "error", 4)]


def test_body_budget_from_target_options(make_bundle):
    root = make_bundle(
        {
            "agents/reviewer.md": AGENT,
            "targets/skill-table.toml": ('convert = ["agent"]\noptions = {max_body_chars = 10}\n'),
        }
    )
    result = build_outputs(load(root))
    found = [(d.code, d.location.path) for d in result.diagnostics]
    # Reported at the source the body comes from.
    assert found == [("PB121", "agents/reviewer.md")]


def test_body_budget_option_must_be_a_positive_integer(make_bundle):
    found = _validate(
        make_bundle,
        "opencode",
        "opencode/agent/x.md",
        "---\ndescription: d\n---\nBody\n",
        options={"max_body_chars": "lots"},
    )
    assert found == [("PB122", "error", 1)]


def test_copilot_agent_body_budget_is_30000_characters():
    schema = load_schema("copilot")
    assert schema is not None and schema["x-body-max-chars"] == 30000


def test_plugin_manifest_needs_version_description_and_author(make_bundle):
    found = _validate(
        make_bundle,
        "claude-plugin",
        "claude-plugin/plugins/demo/.claude-plugin/plugin.json",
        json.dumps({"name": "demo"}),
        agent=None,
        kind=None,
    )
    assert found == [("PB101", "error", 1)] * 3  # version, description, author


def test_invalid_json_manifest_is_reported(make_bundle):
    found = _validate(
        make_bundle,
        "claude-plugin",
        "claude-plugin/.claude-plugin/marketplace.json",
        '{"name": ',
        agent=None,
        kind=None,
    )
    assert found == [("PB100", "error", 1)]


def test_build_fails_on_an_output_error(make_bundle):
    from promptbundle.commands.build import run_build
    from promptbundle.core.errors import PromptBundleError

    root = make_bundle({"agents/reviewer.md": AGENT.replace("sonnet", "gpt-4")})
    with pytest.raises(PromptBundleError) as info:
        run_build(root)
    assert info.value.message == "build failed: 3 error(s); nothing written"
    # Each error names the source line that sets the model, and the output second.
    assert [line for line in info.value.lines() if line.endswith("]")] == [
        "agents/reviewer.md:4:1: error: 'model' is not a model Claude Code resolves (opus,"
        " sonnet, haiku, inherit or a claude-* id) (in dist/claude-code/agents/reviewer.md)"
        " [PB111]",
        "agents/reviewer.md:4:1: error: 'model' is not a model Claude Code resolves (opus,"
        " sonnet, haiku, inherit or a claude-* id)"
        " (in dist/claude-plugin/plugins/demo/agents/reviewer.md) [PB111]",
        "agents/reviewer.md:4:1: error: 'model' is not an opencode model id (provider/model,"
        " e.g. anthropic/claude-sonnet-4-5) (in dist/opencode/agent/reviewer.md) [PB111]",
    ]


def test_schema_evaluator_reports_paths_and_any_of():
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "array", "items": {"type": "integer", "minimum": 1}},
            "b": {"anyOf": [{"type": "string"}, {"type": "boolean"}]},
        },
    }
    failures = evaluate(schema, {"a": [1, 0, "x"], "b": 3})
    assert [(f.dotted, f.keyword) for f in failures] == [
        ("a[1]", "minimum"),
        ("a[2]", "type"),
        ("b", "anyOf"),
    ]


def test_every_kind_of_every_format_has_a_schema_that_is_valid_json_schema():
    for name, cls in FORMATS.items():
        for kind in cls.kinds:
            schema_name = name if kind == "agent" else f"{name}.{kind}"
            schema = load_schema(schema_name)
            assert schema is not None, f"{name} has no schemas/{schema_name}.json"
            Draft202012Validator.check_schema(schema)


def test_cursor_rule_and_copilot_prompt_outputs_are_checked_against_their_schemas(make_bundle):
    found = _validate(
        make_bundle,
        "cursor",
        "cursor/rules/x.mdc",
        "---\nalwaysApply: sometimes\n---\nBody\n",
        kind="rule",
    )
    assert found == [("PB102", "error", 2)]
    found = _validate(
        make_bundle,
        "copilot",
        "copilot/prompts/x.prompt.md",
        "---\ndescription: x\ntools: Read\ncolour: red\n---\nBody\n",
        kind="command",
    )
    assert found == [("PB102", "error", 3), ("PB103", "warning", 4)]
