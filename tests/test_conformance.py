"""The real clients (pinned, under .clients/) accept what the build writes and reject broken
outputs. Run by `make conformance`, which installs the clients first; plain `pytest` skips
this module by marker."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

from promptbundle.commands.build import run_build

pytestmark = pytest.mark.conformance

_SCRIPT = Path(__file__).resolve().parent.parent / "tools" / "conformance.py"
_spec = importlib.util.spec_from_file_location("conformance", _SCRIPT)
assert _spec is not None and _spec.loader is not None
conformance = importlib.util.module_from_spec(_spec)
sys.modules["conformance"] = conformance
_spec.loader.exec_module(conformance)

AGENT = """\
---
name: reviewer
description: "Reviews code: finds bugs before they ship"
model: sonnet
tools: [Read, Grep, Bash]
opencode: {mode: subagent, temperature: 0.2}
claude-code: {maxTurns: 20}
---
# Reviewer

{{ fragment("rules", level=2) }}
"""


@pytest.fixture(scope="module", autouse=True)
def clients_installed():
    for binary in (
        conformance.opencode_bin(),
        conformance.claude_bin(),
        conformance.agentskills_bin(),
        conformance.gemini_core_dir() / "package.json",
        conformance.codex_bin(),
        conformance.gemini_cli_bundle(),
        conformance.copilot_bin(),
        conformance.CLIENTS_DIR / "cline/node_modules/@cline/core/package.json",
        conformance.CLIENTS_DIR / "roo/node_modules/@roo-code/types/package.json",
    ):
        assert binary.exists(), f"{binary} is missing: run `make conformance` to install it"


@pytest.fixture
def dist(make_bundle):
    root = make_bundle(
        {
            "agents/reviewer.md": AGENT,
            "agents/writer.md": AGENT.replace("reviewer", "writer"),
            "commands/review.md": "---\ndescription: Review the diff\n---\nReview $ARGUMENTS.\n",
            "skills/lint/SKILL.md": "---\nname: lint\ndescription: Lint the code\n---\nRun ruff.\n",
            "skills/lint/scripts/run.sh": "ruff check .\n",
            "rules/AGENTS.md": "# Rules\n\n{{ fragment('rules', level=2) }}\n",
            "fragments/rules.md": "# Rules\n\nRead the diff twice.\n",
            # This bundle also ships its agents as Agent Skills.
            "targets/agent-skill.toml": 'convert = ["agent"]\n',
        }
    )
    run_build(root)
    return root / "dist"


def test_every_output_of_a_good_build_passes_every_client(dist):
    results = list(conformance.check_dist(dist))
    assert [r.line() for r in results if not r.ok] == []
    assert {r.client for r in results} == {"opencode", "claude", "agentskills"}
    # opencode: 2 agents and the command; agentskills: the skill and 2 converted agents;
    # claude: the claude-code agents, the plugin and the marketplace.
    assert len(results) == 3 + 3 + 3


def test_opencode_accepts_a_built_agent(dist):
    result = conformance.opencode_agent(dist / "opencode/agent/reviewer.md")
    assert result.ok, result.detail


def test_opencode_loads_a_built_command_with_its_body_as_template(dist):
    result = conformance.opencode_command(dist / "opencode/command/review.md", "review")
    assert result.ok, result.detail


def test_opencode_command_check_fails_when_the_frontmatter_is_broken(tmp_path):
    broken = tmp_path / "review.md"
    broken.write_text("---\ndescription: [unclosed\n---\nReview.\n")
    result = conformance.opencode_command(broken, "review")
    # opencode takes the whole file as the template when its YAML does not parse.
    assert (result.ok, result.detail) == (False, "the loaded template is not the file's body")


def test_opencode_check_fails_when_yaml_is_silently_ignored(tmp_path):
    broken = tmp_path / "broken.md"
    broken.write_text("---\ndescription: [unclosed\nmode: subagent\n---\nBody\n")
    result = conformance.opencode_agent(broken)
    assert not result.ok
    assert "frontmatter was not parsed" in result.detail


def test_opencode_check_fails_on_an_invalid_mode(tmp_path):
    broken = tmp_path / "broken.md"
    broken.write_text("---\ndescription: d\nmode: bogus\n---\nBody\n")
    result = conformance.opencode_agent(broken)
    assert not result.ok
    assert "mode" in result.detail


def test_claude_rejects_a_broken_plugin_manifest(dist, tmp_path):
    plugin = tmp_path / "plugin"
    shutil.copytree(dist / "claude-plugin/plugins/demo", plugin)
    assert conformance.claude_validate(plugin).ok
    (plugin / ".claude-plugin/plugin.json").write_text('{"name": "demo", "author": "me"}\n')
    result = conformance.claude_validate(plugin)
    assert not result.ok
    assert "author" in result.detail


def test_claude_rejects_a_marketplace_without_description(dist, tmp_path):
    market = tmp_path / "market"
    shutil.copytree(dist / "claude-plugin", market)
    assert conformance.claude_validate(market).ok
    path = market / ".claude-plugin/marketplace.json"
    path.write_text(path.read_text().replace('"description"', '"descripton"', 1))
    assert not conformance.claude_validate(market).ok


def test_claude_rejects_a_claude_code_agent_with_broken_yaml(dist, tmp_path):
    good = sorted((dist / "claude-code/agents").glob("*.md"))
    assert conformance._claude_agents(good).ok
    broken = tmp_path / "broken.md"
    broken.write_text('---\nname: broken\ndescription: "a" b\n---\nBody\n')
    result = conformance._claude_agents([*good, broken])
    assert not result.ok
    assert "YAML" in result.detail


def test_agentskills_rejects_an_extra_field_and_a_wrong_folder(dist, tmp_path):
    skill = tmp_path / "reviewer"
    shutil.copytree(dist / "agent-skill/reviewer", skill)
    assert conformance.skill_validate(skill).ok
    text = (skill / "SKILL.md").read_text()
    (skill / "SKILL.md").write_text(text.replace("name: reviewer", "name: reviewer\nmodel: opus"))
    result = conformance.skill_validate(skill)
    assert not result.ok
    assert "model" in result.detail
    moved = tmp_path / "other"
    shutil.copytree(dist / "agent-skill/reviewer", moved)
    assert not conformance.skill_validate(moved).ok


def test_check_dist_fails_when_one_output_is_broken(dist):
    path = dist / "opencode/agent/writer.md"
    path.write_text(path.read_text().replace("mode: subagent", "mode: sometimes"))
    failed = [r for r in conformance.check_dist(dist) if not r.ok]
    assert [Path(r.subject).name for r in failed] == ["writer.md"]


# Gemini CLI (gemini-cli-core's loaders) and Codex (`codex debug prompt-input`, `codex
# app-server`) on a bundle built for both.
GEMINI_CODEX_AGENT = """\
---
name: reviewer
description: "Reviews code: finds bugs before they ship"
model: sonnet
tools: [Read, Grep, Bash]
---
# Reviewer

