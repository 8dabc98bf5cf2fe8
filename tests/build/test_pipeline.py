"""The compiler core: formats, lossiness, rendering rules, errors, determinism, emit."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from promptbundle.build.emit import check_outputs
from promptbundle.build.pipeline import build_outputs, load
from promptbundle.commands.build import run_build
from promptbundle.core.errors import PromptBundleError, UsageError
from promptbundle.core.yamlio import load_yaml
from tests.support import BundleFactory

AGENT = """\
---
name: alpha
description: "Alpha: reviews Python code"
model: sonnet
tools: [Read, Bash, Grep, NotebookEdit]
vars: {stack: flask}
claude-code: {maxTurns: 10, skills: "python-testing, git-workflow"}
claude-plugin: {capabilities: [review], hooks: {}}
opencode: {mode: subagent, temperature: 0.2, maxTurns: 5}
agent-skill: {license: MIT}
---
# Alpha

{{ fragment("testing", level=2) }}
Built for {{ target.name }} with {{ stack }}.
"""

TESTING = """\
# Testing

Run `pytest` for {{ stack }}.

```sh
# a comment, not a heading
```

## Coverage
"""


# agent-skill and skill-table carry skills; these target files make them build agents too.
CONVERT_AGENTS = {
    "targets/agent-skill.toml": 'convert = ["agent"]\n',
    "targets/skill-table.toml": 'convert = ["agent"]\n',
}


def files(**extra: str) -> dict[str, str]:
    return {"agents/alpha.md": AGENT, "fragments/testing.md": TESTING, **extra}


def converting(**extra: str) -> dict[str, str]:
    """files() in a bundle whose agent-skill and skill-table targets convert agents."""
    return files(**CONVERT_AGENTS, **extra)


def outputs_of(root: Path) -> dict[str, str]:
    result = build_outputs(load(root))
    return {o.path: o.content.decode() for o in result.outputs}


def split(text: str) -> tuple[dict[str, object], str]:
    assert text.startswith("---\n")
    head, body = text[4:].split("---\n", 1)
    return load_yaml(head), body


def test_an_agent_builds_only_for_the_default_formats_that_read_agents(
    make_bundle: BundleFactory,
) -> None:
    out = outputs_of(make_bundle(files()))
    assert sorted(out) == [
        "README.md",
        "claude-code/agents/alpha.md",
        "claude-plugin/.claude-plugin/marketplace.json",
        "claude-plugin/plugins/demo/.claude-plugin/plugin.json",
        "claude-plugin/plugins/demo/agents/alpha.md",
        "opencode/agent/alpha.md",
    ]


def test_bundle_converting_agents_builds_into_all_five_formats(
    make_bundle: BundleFactory,
) -> None:
    out = outputs_of(make_bundle(converting()))
    assert sorted(out) == [
        "README.md",
        "agent-skill/alpha/SKILL.md",
        "claude-code/agents/alpha.md",
        "claude-plugin/.claude-plugin/marketplace.json",
        "claude-plugin/plugins/demo/.claude-plugin/plugin.json",
        "claude-plugin/plugins/demo/agents/alpha.md",
        "opencode/agent/alpha.md",
        "skill-table/alpha.md",
    ]


def test_claude_code_maps_tools_to_a_comma_string_and_keeps_its_block(
    make_bundle: BundleFactory,
) -> None:
    text = outputs_of(make_bundle(files()))["claude-code/agents/alpha.md"]
    meta, body = split(text)
    assert list(meta) == ["name", "description", "tools", "model", "maxTurns", "skills"]
    assert meta["tools"] == "Read, Bash, Grep, NotebookEdit"
    assert meta["model"] == "sonnet"
    assert meta["skills"] == "python-testing, git-workflow"
    assert body.startswith("# Alpha\n\n## Testing\n")
    assert "Built for claude-code with flask." in body


def test_opencode_gets_a_tool_map_a_model_id_and_loses_unknown_keys(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle(files())
    result = build_outputs(load(root))
    text = next(o for o in result.outputs if o.path == "opencode/agent/alpha.md").content.decode()
    meta, _ = split(text)
    assert list(meta) == ["description", "mode", "model", "temperature", "permission"]  # no name
    assert meta["mode"] == "subagent" and meta["temperature"] == 0.2
    assert meta["model"] == "anthropic/claude-sonnet-4-5"
    permission = meta["permission"]
    assert isinstance(permission, dict)
    assert "read" not in permission and "bash" not in permission and permission["edit"] == "deny"
    dropped = sorted((x.target, x.field) for x in result.lossy if x.target == "opencode")
    assert dropped == [("opencode", "maxTurns"), ("opencode", "tools.NotebookEdit")]


def test_agent_skill_uses_space_separated_allowed_tools_and_drops_model(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle(converting())
    result = build_outputs(load(root))
    text = next(o for o in result.outputs if o.path == "agent-skill/alpha/SKILL.md")
    assert (text.kind, text.agent) == ("skill", "alpha")
    assert text.sources == (
        "agents/alpha.md",
        "fragments/testing.md",
        "promptbundle.toml",
        "targets/agent-skill.toml",
    )
    meta, _ = split(text.content.decode())
    assert meta == {
        "name": "alpha",
        "description": "Alpha: reviews Python code",
        "license": "MIT",
        "allowed-tools": "Read Bash Grep NotebookEdit",
    }
    dropped = [(x.target, x.field) for x in result.lossy if x.target == "agent-skill"]
    assert dropped == [("agent-skill", "model")]


def test_skill_table_writes_key_value_rows_then_the_body(make_bundle: BundleFactory) -> None:
    text = outputs_of(make_bundle(converting()))["skill-table/alpha.md"]
    assert text.startswith(
        "| name | alpha |\n| description | Alpha: reviews Python code |\n# Alpha\n"
    )


def test_claude_plugin_writes_plugin_and_marketplace_manifests(make_bundle: BundleFactory) -> None:
    out = outputs_of(make_bundle(files()))
    plugin = json.loads(out["claude-plugin/plugins/demo/.claude-plugin/plugin.json"])
    assert plugin == {
        "name": "demo",
        "version": "1.2.3",
        "description": "Demo agents",
        "author": {"name": "Demo Team"},
    }
    market = json.loads(out["claude-plugin/.claude-plugin/marketplace.json"])
    assert market["plugins"][0]["source"] == "./plugins/demo"
    meta, _ = split(out["claude-plugin/plugins/demo/agents/alpha.md"])
    assert meta["capabilities"] == ["review"]
    assert "hooks" not in meta


def test_lossiness_report_names_every_dropped_field(make_bundle: BundleFactory) -> None:
    result = build_outputs(load(make_bundle(converting())))
    report = sorted(str(x) for x in result.lossy)
    assert report == [
        "alpha: agent-skill drops 'model' (agent-skill has no such field)",
        "alpha: claude-plugin drops 'hooks' (plugin agents cannot set it)",
        "alpha: opencode drops 'maxTurns' (opencode has no such field)",
        "alpha: opencode drops 'tools.NotebookEdit' (no opencode equivalent)",
        "alpha: skill-table drops 'model' (skill-table has no such field)",
        "alpha: skill-table drops 'tools' (skill-table has no such field)",
    ]


def test_strict_build_turns_lossiness_into_an_error_and_writes_nothing(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle(files())
    with pytest.raises(PromptBundleError) as info:
        run_build(root, strict=True)
    assert info.value.message == (
        "build failed: 3 dropped field(s) with --strict, 1 warning(s) with --strict;"
        " nothing written"
    )
    assert not (root / "dist").exists()


def test_strict_undefined_variable_is_an_error_with_its_line(make_bundle: BundleFactory) -> None:
    agent = "---\nname: beta\ndescription: Beta\n---\nline one\n{{ missing_var }}\n"
    root = make_bundle({"agents/beta.md": agent})
    with pytest.raises(PromptBundleError) as info:
        build_outputs(load(root))
    assert info.value.lines() == [
        f"{root / 'agents/beta.md'}:6:1: error: 'missing_var' is undefined [PB003]"
    ]


def test_sandbox_refuses_attribute_tricks(make_bundle: BundleFactory) -> None:
    agent = (
        "---\nname: beta\ndescription: Beta\n---\n{{ ''.__class__.__mro__[1].__subclasses__() }}\n"
    )
    root = make_bundle({"agents/beta.md": agent})
    with pytest.raises(PromptBundleError) as info:
        build_outputs(load(root))
    assert info.value.lines() == [
        f"{root / 'agents/beta.md'}:5:1: error: unsafe template: "
        "access to attribute '__class__' of 'str' object is unsafe. [PB003]"
    ]


def test_loader_refuses_paths_outside_the_bundle(make_bundle: BundleFactory) -> None:
    agent = "---\nname: beta\ndescription: Beta\n---\n{% include '../../etc/passwd' %}\n"
    root = make_bundle({"agents/beta.md": agent})
    with pytest.raises(PromptBundleError) as info:
        build_outputs(load(root))
    assert info.value.lines() == [
        f"{root / 'agents/beta.md'}:5:1: error: template '../../etc/passwd' not found"
        " (looked in fragments/ and the root) [PB210]"
    ]


def test_loader_refuses_a_symlink_that_leaves_the_bundle(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.md"
    secret.write_text("top secret\n")
    agent = "---\nname: beta\ndescription: Beta\n---\n{% include 'leak.md' %}\n"
    root = make_bundle({"agents/beta.md": agent})
    (root / "fragments").mkdir()
    os.symlink(secret, root / "fragments" / "leak.md")
    with pytest.raises(PromptBundleError) as info:
        build_outputs(load(root))
    assert info.value.lines() == [
        f"{root / 'fragments/leak.md'}:1:1: error: a symbolic link, not a regular file "
        "(a bundle reads and carries regular files only) [PB006]"
    ]


def test_include_and_import_resolve_under_fragments(make_bundle: BundleFactory) -> None:
    agent = (
        "---\nname: beta\ndescription: Beta\n---\n"
        '{% from "macros.md" import rule %}{% include "intro.md" %}{{ rule("tests") }}\n'
    )
    root = make_bundle(
        {
            "agents/beta.md": agent,
            "fragments/intro.md": "Intro.\n",
            "fragments/macros.md": "{% macro rule(x) %}Always run {{ x }}.{% endmacro %}",
        }
    )
    result = build_outputs(load(root))
    output = next(o for o in result.outputs if o.path == "claude-code/agents/beta.md")
    assert output.content.decode().endswith("---\nIntro.\nAlways run tests.\n")
    assert output.sources == (
        "agents/beta.md",
        "fragments/intro.md",
        "fragments/macros.md",
        "promptbundle.toml",
    )


def test_yaml_error_points_at_the_line_in_the_agent_file(make_bundle: BundleFactory) -> None:
    agent = "---\nname: beta\ndescription: Beta\ntools: [Read\n---\nBody\n"
    root = make_bundle({"agents/beta.md": agent})
    with pytest.raises(PromptBundleError) as info:
        load(root)
    assert info.value.lines() == [
        f"{root / 'agents/beta.md'}:5:1: error: invalid YAML:"
        " did not find expected ',' or ']' [PB001]"
    ]


def test_jinja_error_in_a_fragment_names_the_fragment_line_and_the_agent(
    make_bundle: BundleFactory,
) -> None:
    agent = '---\nname: beta\ndescription: Beta\n---\n{{ fragment("broken") }}\n'
    fragment = "# Broken\n\nfine\n{{ nope }}\n"
    root = make_bundle({"agents/beta.md": agent, "fragments/broken.md": fragment})
    with pytest.raises(PromptBundleError) as info:
        build_outputs(load(root))
    assert info.value.lines() == [
        f"{root / 'fragments/broken.md'}:4:1: error: 'nope' is undefined"
        " (while rendering agents/beta.md for target claude-code) [PB003]"
    ]


def test_jinja_syntax_error_in_a_fragment_names_its_line(make_bundle: BundleFactory) -> None:
    agent = '---\nname: beta\ndescription: Beta\n---\nok\n{% include "bad.md" %}\n'
    root = make_bundle({"agents/beta.md": agent, "fragments/bad.md": "a\nb\n{% if %}\n"})
    with pytest.raises(PromptBundleError) as info:
        build_outputs(load(root))
    assert info.value.lines() == [
        f"{root / 'fragments/bad.md'}:3:1: error: template syntax error: Expected an expression,"
        " got 'end of statement block' (in a fragment included by agents/beta.md) [PB002]"
    ]


def test_every_bad_agent_is_reported_before_aborting(make_bundle: BundleFactory) -> None:
    root = make_bundle(
        {
            "agents/one.md": "---\nname: one\n---\nno description\n",
            "agents/two.md": "---\nname: two\ndescription: Two\ncolour: red\n---\n",
            "agents/three.md": "no frontmatter\n",
        }
    )
    with pytest.raises(PromptBundleError) as info:
        load(root)
    assert info.value.lines() == [
        f"{root / 'agents/one.md'}:2:1: error: 'description' is required"
        " and must be a non-empty string [PB001]",
        f"{root / 'agents/three.md'}:1:1: error: agent has no YAML frontmatter"
        " (a '---' block first) [PB001]",
        f"{root / 'agents/two.md'}:4:1: error: unknown key 'colour': canonical keys are name,"
        " description, model, tools, targets, vars; per-target blocks are keyed by target"
        " (agent-skill, claude-code, claude-plugin, opencode, skill-table) [PB001]",
    ]


def test_agent_name_must_be_an_id_matching_the_file(make_bundle: BundleFactory) -> None:
    root = make_bundle(
        {
            "agents/one.md": "---\nname: One Prompt\ndescription: x\n---\n",
            "agents/two.md": "---\nname: other\ndescription: x\n---\n",
        }
    )
    with pytest.raises(PromptBundleError) as info:
        load(root)
    assert info.value.lines() == [
        f"{root / 'agents/one.md'}:2:1: error: 'name' must be an id of lowercase letters,"
        " digits and hyphens (at most 64), got 'One Prompt' [PB001]",
        f"{root / 'agents/two.md'}:2:1: error: 'name' 'other' does not match"
        " the file name 'two.md' [PB001]",
    ]


def test_agent_listing_an_unknown_target_is_an_error(make_bundle: BundleFactory) -> None:
    root = make_bundle({"agents/one.md": "---\nname: one\ndescription: x\ntargets: [vim]\n---\n"})
    with pytest.raises(PromptBundleError) as info:
        load(root)
    assert info.value.lines() == [
        f"{root / 'agents/one.md'}:4:1: error: target 'vim' is not a target of this bundle"
        " (agent-skill, claude-code, claude-plugin, opencode, skill-table) [PB205]"
    ]


def test_agent_targets_limit_its_outputs(make_bundle: BundleFactory) -> None:
    agent = "---\nname: one\ndescription: x\ntargets: [opencode]\n---\nBody\n"
    out = outputs_of(make_bundle({"agents/one.md": agent}))
    assert [p for p in out if p.endswith(".md") and p != "README.md"] == ["opencode/agent/one.md"]


def test_two_builds_give_identical_bytes(make_bundle: BundleFactory, tmp_path: Path) -> None:
    root = make_bundle(files(**{"agents/zeta.md": "---\nname: zeta\ndescription: Z\n---\nZ\n"}))
    run_build(root)
    first = {p: (root / "dist" / p).read_bytes() for p in _tree(root / "dist")}
    (root / "dist").rename(tmp_path / "first")
    shutil.rmtree(root / ".promptbundle-cache")
    run_build(root)
    second = {p: (root / "dist" / p).read_bytes() for p in _tree(root / "dist")}
    assert first == second
    assert "manifest.json" in first


def _tree(folder: Path) -> list[str]:
    """The output folder's files, without schemas/ (editor schemas a build keeps, not outputs)."""
    files = (p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    return sorted(rel for rel in files if not rel.startswith("schemas/"))


def test_manifest_lists_every_output_with_digest_and_sources(make_bundle: BundleFactory) -> None:
    root = make_bundle(files())
    run_build(root)
    manifest = json.loads((root / "dist/manifest.json").read_text())
    entry = next(e for e in manifest["outputs"] if e["path"] == "claude-code/agents/alpha.md")
    content = (root / "dist/claude-code/agents/alpha.md").read_bytes()
    assert entry == {
        "path": "claude-code/agents/alpha.md",
        "target": "claude-code",
        "kind": "agent",
        "prompt": "alpha",
        "sha256": hashlib.sha256(content).hexdigest(),
        "bytes": len(content),
        "sources": ["agents/alpha.md", "fragments/testing.md", "promptbundle.toml"],
    }
    listed = {e["path"] for e in manifest["outputs"]}
    assert listed | {"manifest.json"} == set(_tree(root / "dist"))


def test_rebuild_writes_only_changed_files_and_removes_dropped_outputs(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle(files(**{"agents/zeta.md": "---\nname: zeta\ndescription: Z\n---\nZ\n"}))
    first = run_build(root)
    assert first.summary == (
        "built 9 outputs for 2 prompts into dist/: 9 written, 0 unchanged, 0 removed;"
        " 3 field(s) dropped by formats (see 'lossy:' lines)"
    )
    (root / "agents/zeta.md").unlink()
    (root / "fragments/testing.md").write_text("# Testing\n\nChanged.\n")
    second = run_build(root)
    assert second.summary == (
        "built 6 outputs for 1 prompt into dist/: 4 written, 2 unchanged, 3 removed;"
        " 3 field(s) dropped by formats (see 'lossy:' lines)"
    )
    assert not (root / "dist/claude-code/agents/zeta.md").exists()
    assert not (root / "dist/claude-plugin/plugins/demo/agents/zeta.md").exists()
    assert not (root / "dist/opencode/agent/zeta.md").exists()
    assert "Changed." in (root / "dist/claude-code/agents/alpha.md").read_text()


def test_build_check_reports_stale_missing_and_orphan_files(make_bundle: BundleFactory) -> None:
    root = make_bundle(files())
    run_build(root)
    dist = root / "dist"
    (dist / "claude-code/agents/alpha.md").write_text("edited by hand\n")
    (dist / "opencode/agent/alpha.md").unlink()
    (dist / "claude-code/agents/old.md").write_text("left over\n")
    bundle = load(root)
    report = check_outputs(bundle.config, build_outputs(bundle).outputs)
    assert report.stale == ["claude-code/agents/alpha.md"]
    assert report.missing == ["opencode/agent/alpha.md"]
    assert report.orphan == ["claude-code/agents/old.md"]
    outcome = run_build(root, check=True)
    assert outcome.exit_code == 1
    assert outcome.summary == (
        "dist/ is out of date: 1 stale, 1 missing, 1 orphan (run promptbundle build)"
    )
    assert outcome.messages == [
        "agents/alpha.md:8:1: warning: 'capabilities' is deprecated for plugin agents; say what"
        " the agent does in 'description' instead"
        " (in dist/claude-plugin/plugins/demo/agents/alpha.md) [PB112]",
        "stale: claude-code/agents/alpha.md",
        "missing: opencode/agent/alpha.md",
        "orphan: claude-code/agents/old.md",
    ]
    assert (dist / "claude-code/agents/old.md").exists()  # --check writes nothing


def test_build_check_passes_on_a_fresh_build(make_bundle: BundleFactory) -> None:
    root = make_bundle(files())
    run_build(root)
    assert run_build(root, check=True).exit_code == 0


def test_partial_build_keeps_other_outputs(make_bundle: BundleFactory) -> None:
    root = make_bundle(files())
    run_build(root)
    outcome = run_build(root, targets=["opencode"])
    assert outcome.exit_code == 0
    assert outcome.summary == (
        "built 1 output for 1 prompt into dist/: 0 written, 1 unchanged, 0 removed;"
        " 2 field(s) dropped by formats (see 'lossy:' lines)"
    )
    assert (root / "dist/claude-code/agents/alpha.md").exists()
    manifest = json.loads((root / "dist/manifest.json").read_text())
    assert [e["path"] for e in manifest["outputs"]] == [
        "README.md",
        "claude-code/agents/alpha.md",
        "claude-plugin/.claude-plugin/marketplace.json",
        "claude-plugin/plugins/demo/.claude-plugin/plugin.json",
        "claude-plugin/plugins/demo/agents/alpha.md",
        "opencode/agent/alpha.md",
    ]


def test_unknown_target_or_agent_selection_is_a_usage_error(make_bundle: BundleFactory) -> None:
    root = make_bundle(files())
    with pytest.raises(UsageError) as info:
        run_build(root, targets=["vim"])
    assert info.value.message == (
        "unknown target 'vim' (targets: agent-skill, claude-code, claude-plugin, opencode,"
        " skill-table)"
    )
    with pytest.raises(UsageError) as info:
        run_build(root, agents=["nobody"])
    assert info.value.message == "unknown agent 'nobody' (agents: alpha)"


def test_release_folder_in_dist_is_left_alone(make_bundle: BundleFactory) -> None:
    root = make_bundle(files())
    (root / "dist/release").mkdir(parents=True)
    (root / "dist/release/demo-1.2.3.tar.gz").write_bytes(b"archive")
    run_build(root)
    assert (root / "dist/release/demo-1.2.3.tar.gz").read_bytes() == b"archive"


def test_catalog_lists_each_agent_with_targets_and_size(make_bundle: BundleFactory) -> None:
    text = outputs_of(make_bundle(files()))["README.md"]
    assert "| prompt | description | targets | lines | characters |" in text.splitlines()
    row = next(line for line in text.splitlines() if line.startswith("| alpha |"))
    # The longest body is claude-plugin's ("Built for claude-plugin with flask.").
    assert row == (
        "| alpha | Alpha: reviews Python code | claude-code, claude-plugin, opencode | 12 | 133 |"
    )


def test_catalog_lists_converting_targets_for_an_agent(make_bundle: BundleFactory) -> None:
    text = outputs_of(make_bundle(converting()))["README.md"]
    row = next(line for line in text.splitlines() if line.startswith("| alpha |"))
    assert row == (
        "| alpha | Alpha: reviews Python code"
        " | agent-skill, claude-code, claude-plugin, opencode, skill-table | 12 | 133 |"
    )


PLUGIN_AGENT = """\
---
name: beta
description: Beta
claude-plugin: {capabilities: [review]}
opencode: {mode: bogus}
suppress: [PB112, PB110]
---
Body
"""


def test_an_agent_can_suppress_a_warning_but_not_an_error(make_bundle: BundleFactory) -> None:
    result = build_outputs(load(make_bundle({"agents/beta.md": PLUGIN_AGENT})))
    assert [d.code for d in result.suppressed] == ["PB112"]
    assert [(d.code, d.severity, d.message) for d in result.diagnostics] == [
        (
            "PB104",
            "error",
            "'mode' must be one of subagent, primary, all; got 'bogus'"
            " (in dist/opencode/agent/beta.md)",
        )
    ]


def test_without_suppress_the_warning_is_reported(make_bundle: BundleFactory) -> None:
    agent = PLUGIN_AGENT.replace("suppress: [PB112, PB110]\n", "").replace(
        "opencode: {mode: bogus}\n", ""
    )
    result = build_outputs(load(make_bundle({"agents/beta.md": agent})))
    assert [d.code for d in result.diagnostics] == ["PB112"]


def test_suppress_must_list_check_codes(make_bundle: BundleFactory) -> None:
    agent = "---\nname: beta\ndescription: Beta\nsuppress: [capabilities]\n---\n"
    root = make_bundle({"agents/beta.md": agent})
    with pytest.raises(PromptBundleError) as info:
        load(root)
    assert info.value.lines() == [
        f"{root / 'agents/beta.md'}:4:1: error: 'suppress' must be a list of check codes"
        " like PB112 [PB001]"
    ]


def test_a_template_mutating_a_variable_does_not_leak_into_other_renders(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle(
        {
            "promptbundle.toml": 'name = "b"\n[vars]\nshared = {list = ["one"]}\n',
            "agents/a.md": "---\ndescription: d\nvars: {own: [1]}\n---\n"
            '{{ shared.list.append("leak") or "" }}{{ own.append(2) or "" }}A\n',
            "agents/b.md": '---\ndescription: d\n---\nB {{ shared.list | join(",") }}\n',
        }
    )
    outputs = {o.path: o.content for o in build_outputs(load(root)).outputs}
    assert outputs["claude-code/agents/b.md"].endswith(b"B one\n")
    assert outputs["opencode/agent/b.md"].endswith(b"B one\n")
    again = {o.path: o.content for o in build_outputs(load(root)).outputs}
    assert again == outputs


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("{when: 2024-01-01}", "cannot write a date as YAML"),
        ("{t: .nan}", "cannot write nan as YAML for every client"),
        ("{t: !!binary aGVsbG8=}", "cannot write a bytes as YAML"),
        ("{1: a}", "frontmatter keys must be strings, got 1"),
        ("{hooks: {pre: []}}", "empty collections cannot be written in block style"),
    ],
)
def test_a_block_value_no_format_can_write_is_a_located_error(
    make_bundle: BundleFactory, value: str, reason: str
) -> None:
    root = make_bundle({"agents/a.md": f"---\ndescription: d\nclaude-code: {value}\n---\nbody\n"})
    with pytest.raises(PromptBundleError) as info:
        load(root)
    assert info.value.lines() == [
        f"{root / 'agents' / 'a.md'}:3:1: error: per-target block 'claude-code': {reason}"
        " (quote a value meant as text) [PB001]"
    ]


def test_first_build_refuses_an_output_folder_holding_foreign_files(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle(files(**{"dist/notes.txt": "mine\n"}))
    with pytest.raises(PromptBundleError) as info:
        run_build(root)
    assert info.value.message == (
        f"{root / 'dist'} holds 1 file(s) that promptbundle did not write (first: notes.txt)"
        " and no manifest.json; move them away or set 'out' to another folder"
    )
    assert sorted(p.name for p in (root / "dist").iterdir()) == ["notes.txt"]


def test_a_folder_in_the_way_stops_the_build_before_anything_changes(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle(files(**{"agents/zeta.md": "---\nname: zeta\ndescription: Z\n---\nZ\n"}))
    run_build(root)
    (root / "agents/zeta.md").unlink()
    (root / "fragments/testing.md").write_text("# Testing\n\nChanged.\n")
    (root / "dist/opencode/agent/alpha.md").unlink()
    (root / "dist/opencode/agent/alpha.md").mkdir()
    before = sorted(p.relative_to(root).as_posix() for p in (root / "dist").rglob("*"))
    with pytest.raises(PromptBundleError) as info:
        run_build(root)
    assert info.value.message == (
        "cannot write 1 output(s); nothing was changed:"
        " opencode/agent/alpha.md (a folder is in the way)"
    )
    after = sorted(p.relative_to(root).as_posix() for p in (root / "dist").rglob("*"))
    assert after == before
    assert "Changed." not in (root / "dist/claude-code/agents/alpha.md").read_text()


def test_a_file_in_the_way_of_an_output_folder_is_reported(make_bundle: BundleFactory) -> None:
    root = make_bundle(files())
    run_build(root)
    import shutil

    shutil.rmtree(root / "dist/opencode")
    (root / "dist/opencode").write_text("a file\n")
    with pytest.raises(PromptBundleError) as info:
        run_build(root)
    assert info.value.message == (
        "cannot write 1 output(s); nothing was changed:"
        " opencode/agent/alpha.md (the file opencode is in the way)"
    )


RESERVED = "is reserved for the render context"
NOT_AN_IDENTIFIER = (
    "is not a template identifier (letters, digits and underscores, not starting with a digit)"
)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("agent", RESERVED),
        ("target", RESERVED),
        ("bundle", RESERVED),
        ("fragment", RESERVED),
        ("a-b", NOT_AN_IDENTIFIER),
        ("1st", NOT_AN_IDENTIFIER),
    ],
)
def test_variable_names_a_template_cannot_use_are_errors(
    make_bundle: BundleFactory, name: str, reason: str
) -> None:
    agent = f"---\nname: beta\ndescription: Beta\nvars: {{'{name}': x}}\n---\n"
    root = make_bundle({"agents/beta.md": agent})
    with pytest.raises(PromptBundleError) as info:
        load(root)
    assert info.value.lines() == [
        f"{root / 'agents/beta.md'}:4:1: error: variable name {name!r} {reason} [PB001]"
    ]


def test_bundle_variable_named_like_the_context_is_an_error(make_bundle: BundleFactory) -> None:
    root = make_bundle({"promptbundle.toml": 'name = "b"\n[vars]\nagent = "x"\n'})
    with pytest.raises(PromptBundleError) as info:
        load(root)
    assert info.value.message == "variable name 'agent' is reserved for the render context"


# -- kinds of prompt, carried files and plugins ----------------------------------------------


def test_a_nested_agent_keeps_its_folder_in_its_id_and_its_paths(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle({"agents/sub/x.md": "---\ndescription: Reviews APIs\n---\nCheck the API.\n"})
    bundle = load(root)
    assert [(p.kind, p.id, p.label, p.rel) for p in bundle.prompts] == [
        ("agent", "sub/x", "sub/x", "agents/sub/x.md")
    ]
    made = {o.path: o for o in build_outputs(bundle).outputs if o.agent is not None}
    assert sorted(made) == [
        "claude-code/agents/sub/x.md",
        "claude-plugin/plugins/demo/agents/sub/x.md",
        "opencode/agent/sub/x.md",
    ]
    assert {(o.agent, o.kind) for o in made.values()} == {("sub/x", "agent")}
    assert made["claude-code/agents/sub/x.md"].content == (
        b"---\nname: x\ndescription: Reviews APIs\n---\nCheck the API.\n"
    )
    run_build(root)
    assert (root / "dist/claude-code/agents/sub/x.md").read_bytes() == (
        made["claude-code/agents/sub/x.md"].content
    )
    manifest = json.loads((root / "dist/manifest.json").read_text())
    entry = next(e for e in manifest["outputs"] if e["path"] == "claude-code/agents/sub/x.md")
    assert (entry["kind"], entry["prompt"], entry["sources"]) == (
        "agent",
        "sub/x",
        ["agents/sub/x.md", "promptbundle.toml"],
    )


SCRIPT = b"#!/bin/sh\r\nprintf '\\000'\r\n\xff\xfe {{ not a template }}\n"


def test_a_command_and_a_skill_with_a_resource_build_for_claude_code(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle(
        {
            "commands/commit.md": "Commit the staged changes.\n",
            "commands/git/push.md": "---\ndescription: Push\ntools: [Bash]\n---\nPush it.\n",
            "skills/pdf/SKILL.md": "---\nname: pdf\ndescription: Reads PDF files\n---\n"
            "Run scripts/extract.sh for {{ skill.name }}.\n",
            "skills/pdf/scripts/extract.sh": SCRIPT,
        }
    )
    result = build_outputs(load(root))
    assert result.diagnostics == []
    # opencode commands cannot limit tools.
    assert [str(x) for x in result.lossy] == [
        "command:git/push: opencode drops 'tools' (opencode has no such field)",
        "skill:pdf: skill-table drops 'resources' (skill-table writes a skill as one file)",
    ]
    claude = {o.path: o for o in result.outputs if o.target == "claude-code"}
    assert sorted(claude) == [
        "claude-code/commands/commit.md",
        "claude-code/commands/git/push.md",
        "claude-code/skills/pdf/SKILL.md",
        "claude-code/skills/pdf/scripts/extract.sh",
    ]
    # A command without frontmatter stays plain Markdown.
    assert claude["claude-code/commands/commit.md"].content == b"Commit the staged changes.\n"
    assert claude["claude-code/commands/git/push.md"].content == (
        b"---\ndescription: Push\nallowed-tools: Bash\n---\nPush it.\n"
    )
    assert claude["claude-code/skills/pdf/SKILL.md"].content == (
        b"---\nname: pdf\ndescription: Reads PDF files\n---\nRun scripts/extract.sh for pdf.\n"
    )
    resource = claude["claude-code/skills/pdf/scripts/extract.sh"]
    assert resource.content == SCRIPT
    assert (resource.agent, resource.kind, resource.carried, resource.sources) == (
        "skill:pdf",
        "skill",
        True,
        ("skills/pdf/scripts/extract.sh",),
    )
    assert [(o.agent, o.kind) for o in claude.values()] == [
        ("command:commit", "command"),
        ("command:git/push", "command"),
        ("skill:pdf", "skill"),
        ("skill:pdf", "skill"),
    ]
    run_build(root)
    assert (root / "dist/claude-code/skills/pdf/scripts/extract.sh").read_bytes() == SCRIPT


def test_the_rule_agents_is_the_project_agents_md_for_opencode(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle(
        {"rules/AGENTS.md": "# Project\n\nUse uv.\n", "rules/style.md": "Short lines.\n"}
    )
    result = build_outputs(load(root))
    made = {o.path: (o.content, o.agent, o.kind) for o in result.outputs if o.agent is not None}
    assert made == {
        # opencode reads one rule, AGENTS.md at the project's root; claude-code reads them all.
        "opencode/@project/AGENTS.md": (b"# Project\n\nUse uv.\n", "rule:AGENTS", "rule"),
        "claude-code/rules/AGENTS.md": (b"# Project\n\nUse uv.\n", "rule:AGENTS", "rule"),
        "claude-code/rules/style.md": (b"Short lines.\n", "rule:style", "rule"),
    }
    run_build(root)
    assert (root / "dist/opencode/@project/AGENTS.md").read_text() == "# Project\n\nUse uv.\n"


def test_a_carried_file_is_built_byte_for_byte_under_files(make_bundle: BundleFactory) -> None:
    data = b"line\r\n\x00\xff{{ not a template }}\n"
    root = make_bundle({"files/x.txt": data})
    result = build_outputs(load(root))
    assert [o.path for o in result.outputs] == ["README.md", "files/x.txt"]
    carried = result.outputs[1]
    assert (carried.content, carried.target, carried.agent, carried.kind) == (
        data,
        "files",
        None,
        None,
    )
    assert (carried.carried, carried.sources) == (True, ("files/x.txt",))
    assert run_build(root).summary == (
        "built 2 outputs for 0 prompts into dist/: 2 written, 0 unchanged, 0 removed"
    )
    assert (root / "dist/files/x.txt").read_bytes() == data
    manifest = json.loads((root / "dist/manifest.json").read_text())
    entry = next(e for e in manifest["outputs"] if e["path"] == "files/x.txt")
    assert entry == {
        "path": "files/x.txt",
        "target": "files",
        "kind": None,
        "prompt": None,
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "sources": ["files/x.txt"],
    }


TOOLS_PLUGIN = (
    'name = "tools"\nversion = "0.1.0"\ndescription = "Tool agents"\nauthor = "Tool Team"\n'
)


def test_a_plugins_agent_lands_in_its_plugin_and_the_marketplace_lists_it(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle(
        {
            "agents/alpha.md": "---\ndescription: Alpha\n---\nA\n",
            "plugins/tools/plugin.toml": TOOLS_PLUGIN,
            "plugins/tools/agents/helper.md": "---\ndescription: Helps\n---\nHelp.\n",
        }
    )
    bundle = load(root)
    assert [(p.label, p.plugin, p.rel) for p in bundle.prompts] == [
        ("alpha", "", "agents/alpha.md"),
        ("tools/agent:helper", "tools", "plugins/tools/agents/helper.md"),
    ]
    result = build_outputs(bundle)
    assert result.diagnostics == []
    out = {o.path: o for o in result.outputs}
    # Only claude-plugin writes plugins: the plugin's agent is nowhere else.
    assert sorted(p for p in out if "helper" in p) == [
        "claude-plugin/plugins/tools/agents/helper.md"
    ]
    helper = out["claude-plugin/plugins/tools/agents/helper.md"]
    assert (helper.agent, helper.kind, helper.content) == (
        "tools/agent:helper",
        "agent",
        b"---\nname: helper\ndescription: Helps\n---\nHelp.\n",
    )
    plugin = json.loads(out["claude-plugin/plugins/tools/.claude-plugin/plugin.json"].content)
    assert plugin == {
        "name": "tools",
        "version": "0.1.0",
        "description": "Tool agents",
        "author": {"name": "Tool Team"},
    }
    assert out["claude-plugin/plugins/tools/.claude-plugin/plugin.json"].sources == (
        "plugins/tools/plugin.toml",
        "promptbundle.toml",
    )
    market = json.loads(out["claude-plugin/.claude-plugin/marketplace.json"].content)
    assert market["plugins"] == [
        {
            "name": "demo",
            "source": "./plugins/demo",
            "description": "Demo agents",
            "version": "1.2.3",
        },
        {
            "name": "tools",
            "source": "./plugins/tools",
            "description": "Tool agents",
            "version": "0.1.0",
        },
    ]


def test_a_plugin_toml_holding_only_its_name_builds(make_bundle: BundleFactory) -> None:
    """plugin.toml keys other than `name` are optional, so a plugin of just its name (what
    `import` writes for a plugin) must build; its plugin.json names it."""
    root = make_bundle(
        {
            "plugins/tools/plugin.toml": 'name = "tools"\n',
            "plugins/tools/agents/helper.md": "---\ndescription: Helps\n---\nHelp.\n",
        }
    )
    result = build_outputs(load(root))
    assert [d.line() for d in result.diagnostics] == []
    out = {o.path: o for o in result.outputs}
    assert "claude-plugin/plugins/tools/agents/helper.md" in out
    plugin = json.loads(out["claude-plugin/plugins/tools/.claude-plugin/plugin.json"].content)
    assert plugin["name"] == "tools"
    market = json.loads(out["claude-plugin/.claude-plugin/marketplace.json"].content)
    assert [(p["name"], p["source"]) for p in market["plugins"]] == [("tools", "./plugins/tools")]


def test_the_same_id_in_two_kinds_is_allowed(make_bundle: BundleFactory) -> None:
    root = make_bundle(
        {
            "agents/review.md": "---\ndescription: Reviews code\n---\nAgent.\n",
            "commands/review.md": "Command.\n",
            "skills/review/SKILL.md": "---\nname: review\ndescription: Review skill\n---\nSkill.\n",
        }
    )
    bundle = load(root)
    assert [(p.kind, p.id, p.label) for p in bundle.prompts] == [
        ("agent", "review", "review"),
        ("command", "review", "command:review"),
        ("skill", "review", "skill:review"),
    ]
    result = build_outputs(bundle)
    assert result.diagnostics == []
    claude = {o.path: o.agent for o in result.outputs if o.target == "claude-code"}
    assert claude == {
        "claude-code/agents/review.md": "review",
        "claude-code/commands/review.md": "command:review",
        "claude-code/skills/review/SKILL.md": "skill:review",
    }
    rows = [r for r in outputs_of(root)["README.md"].splitlines() if "review" in r]
    assert rows == [
        "| review | Reviews code | claude-code, claude-plugin, opencode | 1 | 7 |",
        "| command:review |  | claude-code, claude-plugin, opencode | 1 | 9 |",
        "| skill:review | Review skill | agent-skill, claude-code, claude-plugin, opencode,"
        " skill-table | 1 | 7 |",
    ]


def test_two_skills_with_a_resource_of_the_same_name_build(make_bundle: BundleFactory) -> None:
    """Each skill's resources stay its own in every format, skill-table included."""
    skill = "---\nname: {0}\ndescription: Skill {0}\n---\nRun scripts/run.sh.\n"
    root = make_bundle(
        {
            "skills/a/SKILL.md": skill.format("a"),
            "skills/a/scripts/run.sh": "echo a\n",
            "skills/b/SKILL.md": skill.format("b"),
            "skills/b/scripts/run.sh": "echo b\n",
        }
    )
    run_build(root)
    assert (root / "dist/claude-code/skills/a/scripts/run.sh").read_text() == "echo a\n"
    assert (root / "dist/claude-code/skills/b/scripts/run.sh").read_text() == "echo b\n"
    assert (root / "dist/agent-skill/a/scripts/run.sh").read_text() == "echo a\n"
    assert (root / "dist/agent-skill/b/scripts/run.sh").read_text() == "echo b\n"


def test_misspelt_keys_targets_and_variables_get_a_did_you_mean(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle(
        {
            "agents/one.md": "---\nname: one\ndescription: x\ntarget: [opencode]\n---\nBody\n",
        }
    )
    with pytest.raises(PromptBundleError) as info:
        load(root)
    assert info.value.message.startswith("unknown key 'target' (did you mean 'targets'?):")
    root = make_bundle(
        {"agents/one.md": "---\nname: one\ndescription: x\nvars: {stack: flask}\n---\n{{ stak }}\n"}
    )
    with pytest.raises(PromptBundleError) as info:
        build_outputs(load(root))
    assert info.value.message == "'stak' is undefined (did you mean 'stack'?)"
    root = make_bundle(
        {
            "promptbundle.toml": 'name = "demo"\ntargets = ["opencod"]\n',
            "agents/one.md": "---\nname: one\ndescription: x\n---\nBody\n",
        }
    )
    with pytest.raises(PromptBundleError) as info:
        load(root)
    assert info.value.message.startswith(
        "target 'opencod' (did you mean 'opencode'?) is neither a built-in format"
    )


def test_a_misspelt_fragment_names_the_closest_one(make_bundle: BundleFactory) -> None:
    agent = '---\nname: beta\ndescription: B\n---\n{{ fragment("testng") }}\n'
    root = make_bundle({"agents/beta.md": agent, "fragments/testing.md": "Run the tests.\n"})
    with pytest.raises(PromptBundleError) as info:
        build_outputs(load(root))
    assert info.value.lines() == [
        f"{root / 'agents/beta.md'}:5:1: error: template 'testng' not found (looked in"
        " fragments/ and the root) (did you mean 'testing'?) [PB210]"
    ]
