"""agents-md: the AGENTS rules as the project's AGENTS.md and nested ones."""

from __future__ import annotations

from pathlib import Path

from promptbundle.build.pipeline import build_outputs, load
from promptbundle.commands.install import run_install
from promptbundle.formats.agents_md import AGENTS_MD_LIMIT, AgentsMdFormat
from promptbundle.formats.registry import FORMATS, KNOWN_FORMATS
from tests.support import BASIC_CONFIG, BundleFactory

CONFIG = BASIC_CONFIG + 'targets = ["agents-md"]\n'
FILES = {
    "promptbundle.toml": CONFIG,
    "rules/AGENTS.md": "---\ndescription: Project rules\n---\nRun the tests.\n",
    "rules/backend/AGENTS.md": "Backend: use type hints.\n",
    "rules/python.md": "Only for other tools.\n",
    "agents/a.md": "---\nname: a\ndescription: d\n---\nBody\n",
}


def test_the_format_is_registered_and_not_a_default_target() -> None:
    assert FORMATS["agents-md"] is AgentsMdFormat
    assert AgentsMdFormat.kinds == frozenset({"rule"})
    assert "agents-md" not in KNOWN_FORMATS.defaults


def test_the_agents_rules_become_the_root_and_nested_files(make_bundle: BundleFactory) -> None:
    result = build_outputs(load(make_bundle(FILES)))
    built = {o.path: o.content for o in result.outputs if o.target == "agents-md"}
    assert built == {
        "agents-md/AGENTS.md": b"Run the tests.\n",
        "agents-md/backend/AGENTS.md": b"Backend: use type hints.\n",
    }
    assert [(x.agent, x.field) for x in result.lossy if x.target == "agents-md"] == [
        ("rule:AGENTS", "description")
    ]


def test_install_writes_them_at_the_project_root(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    report = run_install(make_bundle(FILES), targets=["agents-md"], into=tmp_path / "p")
    assert report.lines == ["add: AGENTS.md", "add: backend/AGENTS.md"]


def test_an_agents_md_over_32_kib_is_a_warning(make_bundle: BundleFactory) -> None:
    root = make_bundle(
        {"promptbundle.toml": CONFIG, "rules/AGENTS.md": "x" * AGENTS_MD_LIMIT + "\n"}
    )
    [found] = build_outputs(load(root)).diagnostics
    assert (found.code, found.severity, found.location.path) == (
        "PB125",
        "warning",
        "rules/AGENTS.md",
    )
