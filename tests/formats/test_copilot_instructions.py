"""copilot-instructions: rules as GitHub Copilot instructions files."""

from __future__ import annotations

from pathlib import Path

from promptbundle.build.pipeline import build_outputs, load, read_config
from promptbundle.commands.install import run_install
from promptbundle.core.model import OutputFile, TargetConfig
from promptbundle.formats.copilot_instructions import CopilotInstructionsFormat
from promptbundle.formats.registry import FORMATS, KNOWN_FORMATS, detect_format
from promptbundle.importing.convert import convert_file
from tests.support import BASIC_CONFIG, BundleFactory

CONFIG = BASIC_CONFIG + 'targets = ["copilot-instructions"]\n'
PYTHON_RULE = """\
---
description: Python style
copilot-instructions:
  applyTo: "**/*.py"
---
Use type hints.
"""


def outputs(root: Path) -> dict[str, OutputFile]:
    result = build_outputs(load(root))
    assert result.diagnostics == [] and result.lossy == []
    return {o.path: o for o in result.outputs if o.target == "copilot-instructions"}


def test_the_format_carries_rules_and_is_not_a_default_target() -> None:
    assert FORMATS["copilot-instructions"] is CopilotInstructionsFormat
    assert CopilotInstructionsFormat.kinds == frozenset({"rule"})
    assert CopilotInstructionsFormat.install_prefix == ".github"
    assert "copilot-instructions" not in KNOWN_FORMATS.defaults


def test_a_rule_is_built_to_an_instructions_file_keeping_apply_to(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle({"promptbundle.toml": CONFIG, "rules/python.md": PYTHON_RULE})
    built = outputs(root)
    assert list(built) == ["copilot-instructions/instructions/python.instructions.md"]
    output = built["copilot-instructions/instructions/python.instructions.md"]
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
    assert list(built) == ["copilot-instructions/copilot-instructions.md"]
    assert built["copilot-instructions/copilot-instructions.md"].content == (
        b"Be kind to reviewers.\n"
    )


def test_agents_commands_and_skills_are_not_built(make_bundle: BundleFactory) -> None:
    root = make_bundle(
        {
            "promptbundle.toml": CONFIG,
            "agents/one.md": "---\nname: one\ndescription: One\n---\nHi.\n",
            "commands/go.md": "Go.\n",
            "skills/lint/SKILL.md": "---\nname: lint\ndescription: Lint\n---\nLint.\n",
        }
    )
    assert outputs(root) == {}


def test_installed_rules_land_in_dot_github(make_bundle: BundleFactory, tmp_path: Path) -> None:
    root = make_bundle(
        {
            "promptbundle.toml": CONFIG,
            "rules/python.md": PYTHON_RULE,
            "rules/copilot-instructions.md": "Be kind to reviewers.\n",
        }
    )
    report = run_install(root, targets=["copilot-instructions"], into=tmp_path / "p")
    assert report.lines == [
        "add: .github/copilot-instructions.md",
        "add: .github/instructions/python.instructions.md",
    ]


def test_a_field_copilot_does_not_read_is_dropped_as_lossy(make_bundle: BundleFactory) -> None:
    rule = PYTHON_RULE.replace('  applyTo: "**/*.py"\n', '  applyTo: "**/*.py"\n  colour: red\n')
    root = make_bundle({"promptbundle.toml": CONFIG, "rules/python.md": rule})
    result = build_outputs(load(root))
    assert [(x.agent, x.target, x.field, x.reason) for x in result.lossy] == [
        ("rule:python", "copilot-instructions", "colour", "copilot-instructions has no such field")
    ]


def test_its_schema_warns_about_an_unknown_field(make_bundle: BundleFactory) -> None:
    root = make_bundle({"promptbundle.toml": CONFIG})
    target = TargetConfig(name="copilot-instructions", format="copilot-instructions")
    fmt = CopilotInstructionsFormat(target, read_config(root))
    text = "---\napplyTo: '**/*.py'\ncolour: red\n---\nBody\n"
    output = OutputFile(
        "copilot-instructions/instructions/x.instructions.md",
        text.encode(),
        "copilot-instructions",
        "rule:x",
        (),
        kind="rule",
    )
    assert fmt.schema_name(output) == "copilot-instructions.rule"
    found = fmt.validate(output)
    assert [(d.code, d.severity, d.location.line) for d in found] == [("PB103", "warning", 3)]
    assert found[0].message == (
        "'colour' is not a field GitHub Copilot instructions frontmatter reads; it is ignored"
    )


def test_apply_to_must_be_a_glob_or_a_list_of_globs(make_bundle: BundleFactory) -> None:
    root = make_bundle({"promptbundle.toml": CONFIG})
    target = TargetConfig(name="copilot-instructions", format="copilot-instructions")
    fmt = CopilotInstructionsFormat(target, read_config(root))
    output = OutputFile(
        "copilot-instructions/instructions/x.instructions.md",
        b"---\napplyTo: 3\n---\nBody\n",
        "copilot-instructions",
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
    assert detect_format(path, text) == "copilot-instructions"
    imported = convert_file(path, text.encode())
    assert (imported.format, imported.kind, imported.id) == (
        "copilot-instructions",
        "rule",
        "python",
    )
    assert imported.source_rel == "rules/python.md"
    # By its name alone, wherever it is, frontmatter or not.
    plain = convert_file(Path("x.instructions.md"), b"Be brief.\n")
    assert (plain.format, plain.kind, plain.source_rel) == (
        "copilot-instructions",
        "rule",
        "rules/x.md",
    )
    # Copilot prompt files are still commands.
    assert detect_format(Path("x.prompt.md"), "---\ndescription: d\n---\nGo.\n") == (
        "copilot-prompt"
    )
