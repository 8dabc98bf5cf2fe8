"""Imported agents still build: a verbatim native output's errors are warnings, and an
agent whose other outputs would fail validation is narrowed to the targets that pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from promptbundle.build.pipeline import build_outputs, load
from promptbundle.cli import main
from promptbundle.commands.build import run_build
from promptbundle.commands.import_ import run_import_command as import_command
from promptbundle.core.errors import BuildFailedError
from promptbundle.formats.registry import FORMATS
from promptbundle.importing.check import check_import
from promptbundle.importing.convert import convert_file
from promptbundle.review.check import run_checks as run_check
from tests.support import BundleFactory, write_tree

LONG = "Reviews code." * 80  # 1,040 characters: over the Agent Skills limit of 1,024
CAPITAL = b"---\nname: Reviewer Bot\ndescription: Reviews code\n---\nBe kind.\n"
LONG_DESCRIPTION = f"---\nname: reviewer\ndescription: {LONG}\n---\nBe kind.\n".encode()
AS_IMPORTED = (
    "as imported: 'name' must be lowercase letters, digits and hyphens"
    " (Claude Code skips the agent otherwise) (PB110)"
)
AS_IMPORTED_LINE = f"dist/claude-code/agents/reviewer-bot.md:2:1: warning: {AS_IMPORTED} [PB124]"
TOO_LONG = "'description' is 1040 characters, more than 1024"


def config(*targets: str) -> str:
    names = ", ".join(f'"{t}"' for t in targets)
    return f'name = "demo"\nversion = "1.0.0"\ntargets = [{names}]\n'


def imported_bundle(make_bundle: BundleFactory, tmp_path: Path, data: bytes, *targets: str) -> Path:
    """A bundle holding the file's agent source exactly as convert_file writes it."""
    original = write_tree(tmp_path / "in", {"reviewer-bot.md": data}) / "reviewer-bot.md"
    agent = convert_file(original, data)
    return make_bundle({"promptbundle.toml": config(*targets), f"agents/{agent.id}.md": agent.text})


