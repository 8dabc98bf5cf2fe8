"""roo: Roo Code custom modes (one .roomodes per bundle), commands, rules and skills."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptbundle.build.pipeline import build_outputs, load, read_config
from promptbundle.core.model import OutputFile, TargetConfig
from promptbundle.core.yamlio import load_yaml
from promptbundle.formats.registry import FORMATS, KNOWN_FORMATS
from promptbundle.formats.roo import RooFormat, modes_yaml
from tests.support import BASIC_CONFIG, BundleFactory

CONFIG = BASIC_CONFIG + 'targets = ["roo"]\n'
AGENT = """\
---
name: reviewer
description: Reviews "code" diffs
model: sonnet
tools: [Read, Grep, Edit, MultiEdit, Bash, WebFetch, TodoWrite]
roo:
  description: Code review
  color: red
---
# Reviewer

Review the diff.
"""
COMMAND = """\
---
description: Commit staged changes
roo:
  argument-hint: <message>
  mode: reviewer
---
Write a commit message.
"""
SKILL = "---\nname: lint\ndescription: Lint the code\n---\nRun `lint.sh`.\n"
FILES = {
    "promptbundle.toml": CONFIG,
    "agents/reviewer.md": AGENT,
    "agents/review/security.md": "---\ndescription: Security review\n---\nCheck secrets.\n",
    "agents/planner.md": "---\ndescription: Plans\ntools: []\n---\nPlan.\n",
    "commands/commit.md": COMMAND,
    "skills/lint/SKILL.md": SKILL,
    "skills/lint/lint.sh": "echo lint\n",
    "rules/style.md": "Use type hints.\n",
}
MODES = """\
customModes:
  - slug: planner
    name: planner
    roleDefinition: "Plan.\\n"
    whenToUse: Plans
    groups: []
  - slug: review--security
    name: security
    roleDefinition: "Check secrets.\\n"
    whenToUse: Security review
    groups:
      - read
      - edit
      - browser
      - command
      - mcp
  - slug: reviewer
    name: reviewer
    roleDefinition: "# Reviewer\\n\\nReview the diff.\\n"
    whenToUse: Reviews "code" diffs
    description: Code review
    groups:
      - read
      - edit
      - browser
      - command
