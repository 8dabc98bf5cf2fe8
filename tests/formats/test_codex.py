"""codex: OpenAI Codex CLI TOML agents, skills under .agents/skills and AGENTS.md."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from promptbundle.build.pipeline import build_outputs, load, read_config
from promptbundle.commands.install import run_install
from promptbundle.core.model import OutputFile, TargetConfig
from promptbundle.formats.codex import CodexFormat
from promptbundle.formats.registry import FORMATS, KNOWN_FORMATS
from tests.support import BASIC_CONFIG, BundleFactory

CONFIG = BASIC_CONFIG + 'targets = ["codex"]\n'
AGENT = """\
---
name: reviewer
description: Reviews "code" \\ diffs
model: haiku
tools: [Read, Grep]
codex:
  model_reasoning_effort: high
  sandbox_mode: read-only
  color: red
---
# Reviewer

Review the diff. Never write \"\"\" or \\n.
"""
SKILL = "---\nname: lint\ndescription: Lint the code\n---\nRun `lint.sh`.\n"
FILES = {
    "promptbundle.toml": CONFIG,
    "agents/reviewer.md": AGENT,
    "agents/review/security.md": "---\ndescription: Security review\n---\nCheck secrets.\n",
    "commands/git/commit.md": "Commit.\n",
    "skills/lint/SKILL.md": SKILL,
    "skills/lint/lint.sh": "echo lint\n",
    "rules/AGENTS.md": "Be brief.\n",
    "rules/python.md": "Only for Claude.\n",
}
REVIEWER = (
    'name = "reviewer"\n'
    'description = "Reviews \\"code\\" \\\\ diffs"\n'
    'model = "gpt-5-codex-mini"\n'
    'model_reasoning_effort = "high"\n'
    'sandbox_mode = "read-only"\n'
    'developer_instructions = """\n'
    "# Reviewer\n\n"
    'Review the diff. Never write ""\\" or \\\\n.\n'
    '"""\n'
)


def _fmt(root: Path) -> CodexFormat:
    return CodexFormat(TargetConfig(name="codex", format="codex"), read_config(root))


def _output(path: str, text: str, kind: str = "agent") -> OutputFile:
    return OutputFile(path, text.encode(), "codex", "x", (), kind=kind)


def test_the_format_is_registered_and_not_a_default_target() -> None:
    assert FORMATS["codex"] is CodexFormat
    assert CodexFormat.kinds == frozenset({"agent", "skill", "rule"})
    assert CodexFormat.install_prefix == ".codex"
    assert "codex" not in KNOWN_FORMATS.defaults


def test_a_bundle_builds_to_the_files_codex_reads(make_bundle: BundleFactory) -> None:
    result = build_outputs(load(make_bundle(FILES)))
    assert result.diagnostics == []
    built = {o.path: o.content for o in result.outputs if o.target == "codex"}
    assert built == {
        "codex/@project/.agents/skills/lint/SKILL.md": SKILL.encode(),
        "codex/@project/.agents/skills/lint/lint.sh": b"echo lint\n",
        "codex/@project/AGENTS.md": b"Be brief.\n",
        "codex/agents/review/security.toml": (
            b'name = "security"\ndescription = "Security review"\n'
            b'developer_instructions = """\nCheck secrets.\n"""\n'
        ),
        "codex/agents/reviewer.toml": REVIEWER.encode(),
    }
    assert [(x.agent, x.target, x.field, x.reason) for x in result.lossy] == [
        ("reviewer", "codex", "color", "codex has no such field"),
        ("reviewer", "codex", "tools", "codex has no such field"),
    ]
    assert tomllib.loads(REVIEWER) == {
        "name": "reviewer",
        "description": 'Reviews "code" \\ diffs',
        "model": "gpt-5-codex-mini",
        "model_reasoning_effort": "high",
        "sandbox_mode": "read-only",
        "developer_instructions": '# Reviewer\n\nReview the diff. Never write """ or \\n.\n',
    }


