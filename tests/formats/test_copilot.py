"""copilot: agents, prompt files, instructions and skills under .github/."""

from __future__ import annotations

from pathlib import Path

from promptbundle.build.pipeline import build_outputs, load, read_config
from promptbundle.commands.install import run_install
from promptbundle.core.model import OutputFile, TargetConfig
from promptbundle.formats.copilot import CopilotFormat
from promptbundle.formats.registry import FORMATS, KNOWN_FORMATS, detect_format
from promptbundle.importing.convert import convert_file
from tests.support import BASIC_CONFIG, BundleFactory

CONFIG = BASIC_CONFIG + 'targets = ["copilot"]\n'
PYTHON_RULE = """\
---
description: Python style
copilot:
  applyTo: "**/*.py"
---
Use type hints.
"""


def outputs(root: Path) -> dict[str, OutputFile]:
    result = build_outputs(load(root))
    assert result.diagnostics == [] and result.lossy == []
    return {o.path: o for o in result.outputs if o.target == "copilot"}


def test_the_format_carries_every_kind_and_is_not_a_default_target() -> None:
    assert FORMATS["copilot"] is CopilotFormat
    assert CopilotFormat.kinds == frozenset({"agent", "command", "skill", "rule"})
    assert CopilotFormat.install_prefix == ".github"
    assert "copilot" not in KNOWN_FORMATS.defaults


def test_a_rule_is_built_to_an_instructions_file_keeping_apply_to(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle({"promptbundle.toml": CONFIG, "rules/python.md": PYTHON_RULE})
    built = outputs(root)
    assert list(built) == ["copilot/instructions/python.instructions.md"]
    output = built["copilot/instructions/python.instructions.md"]
    assert output.content == (
        b'---\ndescription: Python style\napplyTo: "**/*.py"\n---\nUse type hints.\n'
    )
    assert (output.kind, output.agent) == ("rule", "rule:python")


def test_the_rule_copilot_instructions_is_the_repository_wide_file(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle(
        {"promptbundle.toml": CONFIG, "rules/copilot-instructions.md": "Be kind to reviewers.\n"}
    )
    built = outputs(root)
    assert list(built) == ["copilot/copilot-instructions.md"]
    assert built["copilot/copilot-instructions.md"].content == (b"Be kind to reviewers.\n")


def test_agents_commands_and_skills_are_built_where_copilot_reads_them(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle(
        {
            "promptbundle.toml": CONFIG,
            "agents/one.md": "---\nname: one\ndescription: One\ntools: [Read]\n---\nHi.\n",
            "commands/go.md": "---\ndescription: Go on\n---\nGo.\n",
            "skills/lint/SKILL.md": "---\nname: lint\ndescription: Lint\n---\nLint.\n",
            "skills/lint/lint.sh": "echo lint\n",
        }
    )
    built = {path: output.content for path, output in outputs(root).items()}
    assert built == {
        "copilot/agents/one.agent.md": (
            b"---\nname: one\ndescription: One\ntools:\n  - Read\n---\nHi.\n"
        ),
        "copilot/prompts/go.prompt.md": b"---\ndescription: Go on\n---\nGo.\n",
        "copilot/skills/lint/SKILL.md": b"---\nname: lint\ndescription: Lint\n---\nLint.\n",
        "copilot/skills/lint/lint.sh": b"echo lint\n",
    }


def test_the_body_limit_is_an_agents_only(make_bundle: BundleFactory) -> None:
    long_body = "x" * 30_001 + "\n"
    root = make_bundle(
        {
            "promptbundle.toml": CONFIG,
            "agents/one.md": "---\nname: one\ndescription: One\n---\n" + long_body,
            "commands/go.md": long_body,
        }
    )
    result = build_outputs(load(root))
    assert [(d.code, d.location.path) for d in result.diagnostics] == [("PB121", "agents/one.md")]


def test_installed_rules_land_in_dot_github(make_bundle: BundleFactory, tmp_path: Path) -> None:
    root = make_bundle(
        {
            "promptbundle.toml": CONFIG,
            "rules/python.md": PYTHON_RULE,
            "rules/copilot-instructions.md": "Be kind to reviewers.\n",
        }
    )
    report = run_install(root, targets=["copilot"], into=tmp_path / "p")
    assert report.lines == [
        "add: .github/copilot-instructions.md",
        "add: .github/instructions/python.instructions.md",
    ]


def test_a_field_copilot_does_not_read_is_dropped_as_lossy(make_bundle: BundleFactory) -> None:
    rule = PYTHON_RULE.replace('  applyTo: "**/*.py"\n', '  applyTo: "**/*.py"\n  colour: red\n')
    root = make_bundle({"promptbundle.toml": CONFIG, "rules/python.md": rule})
    result = build_outputs(load(root))
    assert [(x.agent, x.target, x.field, x.reason) for x in result.lossy] == [
        ("rule:python", "copilot", "colour", "copilot has no such field")
    ]


def test_its_schema_warns_about_an_unknown_field(make_bundle: BundleFactory) -> None:
    root = make_bundle({"promptbundle.toml": CONFIG})
    target = TargetConfig(name="copilot", format="copilot")
    fmt = CopilotFormat(target, read_config(root))
    text = "---\napplyTo: '**/*.py'\ncolour: red\n---\nBody\n"
    output = OutputFile(
        "copilot/instructions/x.instructions.md",
        text.encode(),
        "copilot",
        "rule:x",
        (),
        kind="rule",
    )
    assert fmt.schema_name(output) == "copilot.rule"
    found = fmt.validate(output)
    assert [(d.code, d.severity, d.location.line) for d in found] == [("PB103", "warning", 3)]
    assert found[0].message == (
        "'colour' is not a field GitHub Copilot instructions frontmatter reads; it is ignored"
    )


def test_apply_to_must_be_a_glob_or_a_list_of_globs(make_bundle: BundleFactory) -> None:
    root = make_bundle({"promptbundle.toml": CONFIG})
    target = TargetConfig(name="copilot", format="copilot")
    fmt = CopilotFormat(target, read_config(root))
    output = OutputFile(
        "copilot/instructions/x.instructions.md",
        b"---\napplyTo: 3\n---\nBody\n",
        "copilot",
        "rule:x",
        (),
        kind="rule",
    )
    [found] = fmt.validate(output)
    assert (found.code, found.severity, found.location.line) == ("PB104", "error", 2)
    assert found.message == (
        "'applyTo' has no valid form: 'applyTo' must be a string, got a number;"
        " or 'applyTo' must be an array, got a number"
    )


def test_import_detects_an_instructions_file_as_a_rule() -> None:
    path = Path(".github/instructions/python.instructions.md")
    text = '---\napplyTo: "**/*.py"\n---\nUse type hints.\n'
    assert detect_format(path, text) == "copilot"
    imported = convert_file(path, text.encode())
    assert (imported.format, imported.kind, imported.id) == (
        "copilot",
        "rule",
        "python",
    )
    assert imported.source_rel == "rules/python.md"
    # By its name alone, wherever it is, frontmatter or not.
    plain = convert_file(Path("x.instructions.md"), b"Be brief.\n")
    assert (plain.format, plain.kind, plain.source_rel) == (
        "copilot",
        "rule",
        "rules/x.md",
    )
    # Prompt files are commands, agent files agents.
    prompt = convert_file(Path("x.prompt.md"), b"---\ndescription: d\n---\nGo.\n")
    assert (prompt.format, prompt.kind) == ("copilot", "command")
    agent = convert_file(Path("x.agent.md"), b"---\ndescription: d\n---\nGo.\n")
    assert (agent.format, agent.kind) == ("copilot", "agent")
