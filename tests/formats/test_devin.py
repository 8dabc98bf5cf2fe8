"""devin: Devin Desktop agents, rules and skills under .devin/."""

from __future__ import annotations

from pathlib import Path

from promptbundle.build.pipeline import build_outputs, load, read_config
from promptbundle.core.model import OutputFile, TargetConfig
from promptbundle.formats.devin import DEVIN_RULE_LIMIT, DevinFormat
from promptbundle.formats.registry import FORMATS, KNOWN_FORMATS
from promptbundle.importing.convert import convert_file
from tests.support import BASIC_CONFIG, BundleFactory

CONFIG = BASIC_CONFIG + 'targets = ["devin"]\n'
FILES = {
    "promptbundle.toml": CONFIG,
    "agents/reviewer.md": "---\nname: reviewer\ndescription: Reviews code\nmodel: sonnet\n"
    "tools: [Read, Grep]\n---\nReview the diff.\n",
    "commands/commit.md": "Write a commit message.\n",
    "skills/lint/SKILL.md": "---\nname: lint\ndescription: Lint the code\n---\nRun lint.\n",
    "rules/python.md": "---\ndevin:\n  trigger: glob\n  globs: '*.py'\n---\nUse type hints.\n",
}


def _built(root: Path) -> dict[str, bytes]:
    return {o.path: o.content for o in build_outputs(load(root)).outputs if o.target == "devin"}


def _fmt(root: Path) -> DevinFormat:
    return DevinFormat(TargetConfig(name="devin", format="devin"), read_config(root))


def test_the_format_is_registered_and_not_a_default_target() -> None:
    assert FORMATS["devin"] is DevinFormat
    assert DevinFormat.kinds == frozenset({"agent", "skill", "rule"})
    assert DevinFormat.install_prefix == ".devin"
    assert "devin" not in KNOWN_FORMATS.defaults


def test_agents_rules_and_skills_go_where_devin_reads_them(make_bundle: BundleFactory) -> None:
    built = _built(make_bundle(FILES))
    # Devin has no commands: commit.md is not built.
    assert built == {
        "devin/agents/reviewer/AGENT.md": b"---\nname: reviewer\ndescription: Reviews code\n"
        b"model: sonnet\nallowed-tools: Read, Grep\n---\nReview the diff.\n",
        "devin/rules/python.md": b'---\ntrigger: glob\nglobs: "*.py"\n---\nUse type hints.\n',
        "devin/skills/lint/SKILL.md": b"---\nname: lint\ndescription: Lint the code\n---\n"
        b"Run lint.\n",
    }


def test_a_rule_over_12000_characters_is_an_error_at_its_source(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle({"promptbundle.toml": CONFIG, "rules/big.md": "x" * DEVIN_RULE_LIMIT + "\n"})
    [found] = build_outputs(load(root)).diagnostics
    assert (found.code, found.severity, found.location.path) == ("PB125", "error", "rules/big.md")
    assert found.message.startswith("rule is 12001 characters; Devin reads at most 12000")


def test_a_rule_trigger_needs_its_field(make_bundle: BundleFactory) -> None:
    root = make_bundle(
        {
            "promptbundle.toml": CONFIG,
            "rules/g.md": "---\ndevin:\n  trigger: glob\n---\nBody\n",
            "rules/m.md": "---\ndevin:\n  trigger: model_decision\n---\nBody\n",
            "rules/odd.md": "---\ndevin:\n  trigger: often\n---\nBody\n",
        }
    )
    found = build_outputs(load(root)).diagnostics
    assert sorted((d.code, d.location.path, d.location.line) for d in found) == [
        ("PB101", "rules/g.md", 3),
        ("PB101", "rules/m.md", 3),
        ("PB104", "rules/odd.md", 3),
    ]


def test_an_agent_name_other_than_its_folder_is_an_error(make_bundle: BundleFactory) -> None:
    fmt = _fmt(make_bundle({"promptbundle.toml": CONFIG}))
    output = OutputFile(
        "devin/agents/reviewer/AGENT.md",
        b"---\nname: other\ndescription: d\n---\nBody\n",
        "devin",
        "reviewer",
        (),
        kind="agent",
    )
    [found] = fmt.validate(output)
    assert (found.code, found.location.line) == ("PB126", 2)
    assert found.message == "agent name 'other' must equal its folder name 'reviewer'"


def test_import_reads_an_agent_md_as_the_agent_of_its_folder(tmp_path: Path) -> None:
    path = tmp_path / ".devin" / "agents" / "reviewer" / "AGENT.md"
    agent = convert_file(path, b"---\ndescription: Reviews\n---\nReview.\n")
    assert (agent.format, agent.kind, agent.id) == ("devin", "agent", "reviewer")
    rule = convert_file(tmp_path / ".devin" / "rules" / "py.md", b"Use types.\n")
    assert (rule.format, rule.kind, rule.id) == ("devin", "rule", "py")


def test_a_nested_agent_gets_one_flat_folder(make_bundle: BundleFactory) -> None:
    files = {
        "promptbundle.toml": CONFIG,
        "agents/review/security.md": "---\nname: security\ndescription: d\n---\nCheck.\n",
    }
    built = _built(make_bundle(files))
    assert built == {
        "devin/agents/review_security/AGENT.md": (
            b"---\nname: review_security\ndescription: d\n---\nCheck.\n"
        )
    }
