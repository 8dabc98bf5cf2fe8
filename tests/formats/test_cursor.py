"""cursor: agents, commands, rules and skills under .cursor/."""

from __future__ import annotations

from pathlib import Path

from promptbundle.build.pipeline import build_outputs, load
from promptbundle.formats.cursor import CursorFormat
from promptbundle.formats.registry import FORMATS, KNOWN_FORMATS
from promptbundle.importing.convert import convert_file
from tests.support import BASIC_CONFIG, BundleFactory

CONFIG = BASIC_CONFIG + 'targets = ["cursor"]\n'
FILES = {
    "promptbundle.toml": CONFIG,
    "agents/reviewer.md": "---\nname: reviewer\ndescription: Reviews code\nmodel: haiku\n"
    "cursor:\n  readonly: true\n---\nReview the diff.\n",
    "agents/big.md": "---\nname: big\ndescription: Thinks hard\nmodel: opus\n"
    "tools: [Read, Grep]\n---\nThink.\n",
    "agents/writer.md": "---\nname: writer\ndescription: Writes\ntools: [Read, Edit]\n---\nW.\n",
    "commands/commit.md": "---\ndescription: Commit\n---\nWrite a commit message.\n",
    "skills/lint/SKILL.md": "---\nname: lint\ndescription: Lint the code\n---\nRun lint.\n",
    "rules/python.md": "---\nname: python\ncursor:\n  globs: '*.py'\n---\nUse type hints.\n",
}


def test_the_format_is_registered_and_not_a_default_target() -> None:
    assert FORMATS["cursor"] is CursorFormat
    assert CursorFormat.kinds == frozenset({"agent", "command", "skill", "rule"})
    assert "cursor" not in KNOWN_FORMATS.defaults


def test_every_kind_goes_where_cursor_reads_it(make_bundle: BundleFactory) -> None:
    result = build_outputs(load(make_bundle(FILES)))
    built = {o.path: o.content for o in result.outputs if o.target == "cursor"}
    assert built == {
        "cursor/agents/big.md": b"---\nname: big\ndescription: Thinks hard\nreadonly: true\n---\n"
        b"Think.\n",
        "cursor/agents/writer.md": b"---\nname: writer\ndescription: Writes\n---\nW.\n",
        "cursor/agents/reviewer.md": b"---\nname: reviewer\ndescription: Reviews code\n"
        b"model: fast\nreadonly: true\n---\nReview the diff.\n",
        "cursor/commands/commit.md": b"---\ndescription: Commit\n---\nWrite a commit message.\n",
        "cursor/rules/python.mdc": b'---\nglobs: "*.py"\n---\nUse type hints.\n',
        "cursor/skills/lint/SKILL.md": b"---\nname: lint\ndescription: Lint the code\n---\n"
        b"Run lint.\n",
    }
    # A tier Cursor has no model for is dropped and said so, and so is a tool list (an agent
    # whose tools neither edit nor run commands is readonly); a rule's name is its file name.
    assert [(x.agent, x.field) for x in result.lossy] == [
        ("big", "model"),
        ("big", "tools"),
        ("writer", "tools"),
    ]
    assert result.diagnostics == []


def test_import_takes_each_kind_from_its_folder(tmp_path: Path) -> None:
    cases = {
        ".cursor/agents/a.md": ("agent", b"---\nname: a\ndescription: d\n---\nA.\n"),
        ".cursor/commands/c.md": ("command", b"---\ndescription: d\n---\nC.\n"),
        ".cursor/rules/r.mdc": ("rule", b"---\nalwaysApply: true\n---\nR.\n"),
    }
    for rel, (kind, data) in cases.items():
        imported = convert_file(tmp_path / rel, data)
        assert (imported.format, imported.kind) == ("cursor", kind), rel
