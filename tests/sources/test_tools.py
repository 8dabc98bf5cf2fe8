"""PB212: a prompt's `tools` must be tools some client knows, or names the bundle declares."""

from __future__ import annotations

import pytest

from promptbundle.build.pipeline import load
from promptbundle.core.errors import PromptBundleError
from promptbundle.core.tools import unknown_tool
from tests.support import BundleFactory

HINT = (
    ": not a Claude Code tool name, an MCP tool (mcp__server__tool), or a name in the bundle's"
    " `tools` list (promptbundle.toml) [PB212]"
)


def _agent(tools: str) -> str:
    return f"---\nname: one\ndescription: One\ntools: {tools}\n---\nBody\n"


def test_a_misspelt_tool_is_an_error_at_its_column_with_the_closest_name(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle({"agents/one.md": _agent("Read, Grpe")})
    with pytest.raises(PromptBundleError) as info:
        load(root)
    assert info.value.lines() == [
        f"{root / 'agents/one.md'}:4:14: error: unknown tool 'Grpe' (did you mean 'Grep'?){HINT}"
    ]


def test_every_unknown_tool_of_a_block_list_is_reported_on_its_own_line(
    make_bundle: BundleFactory,
) -> None:
    agent = "---\nname: one\ndescription: One\ntools:\n  - Wirte\n  - Read\n  - Nonsense\n---\nB\n"
    root = make_bundle({"agents/one.md": agent})
    with pytest.raises(PromptBundleError) as info:
        load(root)
    assert info.value.lines() == [
        f"{root / 'agents/one.md'}:5:5: error: unknown tool 'Wirte' (did you mean 'Write'?){HINT}",
        f"{root / 'agents/one.md'}:7:5: error: unknown tool 'Nonsense'{HINT}",
    ]


@pytest.mark.parametrize(
    "tools",
    [
        "Read, Grep, Glob, Bash, Edit, Write, WebFetch, Task, TodoWrite",
        "Bash(git diff:*), Read",
        "mcp__context7__get-library-docs, mcp__plugin_x__*",
    ],
)
def test_canonical_scoped_and_mcp_tools_are_known(make_bundle: BundleFactory, tools: str) -> None:
    root = make_bundle({"agents/one.md": _agent(tools)})
    assert [p.id for p in load(root).prompts] == ["one"]


def test_the_bundle_declares_its_own_tools_in_the_config_or_a_target_map(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle(
        {
            "promptbundle.toml": 'name = "b"\ntargets = ["opencode"]\ntools = ["Workflow"]\n',
            "targets/opencode.toml": 'format = "opencode"\n[tools]\nDeploy = "deploy"\n',
            "agents/one.md": _agent("Workflow, Deploy, Read"),
        }
    )
    assert load(root).prompts[0].tools == ("Workflow", "Deploy", "Read")


def test_the_bundle_tools_key_must_be_a_list_of_names(make_bundle: BundleFactory) -> None:
    root = make_bundle({"promptbundle.toml": 'name = "b"\ntools = "Workflow"\n'})
    with pytest.raises(PromptBundleError) as info:
        load(root)
    assert info.value.lines() == [
        f"{root / 'promptbundle.toml'}:2:1: error: 'tools' must be a list of tool names [PB001]"
    ]


def test_an_imported_prompt_keeps_the_tools_its_file_listed(make_bundle: BundleFactory) -> None:
    agent = (
        "---\nname: one\ndescription: One\ntools: Tool1, Read\n"
        "import: {path: in/one.md, format: claude-code}\n---\nBody\n"
    )
    root = make_bundle({"agents/one.md": agent})
    assert load(root).prompts[0].tools == ("Tool1", "Read")


def test_unknown_tool_gives_no_hint_when_nothing_is_close() -> None:
    assert unknown_tool("Read") is None
    message = unknown_tool("Zzz")
    assert message is not None and "did you mean" not in message