"""


def _fmt(root: Path) -> RooFormat:
    return RooFormat(TargetConfig(name="roo", format="roo"), read_config(root))


def _modes(text: str) -> OutputFile:
    return OutputFile("roo/@project/.roomodes", text.encode(), "roo", None, ())


def test_the_format_is_registered_and_not_a_default_target() -> None:
    assert FORMATS["roo"] is RooFormat
    assert RooFormat.kinds == frozenset({"agent", "command", "skill", "rule"})
    assert RooFormat.install_prefix == ".roo"
    assert "roo" not in KNOWN_FORMATS.defaults


def test_a_bundle_builds_to_the_files_roo_code_reads(make_bundle: BundleFactory) -> None:
    result = build_outputs(load(make_bundle(FILES)))
    assert result.diagnostics == []
    built = {o.path: o.content for o in result.outputs if o.target == "roo"}
    assert built == {
        "roo/@project/.roomodes": MODES.encode(),
        "roo/commands/commit.md": (
            b"---\ndescription: Commit staged changes\nargument-hint: <message>\nmode: reviewer\n"
            b"---\nWrite a commit message.\n"
        ),
        "roo/rules/style.md": b"Use type hints.\n",
        "roo/skills/lint/SKILL.md": SKILL.encode(),
        "roo/skills/lint/lint.sh": b"echo lint\n",
    }
    assert [(x.agent, x.target, x.field, x.reason) for x in result.lossy] == [
        ("reviewer", "roo", "color", "roo has no such field"),
        ("reviewer", "roo", "model", "roo has no such field"),
        ("reviewer", "roo", "tools.TodoWrite", "no Roo Code tool group holds it"),
    ]
    [modes] = [o for o in result.outputs if o.path == "roo/@project/.roomodes"]
    assert modes.agent is None
    assert modes.sources == (
        "agents/planner.md",
        "agents/review/security.md",
        "agents/reviewer.md",
        "promptbundle.toml",
    )
    data = load_yaml(MODES)
    assert [m["slug"] for m in data["customModes"]] == ["planner", "review--security", "reviewer"]
    assert data["customModes"][2]["roleDefinition"] == "# Reviewer\n\nReview the diff.\n"


def test_a_bundle_without_agents_writes_no_modes_file(make_bundle: BundleFactory) -> None:
    result = build_outputs(load(make_bundle({"promptbundle.toml": CONFIG, "rules/a.md": "A.\n"})))
    assert [o.path for o in result.outputs if o.target == "roo"] == ["roo/rules/a.md"]


def test_a_target_maps_tools_onto_groups_its_own_way(make_bundle: BundleFactory) -> None:
    root = make_bundle(
        {
            "promptbundle.toml": CONFIG,
            "agents/reviewer.md": AGENT,
            "targets/roo.toml": '[tools]\nTodoWrite = "modes"\nWebFetch = ""\n',
        }
    )
    result = build_outputs(load(root))
    [modes] = [o for o in result.outputs if o.path == "roo/@project/.roomodes"]
    assert load_yaml(modes.content.decode())["customModes"][0]["groups"] == [
        "read",
        "edit",
        "command",
        "modes",
    ]
    assert [x.field for x in result.lossy] == ["color", "model", "tools.WebFetch"]


def test_a_broken_mode_field_from_a_roo_block_fails_the_build(make_bundle: BundleFactory) -> None:
    agent = AGENT.replace("  color: red\n", "  groups: [read, teleport]\n")
    result = build_outputs(load(make_bundle({**FILES, "agents/reviewer.md": agent})))
    assert [(d.code, d.severity, d.location.path, d.location.line) for d in result.diagnostics] == [
        ("PB104", "error", "dist/roo/@project/.roomodes", 22),
    ]
    assert result.diagnostics[0].message.startswith("mode 'reviewer': ")


@pytest.mark.parametrize(
    ("line", "code", "severity"),
    [
        ("slug: bad_slug", "PB110", "error"),
        ("name: ''", "PB106", "error"),
        ("whenToUse: 3", "PB102", "error"),
        ("groups: read", "PB102", "error"),
        ("groups: [shell]", "PB104", "error"),
        ("color: red", "PB103", "warning"),
    ],
)
def test_broken_mode_fields_get_their_schema_codes(
    make_bundle: BundleFactory, line: str, code: str, severity: str
) -> None:
    fmt = _fmt(make_bundle({"promptbundle.toml": CONFIG}))
    key = line.split(":", 1)[0]
    fields = {"slug": "slug: x", "name": "name: X", "roleDefinition": "roleDefinition: R"}
    fields["groups"] = "groups: []"
    fields[key] = line
    text = "customModes:\n" + "".join(
        ("  - " if i == 0 else "    ") + f + "\n" for i, f in enumerate(fields.values())
    )
    found = fmt.validate(_modes(text))
    line_no = 2 + list(fields).index(key)
    assert [(d.code, d.severity, d.location.line) for d in found] == [(code, severity, line_no)]


def test_the_modes_file_needs_custom_modes_and_unique_slugs(make_bundle: BundleFactory) -> None:
    fmt = _fmt(make_bundle({"promptbundle.toml": CONFIG}))
    assert [(d.code, d.location.line) for d in fmt.validate(_modes("modes: []\n"))] == [
        ("PB101", 1),
        ("PB103", 1),
    ]
    mode = {"slug": "x", "name": "X", "roleDefinition": "R", "groups": []}
    found = fmt.validate(_modes(modes_yaml([mode, {**mode, "name": "Y"}])))
    assert [(d.code, d.severity, d.location.line) for d in found] == [("PB110", "error", 6)]
    found = fmt.validate(_modes(modes_yaml([{"slug": "x", "groups": ["read"]}])))
    assert [(d.code, d.location.line) for d in found] == [("PB101", 2), ("PB101", 2)]
    found = fmt.validate(_modes("customModes: [\n"))
    assert [(d.code, d.location.line) for d in found] == [("PB100", 2)]


def test_commands_rules_and_skills_are_checked(make_bundle: BundleFactory) -> None:
    fmt = _fmt(make_bundle({"promptbundle.toml": CONFIG}))

    def codes(path: str, text: str, kind: str) -> list[tuple[str, str]]:
        output = OutputFile(path, text.encode(), "roo", "x", (), kind=kind)
        return [(d.code, d.severity) for d in fmt.validate(output)]

    assert codes("roo/commands/x.md", "---\nmode: a_b\n---\nB\n", "command") == [("PB110", "error")]
    assert codes("roo/rules/x.md", "---\npaths: [a]\n---\nB\n", "rule") == [("PB103", "warning")]
    assert codes("roo/skills/x/SKILL.md", "---\nname: x\n---\nB\n", "skill") == [("PB101", "error")]


# -- import --------------------------------------------------------------------------------
def test_import_of_a_project_models_each_mode_of_roomodes(tmp_path: Path) -> None:
    from promptbundle.importing.tree import check_tree, import_tree

    project = tmp_path / "project"
    project.mkdir()
    (project / ".roomodes").write_text(
        "customModes:\n"
        "  - slug: review--security\n"
        "    name: Security\n"
        '    roleDefinition: "Check secrets.\\n"\n'
        "    groups:\n"
        "      - read\n"
        "  - slug: reviewer\n"
        "    name: reviewer\n"
        '    roleDefinition: "Review.\\n"\n'
        "    whenToUse: Reviews code\n"
        "    groups:\n"
        "      - read\n"
    )
    check = check_tree(project)
    assert (check.files, check.reproduced, check.prompts, check.modelled, check.carried) == (
        1,
        1,
        2,
        2,
        0,
    )
    result = import_tree(project, tmp_path / "bundle")
    source = (tmp_path / "bundle" / "agents/review/security.md").read_text()
    assert source.startswith(
        "---\nname: security\ndescription: Imported from .roomodes\nroo:\n  name: Security\n"
        "  groups:\n    - read\n  whenToUse: null\nimport:\n  format: roo\n"
    )
    assert result.summary.startswith("imported 2 of 2 prompt file(s) as sources")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("customModes: [\n", ".roomodes is not valid YAML, line 2"),
        ("customModes:\n  - slug: x\n", "'customModes' must list modes, each with a slug and"),
    ],
)
def test_a_roomodes_import_cannot_read_is_carried_with_a_note(
    tmp_path: Path, text: str, why: str
) -> None:
    from promptbundle.importing.tree import check_tree, import_tree

    project = tmp_path / "project"
    project.mkdir()
    (project / ".roomodes").write_text(text)
    result = import_tree(project, tmp_path / "bundle")
    [note] = result.messages
    assert note.startswith(".roomodes: carried byte for byte, not modelled: not a roo file (")
    assert why in note
    check = check_tree(project)
    assert (check.reproduced, check.carried, check.modelled) == (1, 1, 0)


def test_a_roomodes_joined_by_other_agents_of_the_project_is_carried(tmp_path: Path) -> None:
    from promptbundle.importing.tree import check_tree, import_tree

    project = tmp_path / "project"
    (project / ".claude/agents").mkdir(parents=True)
    (project / ".claude/agents/helper.md").write_text(
        "---\nname: helper\ndescription: Helps\n---\nHelp.\n"
    )
    (project / ".roomodes").write_text(
        'customModes:\n  - slug: reviewer\n    name: reviewer\n    roleDefinition: "Review.\\n"\n'
        "    whenToUse: Reviews code\n    groups:\n      - read\n"
    )
    # Roo Code's target would add the Claude Code agent to the modes file: it is carried.
    result = import_tree(project, tmp_path / "bundle")
    assert result.messages[0].startswith(".roomodes: carried byte for byte, not modelled:")
    check = check_tree(project)
    assert (check.files, check.reproduced, check.carried, check.modelled) == (2, 2, 1, 1)