Read the diff twice.
"""


@pytest.fixture
def gc_dist(make_bundle):
    root = make_bundle(
        {
            "promptbundle.toml": 'name = "demo"\nversion = "1.2.3"\ndescription = "Demo"\n'
            'author = "Demo Team"\ntargets = ["gemini", "codex"]\n',
            "agents/reviewer.md": GEMINI_CODEX_AGENT,
            "commands/review.md": "---\ndescription: Review the diff\n---\nReview $ARGUMENTS.\n",
            "skills/lint/SKILL.md": "---\nname: lint\ndescription: Lint the code\n---\nRun ruff.\n",
            "skills/lint/scripts/run.sh": "ruff check .\n",
            "rules/AGENTS.md": "# Rules\n\nRead the diff twice.\n",
        }
    )
    run_build(root)
    return root / "dist"


def test_a_gemini_and_codex_build_passes_every_client(gc_dist):
    results = list(conformance.check_dist(gc_dist))
    assert [r.line() for r in results if not r.ok] == []
    subjects = sorted(str(Path(r.subject).relative_to(gc_dist)) for r in results)
    # The command is built for Gemini only (Codex has none): Gemini CLI's loader reads it.
    assert subjects == [
        "codex/@project/.agents/skills/lint/SKILL.md",
        "codex/@project/AGENTS.md",
        "codex/agents/reviewer.toml",
        "gemini/agents/reviewer.md",
        "gemini/commands/review.toml",
        "gemini/skills/lint/SKILL.md",
    ]


def _failed(results):
    return {Path(r.subject).name: r.detail for r in results if not r.ok}


def test_gemini_rejects_an_unknown_key_and_a_bad_name(gc_dist, tmp_path):
    root = tmp_path / "gemini"
    shutil.copytree(gc_dist / "gemini", root)
    assert [r.line() for r in conformance.gemini_check(root) if not r.ok] == []
    agent = root / "agents/reviewer.md"
    text = agent.read_text()
    agent.write_text(text.replace("name: reviewer", "name: reviewer\ncolor: red"))
    (root / "agents/other.md").write_text(text.replace("name: reviewer", "name: Other Agent"))
    failed = _failed(conformance.gemini_check(root))
    assert set(failed) == {"reviewer.md", "other.md"}
    assert "Unrecognized key(s) in object: 'color'" in failed["reviewer.md"]
    assert "Name must be a valid slug" in failed["other.md"]


def test_gemini_reports_a_skill_it_skips(gc_dist, tmp_path):
    root = tmp_path / "gemini"
    shutil.copytree(gc_dist / "gemini", root)
    skill = root / "skills/lint/SKILL.md"
    skill.write_text(skill.read_text().replace("description: Lint the code\n", ""))
    failed = _failed(conformance.gemini_check(root))
    assert list(failed) == ["SKILL.md"]
    assert "skill was not loaded" in failed["SKILL.md"]


def test_codex_rejects_an_agent_with_an_unknown_field(gc_dist, tmp_path):
    root = tmp_path / "codex"
    shutil.copytree(gc_dist / "codex", root)
    assert [r.line() for r in conformance.codex_check(root) if not r.ok] == []
    agent = root / "agents/reviewer.toml"
    agent.write_text(
        agent.read_text().replace('name = "reviewer"\n', 'name = "reviewer"\ncolor = "red"\n')
    )
    failed = _failed(conformance.codex_check(root))
    assert list(failed) == ["reviewer.toml"]
    assert "Ignoring malformed agent role definition" in failed["reviewer.toml"]
    assert "unknown field `color`" in failed["reviewer.toml"]


def test_codex_rejects_a_skill_without_description(gc_dist, tmp_path):
    root = tmp_path / "codex"
    shutil.copytree(gc_dist / "codex", root)
    skill = root / "@project/.agents/skills/lint/SKILL.md"
    skill.write_text(skill.read_text().replace("description: Lint the code\n", ""))
    failed = _failed(conformance.codex_check(root))
    assert failed == {"SKILL.md": "missing field `description`"}


def test_check_dist_fails_on_a_broken_gemini_or_codex_agent(gc_dist):
    gemini = gc_dist / "gemini/agents/reviewer.md"
    gemini.write_text(gemini.read_text().replace("model:", "maxTurns: 3\nmodel:"))
    codex = gc_dist / "codex/agents/reviewer.toml"
    codex.write_text(codex.read_text().replace("model =", "max_turns = 3\nmodel ="))
    failed = [r for r in conformance.check_dist(gc_dist) if not r.ok]
    assert sorted((r.client, Path(r.subject).name) for r in failed) == [
        ("codex", "reviewer.toml"),
        ("gemini", "reviewer.md"),
    ]
    detail = {r.client: r.detail for r in failed}
    assert "'maxTurns'" in detail["gemini"]
    assert "unknown field `max_turns`" in detail["codex"]


def test_gemini_loads_a_nested_command_and_skips_one_without_prompt(gc_dist, tmp_path):
    root = tmp_path / "gemini"
    shutil.copytree(gc_dist / "gemini", root)
    nested = root / "commands/git/commit.toml"
    nested.parent.mkdir()
    nested.write_text('description = "Commit"\nprompt = "Write a commit message."\n')
    assert [r.line() for r in conformance.gemini_commands_check(root) if not r.ok] == []
    command = root / "commands/review.toml"
    command.write_text(command.read_text().replace("prompt =", "promt ="))
    nested.write_text('prompt = "unclosed\n')
    failed = _failed(conformance.gemini_commands_check(root))
    assert set(failed) == {"review.toml", "commit.toml"}
    assert "command 'review' was not loaded" in failed["review.toml"]
    assert "command 'git:commit' was not loaded" in failed["commit.toml"]


# Copilot CLI, Cline and Roo Code on a bundle built for the three.
@pytest.fixture
def ccr_dist(make_bundle):
    root = make_bundle(
        {
            "promptbundle.toml": 'name = "demo"\nversion = "1.2.3"\ndescription = "Demo"\n'
            'author = "Demo Team"\ntargets = ["copilot", "cline", "roo"]\n',
            "agents/reviewer.md": GEMINI_CODEX_AGENT,
            "agents/review/security.md": "---\ndescription: Security review\n---\nCheck.\n",
            "commands/review.md": "---\ndescription: Review the diff\n---\nReview $ARGUMENTS.\n",
            "skills/lint/SKILL.md": "---\nname: lint\ndescription: Lint the code\n---\nRun ruff.\n",
            "rules/python.md": "---\ncline: {paths: ['**/*.py']}\ncopilot: {applyTo: '**/*.py'}\n"
            "---\nUse ruff.\n",
            "rules/copilot-instructions.md": "# Rules\n\nRead the diff twice.\n",
        }
    )
    run_build(root)
    return root / "dist"


def test_copilot_loads_every_agent_skill_and_instructions_file(ccr_dist):
    results = conformance.copilot_check(ccr_dist / "copilot")
    assert [r.line() for r in results if not r.ok] == []
    subjects = sorted(str(Path(r.subject).relative_to(ccr_dist)) for r in results)
    # Prompt files are VS Code's: the CLI does not read them, so they are not among these.
    assert subjects == [
        "copilot/agents/review/security.agent.md",
        "copilot/agents/reviewer.agent.md",
        "copilot/copilot-instructions.md",
        "copilot/instructions/python.instructions.md",
        "copilot/skills/lint/SKILL.md",
    ]


def test_copilot_check_fails_on_a_dropped_agent_and_a_broken_skill(ccr_dist, tmp_path):
    root = tmp_path / "copilot"
    shutil.copytree(ccr_dist / "copilot", root)
    agent = root / "agents/reviewer.agent.md"
    # Copilot drops an agent without a description without a word.
    lines = agent.read_text().splitlines(keepends=True)
    agent.write_text("".join(x for x in lines if not x.startswith("description:")))
    skill = root / "skills/lint/SKILL.md"
    skill.write_text(skill.read_text().replace("name: lint", "name: -lint"))
    failed = _failed(conformance.copilot_check(root))
    assert set(failed) == {"reviewer.agent.md", "SKILL.md"}
    assert "agent 'reviewer' was not loaded" in failed["reviewer.agent.md"]
    assert "Skill name must start with an ASCII letter or number" in failed["SKILL.md"]


def test_cline_loads_every_agent_skill_rule_and_workflow(ccr_dist):
    results = conformance.cline_check(ccr_dist / "cline")
    assert [r.line() for r in results if not r.ok] == []
    assert sorted(str(Path(r.subject).relative_to(ccr_dist)) for r in results) == [
        "cline/@project/.clinerules/copilot-instructions.md",
        "cline/@project/.clinerules/python.md",
        "cline/@project/.clinerules/workflows/review.md",
        "cline/agents/review_security.yaml",
        "cline/agents/reviewer.yaml",
        "cline/skills/lint/SKILL.md",
    ]


def test_cline_skips_an_agent_file_named_md_and_the_check_says_so(ccr_dist, tmp_path):
    """Cline 3.0.65 loads `.cline/agents/*.yaml` and `*.yml` only, and skips other files
    without a word: the loaded list is compared with the files written."""
    root = tmp_path / "cline"
    shutil.copytree(ccr_dist / "cline", root)
    agent = root / "agents/reviewer.yaml"
    agent.rename(agent.with_suffix(".md"))
    failed = _failed(conformance.cline_check(root))
    assert list(failed) == ["reviewer.md"]
    assert "Cline reads agents from .yaml and .yml files only" in failed["reviewer.md"]


def test_cline_rejects_an_agent_without_description_and_a_broken_skill(ccr_dist, tmp_path):
    root = tmp_path / "cline"
    shutil.copytree(ccr_dist / "cline", root)
    agent = root / "agents/reviewer.yaml"
    lines = agent.read_text().splitlines(keepends=True)
    agent.write_text("".join(x for x in lines if not x.startswith("description:")))
    skill = root / "skills/lint/SKILL.md"
    skill.write_text(skill.read_text().replace("name: lint", "name: [lint"))
    failed = _failed(conformance.cline_check(root))
    assert set(failed) == {"reviewer.yaml", "SKILL.md"}
    # Cline gives one message for any frontmatter that fails its schema.
    assert (
        failed["reviewer.yaml"]
        == "Missing closing YAML frontmatter delimiter in agent config file."
    )
    assert "Failed to parse YAML frontmatter" in failed["SKILL.md"]


def test_roo_accepts_the_built_modes_and_rejects_a_bad_slug(ccr_dist, tmp_path):
    [result] = conformance.roo_check(ccr_dist / "roo")
    assert result.ok, result.line()
    root = tmp_path / "roo"
    shutil.copytree(ccr_dist / "roo", root)
    modes = root / "@project/.roomodes"
    modes.write_text(modes.read_text().replace("slug: reviewer", "slug: the reviewer"))
    [result] = conformance.roo_check(root)
    assert not result.ok
    assert "customModes.1.slug:" in result.detail


def test_check_dist_runs_copilot_cline_and_roo(ccr_dist):
    results = list(conformance.check_dist(ccr_dist))
    assert {r.client for r in results} == {"copilot", "cline", "roo"}
    assert [r.line() for r in results if not r.ok] == []
    assert len(results) == 5 + 6 + 1  # copilot: 5 files, cline: 6, roo: .roomodes
    modes = ccr_dist / "roo/@project/.roomodes"
    modes.write_text(modes.read_text().replace("groups:", "group:", 1))
    failed = [r for r in conformance.check_dist(ccr_dist) if not r.ok]
    assert [(r.client, Path(r.subject).name) for r in failed] == [("roo", ".roomodes")]