def test_installed_files_land_in_dot_codex_and_at_the_project_root(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    root = make_bundle(FILES)
    report = run_install(root, targets=["codex"], into=tmp_path / "p")
    assert report.lines == [
        "add: .agents/skills/lint/SKILL.md",
        "add: .agents/skills/lint/lint.sh",
        "add: .codex/agents/review/security.toml",
        "add: .codex/agents/reviewer.toml",
        "add: AGENTS.md",
    ]


def test_mcp_servers_are_written_as_tables(make_bundle: BundleFactory) -> None:
    agent = AGENT.replace(
        "  color: red\n", "  mcp_servers:\n    docs: {command: npx, args: [-y, docs]}\n"
    )
    root = make_bundle({"promptbundle.toml": CONFIG, "agents/reviewer.md": agent})
    result = build_outputs(load(root))
    assert result.diagnostics == []
    [output] = [o for o in result.outputs if o.target == "codex"]
    text = output.content.decode()
    assert text.endswith('"""\n\n[mcp_servers.docs]\ncommand = "npx"\nargs = ["-y", "docs"]\n')
    assert tomllib.loads(text)["mcp_servers"] == {
        "docs": {"command": "npx", "args": ["-y", "docs"]}
    }


def test_a_body_set_in_the_block_is_replaced_by_the_body(make_bundle: BundleFactory) -> None:
    agent = AGENT.replace("  color: red\n", "  developer_instructions: other\n")
    root = make_bundle({"promptbundle.toml": CONFIG, "agents/reviewer.md": agent})
    result = build_outputs(load(root))
    assert [x.field for x in result.lossy] == ["developer_instructions", "tools"]
    [output] = [o for o in result.outputs if o.target == "codex"]
    assert output.content == REVIEWER.encode()


def test_a_broken_field_gives_its_schema_code(make_bundle: BundleFactory) -> None:
    agent = AGENT.replace("sandbox_mode: read-only", "sandbox_mode: yolo")
    root = make_bundle({"promptbundle.toml": CONFIG, "agents/reviewer.md": agent})
    result = build_outputs(load(root))
    assert [(d.code, d.severity, d.output) for d in result.diagnostics] == [
        ("PB104", "error", "codex/agents/reviewer.toml")
    ]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ('name = "x"\ndescription = "d"\n', [("PB101", "error", 1)]),
        (
            'name = "x"\ndescription = "d"\ndeveloper_instructions = "b"\ncolor = "red"\n',
            [("PB103", "error", 4)],
        ),
        (
            'name = "x"\ndescription = "d"\ndeveloper_instructions = "b"\n'
            "model_reasoning_effort = 3\n",
            [("PB102", "error", 4)],
        ),
        ('name = "x"\ndescription = "d"\ndeveloper_instructions = "  "\n', [("PB106", "error", 3)]),
        ('name = "x\n', [("PB100", "error", 1)]),
    ],
)
def test_agent_files_are_checked_as_toml(
    make_bundle: BundleFactory, text: str, found: list[tuple[str, str, int]]
) -> None:
    fmt = _fmt(make_bundle({"promptbundle.toml": CONFIG}))
    diagnostics = fmt.validate(_output("codex/agents/x.toml", text))
    assert [(d.code, d.severity, d.location.line) for d in diagnostics] == found


def test_a_skill_needs_a_description(make_bundle: BundleFactory) -> None:
    fmt = _fmt(make_bundle({"promptbundle.toml": CONFIG}))
    output = _output("codex/@project/.agents/skills/x/SKILL.md", "---\nname: x\n---\nB\n", "skill")
    assert [(d.code, d.severity) for d in fmt.validate(output)] == [("PB101", "error")]


# -- import --------------------------------------------------------------------------------
def test_import_reads_a_built_agent_toml_back_byte_for_byte(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    from promptbundle.importing.check import check_import
    from promptbundle.importing.convert import convert_file

    built = {o.path: o.content for o in build_outputs(load(make_bundle(FILES))).outputs}
    path = tmp_path / ".codex" / "agents" / "reviewer.toml"
    path.parent.mkdir(parents=True)
    path.write_bytes(built["codex/agents/reviewer.toml"])
    agent = convert_file(path, path.read_bytes())
    assert (agent.format, agent.kind, agent.id) == ("codex", "agent", "reviewer")
    # The tier's model id and the per-tool keys stay in the codex block.
    assert "codex:\n  model: gpt-5-codex-mini\n  model_reasoning_effort: high\n" in agent.text
    assert check_import([path]).summary == "exact 1/1 supported, 0 unsupported, 0 narrowed"


def test_import_of_broken_or_hand_laid_out_toml(tmp_path: Path) -> None:
    from promptbundle.importing.check import check_import

    folder = tmp_path / "agents"
    folder.mkdir()
    (folder / "broken.toml").write_text('name = "x\n')
    (folder / "spaced.toml").write_text(
        'name="x"\ndescription = "d"\ndeveloper_instructions = "Do x."\n'
    )
    broken, spaced = check_import([folder]).files
    assert (broken.status, broken.format) == ("unsupported", None)
    assert broken.reason.startswith("not a codex file (invalid TOML: ")
    # Laid out otherwise than promptbundle writes TOML: import leaves it out, and says where.
    assert (spaced.status, spaced.reason) == (
        "unsupported",
        "laid out otherwise than promptbundle writes it: it would not be written back byte"
        " for byte (byte 4)",
    )


def test_import_leaves_a_hand_laid_out_toml_out_and_a_project_import_carries_it(
    tmp_path: Path,
) -> None:
    from promptbundle.importing.importer import run_import
    from promptbundle.importing.tree import check_tree, import_tree

    project = tmp_path / "project"
    path = project / ".codex" / "agents" / "x.toml"
    path.parent.mkdir(parents=True)
    path.write_text('name="x"\ndescription = "d"\ndeveloper_instructions = "Do x."\n')
    result = run_import([path], into=tmp_path / "files")
    assert result.written == []
    [(unsupported, why)] = result.unsupported
    assert (unsupported, why.split(":")[0]) == (
        path,
        "laid out otherwise than promptbundle writes it",
    )
    tree = import_tree(project, tmp_path / "bundle")
    assert tree.messages == [
        ".codex/agents/x.toml: carried byte for byte, not modelled: laid out otherwise than"
        " promptbundle writes it: it would not be written back byte for byte"
    ]
    assert (tmp_path / "bundle/files/.codex/agents/x.toml").read_bytes() == path.read_bytes()
    check = check_tree(project)
    assert (check.files, check.reproduced, check.carried, check.modelled) == (1, 1, 1, 0)