# -- policy (a): a verbatim native output reproduces the user's file -----------------------
def test_error_in_a_verbatim_native_output_is_a_warning_marked_as_imported(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    root = imported_bundle(make_bundle, tmp_path, CAPITAL, "claude-code")
    result = build_outputs(load(root))
    assert result.errors == []
    [warning] = result.diagnostics
    assert warning.severity == "warning" and warning.code == "PB124"
    assert warning.message == AS_IMPORTED
    [output] = [o for o in result.outputs if o.agent]
    assert output.content == CAPITAL


def test_build_writes_a_verbatim_output_with_errors_and_strict_refuses(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    root = imported_bundle(make_bundle, tmp_path, CAPITAL, "claude-code")
    outcome = run_build(root)
    assert outcome.messages == [AS_IMPORTED_LINE]
    assert (root / "dist/claude-code/agents/reviewer-bot.md").read_bytes() == CAPITAL
    with pytest.raises(BuildFailedError) as caught:
        run_build(root, strict=True)
    assert caught.value.message == "build failed: 1 warning(s) with --strict; nothing written"


def test_check_strict_fails_on_an_as_imported_warning(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    root = imported_bundle(make_bundle, tmp_path, CAPITAL, "claude-code")
    report = run_check(root)
    assert [d.code for d in report.diagnostics] == ["PB124"]
    assert report.exit_code() == 0
    assert report.exit_code(strict=True) == 1


# -- policy (b): other targets of an imported agent are validated as usual ----------------
def test_error_in_another_target_of_an_imported_agent_still_fails_the_build(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    root = imported_bundle(make_bundle, tmp_path, LONG_DESCRIPTION, "claude-code", "agent-skill")
    result = build_outputs(load(root))
    [error] = result.errors
    assert error.code == "PB107"
    assert str(error.location) == "dist/agent-skill/reviewer/SKILL.md:3:1"
    assert error.message == TOO_LONG  # not "as imported"


def test_import_narrows_an_agent_to_the_targets_that_validate(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle(
        {
            "promptbundle.toml": config("claude-code", "opencode", "agent-skill"),
            "in/reviewer.md": LONG_DESCRIPTION,
        }
    )
    outcome = import_command([root / "in/reviewer.md"], root=root)
    source = (root / "agents/reviewer.md").read_text(encoding="utf-8")
    assert "\ntargets:\n  - claude-code\n  - opencode\n" in source
    assert outcome.messages == [
        f"{root / 'in/reviewer.md'}: narrowed: reviewer builds for claude-code, opencode;"
        " left out agent-skill (first error: dist/agent-skill/reviewer/SKILL.md:3:1: error:"
        f" {TOO_LONG} [PB107])"
    ]
    assert outcome.summary == (
        "imported 1 file(s), 0 unsupported; 0 lossy note(s);"
        " 1 agent(s) narrowed (see 'narrowed:' lines)"
    )
    run_build(root)
    assert (root / "dist/claude-code/agents/reviewer.md").read_bytes() == LONG_DESCRIPTION
    assert not (root / "dist/agent-skill").exists()


def test_import_keeps_the_native_target_even_when_its_file_breaks_a_rule(
    make_bundle: BundleFactory,
) -> None:
    data = CAPITAL.replace(b"Reviews code", LONG.encode())
    root = make_bundle(
        {"promptbundle.toml": config("claude-code", "agent-skill"), "in/reviewer-bot.md": data}
    )
    import_command([root / "in/reviewer-bot.md"], root=root)
    source = (root / "agents/reviewer-bot.md").read_text(encoding="utf-8")
    assert "\ntargets:\n  - claude-code\nimport:" in source
    outcome = run_build(root)
    assert (root / "dist/claude-code/agents/reviewer-bot.md").read_bytes() == data
    assert outcome.messages == [AS_IMPORTED_LINE]


def test_import_leaves_targets_out_of_an_agent_that_builds_everywhere(
    make_bundle: BundleFactory,
) -> None:
    ok = b"---\nname: reviewer\ndescription: Reviews code\n---\nBe kind.\n"
    root = make_bundle({"promptbundle.toml": config("claude-code", "agent-skill"), "in/r.md": ok})
    outcome = import_command([root / "in/r.md"], root=root)
    assert "targets:" not in (root / "agents/reviewer.md").read_text(encoding="utf-8")
    assert outcome.messages == []
    assert outcome.summary == "imported 1 file(s), 0 unsupported; 0 lossy note(s)"


def test_import_without_a_bundle_judges_the_default_targets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path, {"in/reviewer.md": LONG_DESCRIPTION})
    outcome = import_command([Path("in/reviewer.md")], root=None)
    source = (tmp_path / "agents/reviewer.md").read_text(encoding="utf-8")
    assert "  - agent-skill\n" not in source and "  - claude-code\n" in source
    assert outcome.messages == [
        "in/reviewer.md: narrowed: reviewer builds for claude-code, claude-plugin, opencode,"
        " skill-table; left out agent-skill (first error: dist/agent-skill/reviewer/SKILL.md:3:1:"
        f" error: {TOO_LONG} [PB107])"
    ]


# -- import --check counts narrowed agents ---------------------------------------------------
def test_import_check_reports_narrowed_agents_in_text_and_json(tmp_path: Path) -> None:
    files = write_tree(tmp_path, {"a/reviewer.md": LONG_DESCRIPTION, "a/ok.md": CAPITAL})
    report = check_import([files / "a"])
    assert report.summary == "exact 2/2 supported, 0 unsupported, 1 narrowed"
    assert report.exit_code == 0
    reason = f"dist/agent-skill/reviewer/SKILL.md:3:1: error: {TOO_LONG} [PB107]"
    assert report.lines() == [
        f"{files / 'a/reviewer.md'}: narrowed: left out agent-skill (first error: {reason})"
    ]
    data = report.as_json()
    assert data["narrowed"] == 1
    assert data["narrowed_files"] == [
        {
            "path": str(files / "a/reviewer.md"),
            "kept": [
                "claude-code",
                "claude-plugin",
                "copilot-agent",
                "copilot-prompt",
                "cursor-rule",
                "opencode",
                "skill-table",
            ],
            "left_out": ["agent-skill"],
            "reason": reason,
        }
    ]
    result = CliRunner().invoke(main, ["import", "--check", "--json", str(files / "a")])
    assert result.exit_code == 0
    cli_data = json.loads(result.stdout)
    assert cli_data["narrowed"] == 1
    assert cli_data["narrowed_files"] == data["narrowed_files"]


# -- the whole public corpus -----------------------------------------------------------------
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
CORPUS = SHARED / "corpus" / "public"


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus/public is absent")
def test_public_corpus_imports_builds_and_writes_every_file_back_byte_for_byte(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle({"promptbundle.toml": config(*sorted(FORMATS))})
    import_command([CORPUS], root=root)
    run_build(root)  # raises on any validation error
    bundle = load(root)
    assert len(bundle.agents) >= 80
    for agent in bundle.agents:
        native = agent.imported["format"]
        original = Path(agent.imported["source"])
        [output] = [
            p for p in (root / "dist" / native).rglob("*") if p.is_file() and _is_of(p, agent.id)
        ]
        assert output.read_bytes() == original.read_bytes(), original


def _is_of(path: Path, agent_id: str) -> bool:
    name = path.name.split(".")[0]
    return name == agent_id or (name == "SKILL" and path.parent.name == agent_id)
