"""docs/formats.md is generated from the format classes and stays in step with them."""

from __future__ import annotations

from pathlib import Path

from promptbundle.core.model import BundleConfig, TargetConfig
from promptbundle.formats.base import Format
from promptbundle.formats.docs import FORMATS_DOC, formats_markdown, project_path
from promptbundle.formats.registry import FORMATS

REPO = Path(__file__).resolve().parents[2]


def test_the_committed_formats_doc_is_the_generated_one() -> None:
    committed = (REPO / FORMATS_DOC).read_text(encoding="utf-8")
    assert committed == formats_markdown(), (
        f"{FORMATS_DOC} is out of step with the format modules: regenerate it with "
        "`.venv/bin/python tools/formats_doc.py` and commit the result"
    )


def test_every_built_in_format_has_a_row_and_a_section() -> None:
    text = formats_markdown()
    for name in FORMATS:
        assert f"| [`{name}`](#{name}) |" in text
        assert f"\n## {name}\n" in text


def test_paths_are_where_the_tool_reads_them_in_a_project() -> None:
    bundle = BundleConfig(root=Path("."), source=Path("promptbundle.toml"), name="b", version="1")

    def fmt(name: str) -> Format:
        return FORMATS[name](TargetConfig(name=name, format=name), bundle)

    assert project_path(fmt("codex"), "skill") == ".agents/skills/<id>/SKILL.md"
    assert project_path(fmt("roo"), "agent") == ".roomodes"
    assert project_path(fmt("agents-md"), "rule", "backend/AGENTS") == "backend/AGENTS.md"
    assert project_path(fmt("claude-plugin"), "agent") == "plugins/b/agents/<id>.md"
    assert project_path(fmt("kiro"), "agent") == ".kiro/agents/<id>.json"
