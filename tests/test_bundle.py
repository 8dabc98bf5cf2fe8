"""This repository's own bundle: structure, cleanliness and how a fragment edit propagates."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from promptbundle.build.pipeline import build_outputs, load

ROOT = Path(__file__).resolve().parent.parent
REQUIRED_FRAGMENTS = ["anti-bloat", "code-quality", "git", "reporting", "security", "testing"]


def _outputs(root: Path) -> dict[str, bytes]:
    return {o.path: o.content for o in build_outputs(load(root)).outputs}


def test_every_seed_agent_is_built_for_every_target() -> None:
    bundle = load(ROOT)
    ids = sorted(a.id for a in bundle.prompts if a.kind == "agent")
    assert ids == [
        "backend-python-expert",
        "dev-python",
        "python-dev",
        "python-developer",
        "python-engineer",
    ]
    result = build_outputs(bundle)
    for target in bundle.config.targets:
        if target.format == "agents-md":  # AGENTS.md files only: rules
            continue
        if target.format == "custom" and "agent" not in target.kinds:  # its own kinds only
            continue
        built = {o.agent for o in result.outputs if o.target == target.name and o.kind}
        if target.name == "roo":  # every agent is a mode of the one .roomodes
            modes = next(o for o in result.outputs if o.path == "roo/@project/.roomodes")
            built = {a for a in ids if f"slug: {a}\n".encode() in modes.content}
        assert set(ids) <= built, target.name


def test_the_bundle_has_a_command_and_a_rule_built_from_the_agents_fragments() -> None:
    bundle = load(ROOT)
    assert sorted((p.kind, p.id) for p in bundle.prompts if p.kind != "agent") == [
        ("command", "review-python"),
        ("rule", "AGENTS"),
    ]
    result = build_outputs(bundle)
    paths = {o.path: o for o in result.outputs if o.kind in ("command", "rule")}
    assert sorted(paths) == [
        "agents-md/AGENTS.md",
        "claude-code/commands/review-python.md",
        "claude-code/rules/AGENTS.md",
        "claude-plugin/plugins/python-agents/commands/review-python.md",
        "cline/@project/.clinerules/AGENTS.md",
        "cline/@project/.clinerules/workflows/review-python.md",
        "codex/@project/AGENTS.md",
        "continue/.continue/prompts/review-python.md",
        "continue/.continue/rules/agents.md",
        "copilot/instructions/AGENTS.instructions.md",
        "copilot/prompts/review-python.prompt.md",
        "cursor/commands/review-python.md",
        "cursor/rules/AGENTS.mdc",
        "devin/rules/AGENTS.md",
        "gemini/commands/review-python.toml",
        "kiro/prompts/review-python.md",
        "kiro/steering/AGENTS.md",
        "opencode/@project/AGENTS.md",
        "opencode/command/review-python.md",
        "roo/commands/review-python.md",
        "roo/rules/AGENTS.md",
    ]
    for output in paths.values():
        assert "fragments/code-quality.md" in output.sources, output.path
        assert "fragments/testing.md" in output.sources, output.path


def test_each_required_fragment_is_used_by_at_least_three_agents() -> None:
    result = build_outputs(load(ROOT))
    for name in REQUIRED_FRAGMENTS:
        users = {o.agent for o in result.outputs if f"fragments/{name}.md" in o.sources}
        assert len(users) >= 3, (name, users)


def test_the_catalog_lists_which_prompts_each_fragment_reaches() -> None:
    catalog = next(o for o in build_outputs(load(ROOT)).outputs if o.path == "README.md")
    text = catalog.content.decode("utf-8")
    assert (
        "| `git.md` | backend-python-expert, dev-python, python-dev, python-developer,"
        " rule:AGENTS |\n"
    ) in text
    assert not (ROOT / "fragments/README.md").exists()  # a build never writes into sources


def test_outputs_are_clean_markdown() -> None:
    for path, content in _outputs(ROOT).items():
        text = content.decode("utf-8")
        assert "\\#" not in text and "\\*" not in text and "&nbsp;" not in text, path
        assert "\n\n\n" not in text, path
        assert not re.search(r"[ \t]+\n", text), path
        assert text.endswith("\n") and not text.endswith("\n\n"), path
        assert text.count("```") % 2 == 0, path


def test_editing_one_line_of_a_fragment_changes_exactly_the_outputs_that_include_it(
    tmp_path: Path,
) -> None:
    for name in ("agents", "commands", "rules", "fragments", "targets"):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    before = build_outputs(load(tmp_path))
    fragment = tmp_path / "fragments/testing.md"
    line = "- Add tests for bug fixes and tricky edge cases."
    text = fragment.read_text(encoding="utf-8")
    assert line in text
    fragment.write_text(text.replace(line, "- Add a regression test for every bug fix."))
    after = {o.path: o.content for o in build_outputs(load(tmp_path)).outputs}
    changed = {o.path for o in before.outputs if after[o.path] != o.content}
    # Roo Code's .roomodes holds every agent, so it has no one agent.
    including = {o.path for o in before.outputs if line.encode() in o.content}
    assert including, "the edited line reaches no output"
    assert changed - {"README.md"} == including
    assert all("fragments/testing.md" in o.sources for o in before.outputs if o.path in changed)


def test_every_agent_variable_is_documented_in_the_agents_readme() -> None:
    readme = (ROOT / "agents/README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([\w-]+)` \|", readme, re.MULTILINE))
    used = {name for prompt in load(ROOT).prompts for name in prompt.vars}
    assert used <= documented, used - documented
    assert {p.id for p in load(ROOT).prompts if p.kind == "agent"} <= documented
