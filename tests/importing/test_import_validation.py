"""Imported agents still build: a verbatim native output's errors are warnings, and an
agent whose other outputs would fail validation is narrowed to the targets that pass."""

from __future__ import annotations

import json
from collections import Counter
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
LONG_SKILL = LONG_DESCRIPTION  # as skills/reviewer/SKILL.md: an Agent Skill
AS_IMPORTED = (
    "as imported: 'name' must be lowercase letters, digits and hyphens"
    " (Claude Code skips the agent otherwise) (PB110)"
)
AS_IMPORTED_LINE = f"dist/claude-code/agents/reviewer-bot.md:2:1: warning: {AS_IMPORTED} [PB124]"
TOO_LONG = "'description' is 1040 characters, more than 1024"
# agent-skill carries skills only; this target file makes it ship each agent as a skill too.
AGENTS_AS_SKILLS = {"targets/agent-skill.toml": 'convert = ["agent"]\n'}


def config(*targets: str) -> str:
    names = ", ".join(f'"{t}"' for t in targets)
    return f'name = "demo"\nversion = "1.0.0"\ntargets = [{names}]\n'


def imported_bundle(make_bundle: BundleFactory, tmp_path: Path, data: bytes, *targets: str) -> Path:
    """A bundle holding the file's agent source exactly as convert_file writes it (agents
    converted into skills when agent-skill is a target)."""
    original = write_tree(tmp_path / "in", {"reviewer-bot.md": data}) / "reviewer-bot.md"
    agent = convert_file(original, data)
    files = {"promptbundle.toml": config(*targets), agent.source_rel: agent.text}
    return make_bundle({**files, **(AGENTS_AS_SKILLS if "agent-skill" in targets else {})})


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
    # At the source's description line; the output is named second.
    assert str(error.location) == "agents/reviewer.md:3:1"
    assert error.output == "agent-skill/reviewer/SKILL.md"
    assert (
        error.message == f"{TOO_LONG} (in dist/agent-skill/reviewer/SKILL.md)"
    )  # not "as imported"


def test_import_narrows_an_agent_to_the_targets_that_validate(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle(
        {
            "promptbundle.toml": config("claude-code", "opencode", "agent-skill"),
            **AGENTS_AS_SKILLS,
            "in/reviewer.md": LONG_DESCRIPTION,
        }
    )
    outcome = import_command([root / "in/reviewer.md"], root=root)
    source = (root / "agents/reviewer.md").read_text(encoding="utf-8")
    assert "\ntargets:\n  - claude-code\n  - opencode\n" in source
    assert outcome.messages == [
        f"{root / 'in/reviewer.md'}: narrowed: reviewer builds for claude-code, opencode;"
        " left out agent-skill (first error: agents/reviewer.md:3:1: error:"
        f" {TOO_LONG} (in dist/agent-skill/reviewer/SKILL.md) [PB107])"
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
        {
            "promptbundle.toml": config("claude-code", "agent-skill"),
            **AGENTS_AS_SKILLS,
            "in/reviewer-bot.md": data,
        }
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
    # The default targets that take agents (claude-code, claude-plugin, opencode) set no
    # limit on an agent's description: nothing is narrowed.
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path, {"in/reviewer.md": LONG_DESCRIPTION})
    outcome = import_command([Path("in/reviewer.md")], root=None)
    source = (tmp_path / "agents/reviewer.md").read_text(encoding="utf-8")
    assert "targets:" not in source
    assert outcome.messages == []
    assert outcome.summary == "imported 1 file(s), 0 unsupported; 0 lossy note(s)"


def test_import_without_a_bundle_narrows_a_skill_to_the_default_targets_that_validate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A skill goes to every default target; those following the Agent Skills limit on the
    # description (all but skill-table and the verbatim native agent-skill) are left out.
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path, {"in/skills/reviewer/SKILL.md": LONG_SKILL})
    outcome = import_command([Path("in/skills/reviewer/SKILL.md")], root=None)
    source = (tmp_path / "skills/reviewer/SKILL.md").read_text(encoding="utf-8")
    assert "\ntargets:\n  - agent-skill\n  - skill-table\nimport:\n" in source
    assert outcome.messages == [
        "in/skills/reviewer/SKILL.md: narrowed: skill:reviewer builds for agent-skill,"
        " skill-table; left out claude-code, claude-plugin, opencode (first error:"
        f" skills/reviewer/SKILL.md:3:1: error: {TOO_LONG}"
        " (in dist/claude-code/skills/reviewer/SKILL.md) [PB107])"
    ]
    assert outcome.summary == (
        "imported 1 file(s), 0 unsupported; 0 lossy note(s);"
        " 1 agent(s) narrowed (see 'narrowed:' lines)"
    )


# -- import --check counts narrowed prompts --------------------------------------------------
def test_import_check_reports_narrowed_agents_in_text_and_json(tmp_path: Path) -> None:
    # check builds each file with every format but no target file: agents are not converted
    # into skills, so the long agent description is not narrowed; the long skill's is.
    files = write_tree(
        tmp_path,
        {
            "a/reviewer.md": LONG_DESCRIPTION,
            "a/ok.md": CAPITAL,
            "a/skills/reviewer/SKILL.md": LONG_SKILL,
        },
    )
    report = check_import([files / "a"])
    assert report.summary == "exact 3/3 supported, 0 unsupported, 1 narrowed"
    assert report.exit_code == 0
    reason = (
        f"skills/reviewer/SKILL.md:3:1: error: {TOO_LONG}"
        " (in dist/claude-code/skills/reviewer/SKILL.md) [PB107]"
    )
    skill = files / "a/skills/reviewer/SKILL.md"
    assert report.lines() == [
        f"{skill}: narrowed: left out claude-code, claude-plugin, copilot, cursor, devin, kiro,"
        f" opencode (first error: {reason})"
    ]
    data = report.as_json()
    assert data["narrowed"] == 1
    assert data["narrowed_files"] == [
        {
            "path": str(skill),
            "kept": ["agent-skill", "cline", "codex", "gemini", "roo", "skill-table"],
            "left_out": [
                "claude-code",
                "claude-plugin",
                "copilot",
                "cursor",
                "devin",
                "kiro",
                "opencode",
            ],
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
# The corpus files import supports, by the kind of prompt each becomes.
KINDS_IMPORTED = Counter({"agent": 48, "skill": 12, "command": 3, "rule": 23})


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus/public is absent")
def test_public_corpus_imports_builds_and_writes_every_file_back_byte_for_byte(
    make_bundle: BundleFactory,
) -> None:
    # The corpus is a heap of unrelated files, not a project: its files are imported one by
    # one (a folder would be imported as a whole project, see test_tree.py).
    root = make_bundle({"promptbundle.toml": config(*sorted(FORMATS))})
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file())
    outcome = import_command(files, root=root)
    assert outcome.summary.startswith(f"imported {KINDS_IMPORTED.total()} file(s), ")
    run_build(root)  # raises on any validation error
    bundle = load(root)
    assert Counter(p.kind for p in bundle.prompts) == KINDS_IMPORTED
    manifest = json.loads((root / "dist/manifest.json").read_text(encoding="utf-8"))
    for prompt in bundle.prompts:
        native = prompt.imported["format"]
        original = Path(prompt.imported["source"])
        [entry] = [
            e for e in manifest["outputs"] if e["target"] == native and e["prompt"] == prompt.label
        ]
        output = root / "dist" / entry["path"]
        assert output.read_bytes() == original.read_bytes(), original
