"""Importing a whole project folder: each prompt becomes a source of its kind that records
the path it came from, every other file is carried; build + install write every file back
at its path with its bytes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from promptbundle.build.pipeline import load
from promptbundle.cli import main
from promptbundle.commands.build import run_build
from promptbundle.commands.install import run_install
from promptbundle.core.errors import UsageError
from promptbundle.importing.tree import (
    PlannedPrompt,
    check_tree,
    convert_plan,
    import_tree,
    plan_tree,
)
from tests.support import write_tree

RECORD = ".promptbundle-install.json"  # the install's own record, not a project file

# -- small projects ------------------------------------------------------------------------
CLAUDE_FOLDER = {
    # a nested agent: its folder is part of its id
    ".claude/agents/team/reviewer.md": (
        b"---\nname: reviewer\ndescription: Reviews code\ntools: Read, Grep\nmodel: sonnet\n"
        b"---\nBe kind.\n"
    ),
    # a nested command without frontmatter, with CRLF line endings
    ".claude/commands/git/commit.md": b"Commit the staged changes.\r\nMessage: $ARGUMENTS\r\n",
    # a skill with a resource file (and Jinja-looking text that must stay as is)
    ".claude/skills/pdf/SKILL.md": (
        b"---\nname: pdf\ndescription: Reads PDF files\n---\nRun scripts/extract.py {{ file }}.\n"
    ),
    ".claude/skills/pdf/scripts/extract.py": b"import sys\n\nprint(sys.argv[1])\n",
    # a hook script: no prompt, carried byte for byte
    ".claude/hooks/check.sh": b"#!/bin/sh\necho checked\n",
}
PLUGIN_FOLDER = {
    "tools/.claude-plugin/plugin.json": b'{"name": "tools", "version": "1.0.0"}\n',
    "tools/agents/helper.md": b"---\nname: helper\ndescription: Helps out\n---\nHelp.\n",
    "tools/commands/deploy.md": b"---\ndescription: Deploys\n---\nDeploy to $ARGUMENTS.",
}
RULE_FILES = {
    "AGENTS.md": b"# Agents\n\nRun the tests before committing.\n",
    "CLAUDE.md": b"\xef\xbb\xbf# Claude\n\nBe brief.\n\n",  # a BOM and two final newlines
}
OPENCODE_FOLDER = {
    ".opencode/agents/x.md": b"---\ndescription: Does x\nmode: subagent\n---\nDo x.\n"
}


@dataclass(frozen=True)
class Case:
    """A small project and what importing it must give."""

    files: Mapping[str, bytes]
    plan: list[PlannedPrompt]
    # (project path, plugin) of every file carried byte for byte.
    carried: list[tuple[str, str]]
    # Bundle path -> (kind, id, plugin, format, recorded project path) of every source.
    sources: Mapping[str, tuple[str, str, str, str, str]]
    # Every other file the import writes into the bundle.
    others: list[str]
    targets: list[str]
    summary: str
    build: str
    # Files the install writes besides the project's own (the record left aside).
    extras: list[str] = field(default_factory=list)
    # check_tree's figures (not_reproduced is always empty here).
    check: Mapping[str, int] = field(default_factory=dict)


SKILL = PlannedPrompt(
    ".claude/skills/pdf/SKILL.md", "skill", "pdf", "", "claude-code", ("scripts/extract.py",)
)
AGENT = PlannedPrompt(
    ".claude/agents/team/reviewer.md", "agent", "team/reviewer", "", "claude-code"
)
COMMAND = PlannedPrompt(
    ".claude/commands/git/commit.md", "command", "git/commit", "", "claude-code"
)
OPENCODE = PlannedPrompt(".opencode/agents/x.md", "agent", "x", "", "opencode")
AGENTS_RULE = PlannedPrompt("AGENTS.md", "rule", "AGENTS", "", "opencode")
CLAUDE_RULE = PlannedPrompt("CLAUDE.md", "rule", "CLAUDE", "", "claude-code")
HELPER = PlannedPrompt("tools/agents/helper.md", "agent", "helper", "tools", "claude-plugin")
DEPLOY = PlannedPrompt("tools/commands/deploy.md", "command", "deploy", "tools", "claude-plugin")

CLAUDE_SOURCES = {
    "agents/team/reviewer.md": (
        "agent",
        "team/reviewer",
        "",
        "claude-code",
        ".claude/agents/team/reviewer.md",
    ),
    "commands/git/commit.md": (
        "command",
        "git/commit",
        "",
        "claude-code",
        ".claude/commands/git/commit.md",
    ),
    "skills/pdf/SKILL.md": ("skill", "pdf", "", "claude-code", ".claude/skills/pdf/SKILL.md"),
}
PLUGIN_SOURCES = {
    "plugins/tools/agents/helper.md": (
        "agent",
        "helper",
        "tools",
        "claude-plugin",
        "tools/agents/helper.md",
    ),
    "plugins/tools/commands/deploy.md": (
        "command",
        "deploy",
        "tools",
        "claude-plugin",
        "tools/commands/deploy.md",
    ),
}
RULE_SOURCES = {
    "rules/AGENTS.md": ("rule", "AGENTS", "", "opencode", "AGENTS.md"),
    "rules/CLAUDE.md": ("rule", "CLAUDE", "", "claude-code", "CLAUDE.md"),
}
OPENCODE_SOURCES = {"agents/x.md": ("agent", "x", "", "opencode", ".opencode/agents/x.md")}
CLAUDE_OTHERS = ["files/.claude/hooks/check.sh", "skills/pdf/scripts/extract.py"]
PLUGIN_OTHERS = ["plugins/tools/.claude-plugin/plugin.json", "plugins/tools/plugin.toml"]

CASES = {
    "claude-folder": Case(
        files=CLAUDE_FOLDER,
        plan=[SKILL, AGENT, COMMAND],
        carried=[(".claude/hooks/check.sh", "")],
        sources=CLAUDE_SOURCES,
        others=CLAUDE_OTHERS,
        targets=["claude-code"],
        summary="imported 3 of 3 prompt file(s) as sources, carried 1 file(s) byte for byte, "
        "0 unsupported",
        # claude-code: agent, command, skill and its resource; files: the hook; the catalog
        build="built 6 outputs for 3 prompts into dist/: 6 written, 0 unchanged, 0 removed",
        check={"files": 5, "reproduced": 5, "carried": 1, "prompts": 3, "modelled": 3},
    ),
    "plugin": Case(
        files=PLUGIN_FOLDER,
        plan=[HELPER, DEPLOY],
        carried=[("tools/.claude-plugin/plugin.json", "tools")],
        sources=PLUGIN_SOURCES,
        others=PLUGIN_OTHERS,
        targets=["claude-plugin"],
        summary="imported 2 of 2 prompt file(s) as sources, carried 1 file(s) byte for byte, "
        "0 unsupported",
        # claude-plugin: marketplace, plugin.json, agent, command; the catalog
        build="built 5 outputs for 2 prompts into dist/: 5 written, 0 unchanged, 0 removed",
        # the install folder is the marketplace root
        extras=[".claude-plugin/marketplace.json"],
        check={"files": 3, "reproduced": 3, "carried": 1, "prompts": 2, "modelled": 2},
    ),
    "rule-files": Case(
        files=RULE_FILES,
        plan=[AGENTS_RULE, CLAUDE_RULE],
        carried=[],
        sources=RULE_SOURCES,
        others=[],
        targets=["claude-code", "opencode"],
        summary="imported 2 of 2 prompt file(s) as sources, carried 0 file(s) byte for byte, "
        "0 unsupported",
        # claude-code: rules/AGENTS.md and CLAUDE.md; opencode: AGENTS.md; the catalog
        build="built 4 outputs for 2 prompts into dist/: 4 written, 0 unchanged, 0 removed",
        # claude-code carries every rule: AGENTS as one of its rules
        extras=[".claude/rules/AGENTS.md"],
        check={"files": 2, "reproduced": 2, "carried": 0, "prompts": 2, "modelled": 2},
    ),
    "opencode-folder": Case(
        files=OPENCODE_FOLDER,
        plan=[OPENCODE],
        carried=[],
        sources=OPENCODE_SOURCES,
        others=[],
        targets=["opencode"],
        summary="imported 1 of 1 prompt file(s) as sources, carried 0 file(s) byte for byte, "
        "0 unsupported",
        build="built 2 outputs for 1 prompt into dist/: 2 written, 0 unchanged, 0 removed",
        check={"files": 1, "reproduced": 1, "carried": 0, "prompts": 1, "modelled": 1},
    ),
    "all-together": Case(
        files={**CLAUDE_FOLDER, **PLUGIN_FOLDER, **RULE_FILES, **OPENCODE_FOLDER},
        plan=[SKILL, AGENT, COMMAND, OPENCODE, AGENTS_RULE, CLAUDE_RULE, HELPER, DEPLOY],
        carried=[(".claude/hooks/check.sh", ""), ("tools/.claude-plugin/plugin.json", "tools")],
        sources={**CLAUDE_SOURCES, **PLUGIN_SOURCES, **RULE_SOURCES, **OPENCODE_SOURCES},
        others=CLAUDE_OTHERS + PLUGIN_OTHERS,
        targets=["claude-code", "claude-plugin", "opencode"],
        summary="imported 8 of 8 prompt file(s) as sources, carried 2 file(s) byte for byte, "
        "0 unsupported",
        # claude-code 7, claude-plugin 10, opencode 6, files 1, the catalog 1
        build="built 25 outputs for 8 prompts into dist/: 25 written, 0 unchanged, 0 removed",
        # Every format carries the kinds its tool reads: claude-code also gets the opencode
        # agent and the AGENTS rule, opencode the .claude prompts (in its own folders), and
        # the root prompts form the plugin `plugins/<bundle name>` of the marketplace.
        extras=[
            ".claude-plugin/marketplace.json",
            ".claude/agents/x.md",
            ".claude/rules/AGENTS.md",
            ".opencode/agent/team/reviewer.md",
            ".opencode/command/git/commit.md",
            ".opencode/skill/pdf/SKILL.md",
            ".opencode/skill/pdf/scripts/extract.py",
            "plugins/project/.claude-plugin/plugin.json",
            "plugins/project/agents/team/reviewer.md",
            "plugins/project/agents/x.md",
            "plugins/project/commands/git/commit.md",
            "plugins/project/skills/pdf/SKILL.md",
            "plugins/project/skills/pdf/scripts/extract.py",
        ],
        check={"files": 11, "reproduced": 11, "carried": 2, "prompts": 8, "modelled": 8},
    ),
}
CASE_IDS = list(CASES)


def project(tmp_path: Path, case: Case) -> Path:
    return write_tree(tmp_path / "project", case.files)


def files_under(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` by its relative path (the install record left out)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != RECORD
    }


def assert_written_back(case: Case, out: Path) -> None:
    """Every project file is at its path in `out` with its bytes; the rest are the extras."""
    installed = files_under(out)
    for rel, data in case.files.items():
        assert installed.get(rel) == data, rel
    assert sorted(set(installed) - set(case.files)) == case.extras


# -- plan_tree / convert_plan --------------------------------------------------------------
@pytest.mark.parametrize("name", CASE_IDS)
def test_plan_tree_places_every_file(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    plan = plan_tree(project(tmp_path, case))
    assert plan.prompts == case.plan
    assert plan.carried == case.carried
    assert plan.plugins == ({"tools": "tools"} if "tools/agents/helper.md" in case.files else {})
    assert plan.unsupported == [] and plan.notes == [] and plan.converted == []


@pytest.mark.parametrize("name", CASE_IDS)
def test_convert_plan_makes_a_source_of_its_kind_for_every_prompt(
    tmp_path: Path, name: str
) -> None:
    case = CASES[name]
    plan = plan_tree(project(tmp_path, case))
    convert_plan(plan)
    assert plan.notes == [] and plan.unsupported == []
    assert plan.carried == case.carried
    converted = {a.source_rel: (a.kind, a.id, a.plugin, a.format) for a in plan.converted}
    assert converted == {rel: item[:4] for rel, item in case.sources.items()}


def test_plan_tree_refuses_a_file(tmp_path: Path) -> None:
    path = write_tree(tmp_path, {"AGENTS.md": b"# Agents\n"}) / "AGENTS.md"
    with pytest.raises(UsageError) as caught:
        plan_tree(path)
    assert caught.value.message == f"not a folder: {path}"


def test_a_prompt_file_that_cannot_be_modelled_is_carried_with_a_note(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "project",
        {
            ".claude/agents/a.md": b"---\nname: a\ndescription: A\n---\nA.\n",
            ".claude/agents/NOTES.md": b"Notes about the agents, no frontmatter.\n",
        },
    )
    plan = plan_tree(root)
    convert_plan(plan)
    assert [a.source_rel for a in plan.converted] == ["agents/a.md"]
    assert plan.carried == [(".claude/agents/NOTES.md", "")]
    assert plan.notes == [
        ".claude/agents/NOTES.md: carried byte for byte, not modelled: not a claude-code file"
        " (no `---` frontmatter)"
    ]
    result = import_tree(root, tmp_path / "bundle")
    assert result.summary == (
        "imported 1 of 2 prompt file(s) as sources, carried 1 file(s) byte for byte, 0 unsupported"
    )
    assert result.messages == plan.notes
    assert (tmp_path / "bundle/files/.claude/agents/NOTES.md").read_bytes() == (
        b"Notes about the agents, no frontmatter.\n"
    )
    check = check_tree(root)
    assert (check.files, check.reproduced, check.prompts, check.modelled) == (2, 2, 2, 1)
    assert check.missing == []


# -- import_tree ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", CASE_IDS)
def test_import_tree_writes_sources_of_their_kind_and_carries_the_rest(
    tmp_path: Path, name: str
) -> None:
    case = CASES[name]
    bundle = tmp_path / "bundle"
    result = import_tree(project(tmp_path, case), bundle)
    assert result.summary == case.summary
    assert result.messages == [] and result.unsupported == [] and result.narrowed == 0
    written = sorted(p.relative_to(bundle).as_posix() for p in result.written)
    assert written == sorted(["promptbundle.toml", *case.sources, *case.others])
    assert sorted(files_under(bundle)) == written
    listed = ", ".join(f'"{t}"' for t in case.targets)
    assert (bundle / "promptbundle.toml").read_text(encoding="utf-8") == (
        f'name = "project"\nversion = "0.0.0"\ntargets = [{listed}]\n'
    )
    prompts = {p.rel: p for p in load(bundle).prompts}
    assert {
        rel: (p.kind, p.id, p.plugin, p.imported["format"], p.imported["path"])
        for rel, p in prompts.items()
    } == case.sources
    for rel, prompt in prompts.items():
        assert prompt.imported["source"] == prompt.imported["path"], rel
        assert "\nimport:\n" in (bundle / rel).read_text(encoding="utf-8"), rel


def test_import_tree_keeps_resources_beside_the_skill_and_carried_bytes(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    import_tree(project(tmp_path, CASES["claude-folder"]), bundle)
    [skill] = [p for p in load(bundle).prompts if p.kind == "skill"]
    assert skill.resources == ("scripts/extract.py",)
    assert (bundle / "skills/pdf/scripts/extract.py").read_bytes() == (
        CLAUDE_FOLDER[".claude/skills/pdf/scripts/extract.py"]
    )
    assert (bundle / "files/.claude/hooks/check.sh").read_bytes() == (
        CLAUDE_FOLDER[".claude/hooks/check.sh"]
    )
    command = (bundle / "commands/git/commit.md").read_text(encoding="utf-8")
    # no name or description is made up for a command; the CRLF endings are recorded
    assert command.startswith("---\nimport:\n  format: claude-code\n")
    assert "  newline: crlf\n" in command and "\r" not in command


def test_import_tree_writes_the_plugin_folder(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    import_tree(project(tmp_path, CASES["plugin"]), bundle)
    assert (bundle / "plugins/tools/plugin.toml").read_text(encoding="utf-8") == (
        'name = "tools"\npath = "tools"\n'
    )
    assert (bundle / "plugins/tools/.claude-plugin/plugin.json").read_bytes() == (
        PLUGIN_FOLDER["tools/.claude-plugin/plugin.json"]
    )
    [plugin] = load(bundle).plugins
    assert (plugin.name, plugin.path) == ("tools", "tools")
    labels = sorted(p.label for p in load(bundle).prompts)
    assert labels == ["tools/agent:helper", "tools/command:deploy"]


def test_import_tree_refuses_to_overwrite_and_force_replaces(tmp_path: Path) -> None:
    root = project(tmp_path, CASES["all-together"])
    bundle = tmp_path / "bundle"
    import_tree(root, bundle)
    with pytest.raises(UsageError) as caught:
        import_tree(root, bundle)
    assert caught.value.message == (
        f"10 file(s) already exist in {bundle} (first: skills/pdf/SKILL.md); import into an"
        " empty folder, or use --force to replace them"
    )
    again = import_tree(root, bundle, force=True)
    assert again.messages == [
        f"{bundle}: note: the bundle's own targets are kept; the project's files are written"
        " back by claude-code, claude-plugin, opencode"
    ]
    assert len(load(bundle).prompts) == 8


# -- build + install write every file back -------------------------------------------------
@pytest.mark.parametrize("name", CASE_IDS)
def test_cli_build_and_install_write_every_file_back_byte_for_byte(
    tmp_path: Path, name: str
) -> None:
    case = CASES[name]
    bundle, out = tmp_path / "bundle", tmp_path / "out"
    import_tree(project(tmp_path, case), bundle)
    runner = CliRunner()
    built = runner.invoke(main, ["build", "--root", str(bundle)])
    assert built.exit_code == 0, built.output
    assert built.stdout == case.build + "\n"
    installed = runner.invoke(main, ["install", "--root", str(bundle), "--into", str(out)])
    assert installed.exit_code == 0, installed.output
    assert_written_back(case, out)


@pytest.mark.parametrize("name", CASE_IDS)
def test_run_install_writes_every_file_back_byte_for_byte(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    bundle, out = tmp_path / "bundle", tmp_path / "out"
    import_tree(project(tmp_path, case), bundle)
    run_build(bundle)
    outcome = run_install(bundle, into=out)
    assert_written_back(case, out)
    added = sorted(rel for t in outcome.data["targets"] for rel in t["added"])
    assert added == sorted([*case.files, *case.extras])
    # every installable target, and `files` when the bundle carries files
    names = [t["target"] for t in outcome.data["targets"]]
    assert names == case.targets + (["files"] if case.carried else [])


# -- check_tree ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", CASE_IDS)
def test_check_tree_counts_every_file_written_back(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    check = check_tree(project(tmp_path, case))
    assert check.as_json() == {**case.check, "unsupported": 0, "not_reproduced": []}
    assert not (tmp_path / "bundle").exists()  # nothing written beside the project


def test_check_tree_names_a_file_not_written_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import promptbundle.importing.tree as tree

    real = tree._installed

    def losing_the_hook(*args: object) -> dict[str, bytes]:
        found = real(*args)  # type: ignore[arg-type]
        del found[".claude/hooks/check.sh"]
        found[".claude/agents/team/reviewer.md"] += b"changed"
        return found

    monkeypatch.setattr(tree, "_installed", losing_the_hook)
    check = check_tree(project(tmp_path, CASES["claude-folder"]))
    assert check.as_json() == {
        "files": 5,
        "reproduced": 3,
        "carried": 0,
        "unsupported": 0,
        "prompts": 3,
        "modelled": 3,
        "not_reproduced": [
            {"path": ".claude/agents/team/reviewer.md", "reason": "written with other bytes"},
            {"path": ".claude/hooks/check.sh", "reason": "not written by any target"},
        ],
    }


def test_symbolic_links_are_left_out_with_a_reason(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "project",
        {".claude/agents/a.md": b"---\nname: a\ndescription: A\n---\nA.\n", "README.md": b"x\n"},
    )
    (root / "LINK.md").symlink_to("README.md")
    (root / ".claude/agents/b.md").symlink_to("a.md")
    result = import_tree(root, tmp_path / "bundle")
    reason = "a symbolic link is not carried (it could lead out of the project)"
    assert result.unsupported == [("LINK.md", reason), (".claude/agents/b.md", reason)]
    assert result.summary == (
        "imported 1 of 2 prompt file(s) as sources, carried 1 file(s) byte for byte, 2 unsupported"
    )
    assert sorted(files_under(tmp_path / "bundle")) == [
        "agents/a.md",
        "files/README.md",
        "promptbundle.toml",
    ]
    assert check_tree(root).as_json() == {
        "files": 4,
        "reproduced": 2,
        "carried": 1,
        "unsupported": 2,
        "prompts": 2,
        "modelled": 1,
        "not_reproduced": [
            {"path": ".claude/agents/b.md", "reason": reason},
            {"path": "LINK.md", "reason": reason},
        ],
    }


# -- the CLI ---------------------------------------------------------------------------------
def test_cli_import_of_a_folder_then_build_and_install_write_it_back(tmp_path: Path) -> None:
    case = CASES["all-together"]
    root = project(tmp_path, case)
    bundle, out = tmp_path / "bundle", tmp_path / "out"
    runner = CliRunner()
    imported = runner.invoke(main, ["import", str(root), "--into", str(bundle)])
    assert imported.exit_code == 0, imported.output
    assert imported.stdout == f"{root}: {case.summary}\n"
    assert imported.stderr == ""
    assert sorted(p.rel for p in load(bundle).prompts) == sorted(case.sources)
    built = runner.invoke(main, ["build", "--root", str(bundle)])
    assert built.exit_code == 0, built.output
    installed = runner.invoke(main, ["install", "--root", str(bundle), "--into", str(out)])
    assert installed.exit_code == 0, installed.output
    assert_written_back(case, out)


def test_cli_import_of_a_folder_twice_exits_2_and_force_exits_0(tmp_path: Path) -> None:
    root = project(tmp_path, CASES["claude-folder"])
    bundle = tmp_path / "bundle"
    runner = CliRunner()
    args = ["import", str(root), "--into", str(bundle)]
    assert runner.invoke(main, args).exit_code == 0
    again = runner.invoke(main, args)
    assert again.exit_code == 2
    assert (again.stdout, again.stderr) == (
        "",
        f"error: 4 file(s) already exist in {bundle} (first: skills/pdf/SKILL.md); import into"
        " an empty folder, or use --force to replace them\n",
    )
    forced = runner.invoke(main, [*args, "--force"])
    assert forced.exit_code == 0, forced.output


def test_cli_import_json_of_a_folder(tmp_path: Path) -> None:
    root = project(tmp_path, CASES["plugin"])
    bundle = tmp_path / "bundle"
    result = CliRunner().invoke(main, ["import", "--json", str(root), "--into", str(bundle)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "command": "import",
        "exit_code": 0,
        "message": f"{root}: {CASES['plugin'].summary}",
        "diagnostics": [],
        "bundle": str(bundle),
        "written": 5,  # promptbundle.toml, plugin.toml, plugin.json, the agent, the command
    }


def test_cli_import_check_json_of_a_folder_adds_the_tree(tmp_path: Path) -> None:
    root = project(tmp_path, CASES["all-together"])
    result = CliRunner().invoke(main, ["import", "--check", "--json", str(root)])
    assert result.exit_code == 0, result.output
    # One by one, a file is judged by its name and frontmatter alone: commands and rules
    # need their place in the project, which only the tree import reads.
    unsupported = {
        ".claude/commands/git/commit.md": "no frontmatter and no skill table",
        ".claude/hooks/check.sh": ".sh file extension",
        ".claude/skills/pdf/scripts/extract.py": ".py file extension",
        "CLAUDE.md": "no frontmatter and no skill table",
        "tools/.claude-plugin/plugin.json": ".json file extension",
        "tools/commands/deploy.md": "a command, not an agent",
    }
    assert json.loads(result.stdout) == {
        "command": "import",
        "exit_code": 0,
        "message": "exact 5/5 supported, 6 unsupported, 0 narrowed; tree: 11/11 files written"
        " back at their paths (2 carried), 8/8 prompt files modelled",
        "diagnostics": [],
        "files": 11,
        "supported": 5,
        "exact": 5,
        "unsupported": 6,
        "narrowed": 0,
        "failures": [],
        "unsupported_files": [
            {"path": str(root / rel), "reason": f"unsupported format ({reason})"}
            for rel, reason in unsupported.items()
        ],
        "narrowed_files": [],
        "tree": {
            "files": 11,
            "reproduced": 11,
            "carried": 2,
            "unsupported": 0,
            "prompts": 8,
            "modelled": 8,
            "not_reproduced": [],
        },
    }
    assert not (tmp_path / "bundle").exists() and sorted(files_under(root)) == sorted(
        CASES["all-together"].files
    )


def test_cli_import_check_of_files_only_has_no_tree(tmp_path: Path) -> None:
    root = project(tmp_path, CASES["opencode-folder"])
    result = CliRunner().invoke(
        main, ["import", "--check", "--json", str(root / ".opencode/agents/x.md")]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "tree" not in data
    assert data["message"] == "exact 1/1 supported, 0 unsupported, 0 narrowed"


# -- what looks like product bugs (see the report in the test names) ------------------------
def test_a_command_with_a_long_file_name_is_written_back(tmp_path: Path) -> None:
    name = "a" * 65
    root = write_tree(tmp_path / "project", {f".claude/commands/{name}.md": b"Do it.\n"})
    check = check_tree(root)
    assert (check.files, check.reproduced) == (1, 1)


def test_check_tree_counts_a_prompt_file_carried_instead_as_carried(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "project",
        {
            ".claude/agents/a.md": b"---\nname: a\ndescription: A\n---\nA.\n",
            ".claude/agents/NOTES.md": b"Notes about the agents, no frontmatter.\n",
        },
    )
    assert import_tree(root, tmp_path / "bundle").carried == 1
    assert check_tree(root).carried == 1


def test_a_command_with_a_colon_in_its_name_installs(tmp_path: Path) -> None:
    files = {
        ".claude/commands/svelte/svelte:a11y.md": b"Check accessibility.\n",
        ".claude/hooks/check.sh": b"#!/bin/sh\n",
    }
    root = write_tree(tmp_path / "project", files)
    bundle, out = tmp_path / "bundle", tmp_path / "out"
    import_tree(root, bundle)
    run_build(bundle)
    run_install(bundle, into=out)
    assert files_under(out) == files


# -- the real trees, read in place -----------------------------------------------------------
TREES = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "trees"
# check_tree's figures for each tree: files, reproduced, carried, unsupported, prompts, modelled.
TREE_FIGURES = {
    # 2 prompt files (.claude/agents/WORKFLOW_EXAMPLES.md, external/wshobson/ATTRIBUTION.md)
    # have no frontmatter: carried, not modelled (and not counted as carried, see above)
    "claude-command-suite": (375, 375, 49, 0, 309, 307),
    "claude-plugins-official": (439, 439, 232, 0, 92, 92),
    "opencode-agents-and-skills": (59, 59, 9, 0, 50, 50),
    "superpowers": (68, 68, 16, 0, 16, 16),
}
needs_trees = pytest.mark.skipif(
    not TREES.is_dir(), reason="../shared/corpus/trees is absent (the real-tree test data)"
)


@needs_trees
@pytest.mark.parametrize("name", sorted(TREE_FIGURES))
def test_real_tree_is_reproduced_by_check_tree(name: str) -> None:
    check = check_tree(TREES / name)
    figures = (
        check.files,
        check.reproduced,
        check.carried,
        check.unsupported,
        check.prompts,
        check.modelled,
    )
    assert figures == TREE_FIGURES[name], check.missing
    assert check.reproduced >= 0.99 * check.files
    assert check.modelled >= 0.90 * check.prompts
    assert check.missing == []


@needs_trees
@pytest.mark.parametrize(
    "name",
    [
        "claude-command-suite",
        "claude-plugins-official",
        "opencode-agents-and-skills",
        "superpowers",
    ],
)
def test_real_tree_import_build_install_writes_every_file_back(tmp_path: Path, name: str) -> None:
    root = TREES / name
    bundle, out = tmp_path / "bundle", tmp_path / "out"
    import_tree(root, bundle)
    run_build(bundle)
    run_install(bundle, into=out)
    installed = files_under(out)
    original = {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()}
    assert len(original) == TREE_FIGURES[name][0]
    assert [
        rel for rel, p in sorted(original.items()) if installed.get(rel) != p.read_bytes()
    ] == []


def test_a_loose_agent_file_is_modelled_and_a_readme_is_carried(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "project",
        {
            "team/reviewer.md": "---\nname: reviewer\ndescription: Reviews\n---\nReview.\n",
            "README.md": "---\nname: readme\ndescription: Looks like an agent\n---\nDocs.\n",
        },
    )
    plan = plan_tree(root)
    assert [(p.rel, p.kind, p.prompt_id, p.format) for p in plan.prompts] == [
        ("team/reviewer.md", "agent", "reviewer", "claude-code")
    ]
    assert plan.carried == [("README.md", "")]
    check = check_tree(root)
    assert (check.files, check.reproduced, check.carried, check.prompts, check.modelled) == (
        2,
        2,
        1,
        1,
        1,
    )
