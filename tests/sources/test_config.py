from __future__ import annotations

from pathlib import Path

import pytest

from promptbundle.build.pipeline import read_config
from promptbundle.core.errors import ConfigError, PromptBundleError
from promptbundle.sources.config import find_root
from tests.support import BundleFactory

BUILT_IN = (
    "agent-skill, agents-md, claude-code, claude-plugin, cline, codex, copilot, cursor,"
    " devin, gemini, kiro, opencode, roo, skill-table"
)


def test_root_is_found_by_searching_upward(make_bundle: BundleFactory) -> None:
    root = make_bundle({"agents/x/.keep": ""})
    assert find_root(root / "agents" / "x") == root.resolve()


def test_pyproject_table_is_a_bundle_config(make_bundle: BundleFactory) -> None:
    root = make_bundle(
        {"pyproject.toml": '[project]\nname = "p"\n\n[tool.promptbundle]\nname = "py-bundle"\n'}
    )
    config = read_config(root)
    assert config.name == "py-bundle"
    assert config.source.name == "pyproject.toml"
    assert [t.name for t in config.targets] == [
        "agent-skill",
        "claude-code",
        "claude-plugin",
        "opencode",
        "skill-table",
    ]


def test_no_bundle_anywhere_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        find_root(tmp_path)
    assert info.value.message == (
        f"no bundle found in {tmp_path.resolve()} or its parents"
        " (looked for promptbundle.toml or [tool.promptbundle] in pyproject.toml); use --root"
    )


def test_unknown_bundle_keys_are_errors_naming_key_and_file(make_bundle: BundleFactory) -> None:
    root = make_bundle({"promptbundle.toml": 'name = "b"\ntagets = ["opencode"]\nout = "../x"\n'})
    with pytest.raises(PromptBundleError) as info:
        read_config(root)
    assert info.value.lines() == [
        f"{root / 'promptbundle.toml'}:2:1: error: unknown key 'tagets' (did you mean"
        " 'targets'?) (known: author, description, name, out, targets, tools, vars, version)"
        " [PB001]",
        f"{root / 'promptbundle.toml'}:3:1: error: 'out' must be a folder inside the bundle,"
        " got '../x' [PB001]",
    ]


def test_a_config_without_name_says_name_is_required(make_bundle: BundleFactory) -> None:
    root = make_bundle({"promptbundle.toml": 'version = "1.0.0"\n'})
    with pytest.raises(ConfigError) as info:
        read_config(root)
    assert info.value.lines() == [
        f"{root / 'promptbundle.toml'}:1:1: error: 'name' is required: the bundle's id, "
        "like 'my-bundle' [PB001]"
    ]


def test_invalid_toml_points_at_its_line(make_bundle: BundleFactory) -> None:
    root = make_bundle({"promptbundle.toml": 'name = "b"\nversion = \n'})
    with pytest.raises(ConfigError) as info:
        read_config(root)
    assert info.value.lines() == [
        f"{root / 'promptbundle.toml'}:2:11: error: invalid TOML: Invalid value"
        " (at line 2, column 11) [PB001]"
    ]


def test_target_config_sets_models_and_tools(make_bundle: BundleFactory) -> None:
    root = make_bundle(
        {
            "promptbundle.toml": 'name = "b"\ntargets = ["work-opencode"]\n',
            "targets/work-opencode.toml": (
                'format = "opencode"\n[models]\nsonnet = "openrouter/sonnet"\n'
            ),
        }
    )
    (target,) = read_config(root).targets
    assert target.format == "opencode"
    assert target.models == {"sonnet": "openrouter/sonnet"}


def test_unknown_target_and_bad_target_config_are_errors(make_bundle: BundleFactory) -> None:
    root = make_bundle(
        {
            "promptbundle.toml": 'name = "b"\ntargets = ["vim", "odd"]\n',
            "targets/odd.toml": 'format = "nope"\ncolour = 1\n',
        }
    )
    with pytest.raises(PromptBundleError) as info:
        read_config(root)
    assert info.value.lines() == [
        f"{root / 'promptbundle.toml'}:2:1: error: target 'vim' is neither a built-in format"
        f" ({BUILT_IN}) nor configured in targets/vim.toml [PB001]",
        f"{root / 'targets/odd.toml'}:1:1: error: unknown format 'nope' (built-in: {BUILT_IN};"
        " or 'custom', a target written by its own templates) [PB001]",
        f"{root / 'targets/odd.toml'}:2:1: error: unknown key 'colour'"
        " (known: accept, convert, description, format, kinds, models, options, tools) [PB001]",
    ]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("copilot-agent", "copilot"),
        ("copilot-prompt", "copilot"),
        ("copilot-instructions", "copilot"),
        ("cursor-rule", "cursor"),
    ],
)
def test_an_old_format_name_is_an_error_naming_the_new_one(
    make_bundle: BundleFactory, old: str, new: str
) -> None:
    root = make_bundle(
        {
            "promptbundle.toml": f'name = "b"\ntargets = ["claude-code", "{old}", "mine"]\n',
            "targets/mine.toml": f'description = "ours"\nformat = "{old}"\n',
        }
    )
    with pytest.raises(PromptBundleError) as info:
        read_config(root)
    message = f"{old!r} is now part of {new!r}: use {new!r}, which writes every kind the tool reads"
    assert info.value.lines() == [
        f"{root / 'promptbundle.toml'}:2:1: error: {message} [PB001]",
        f"{root / 'targets/mine.toml'}:2:1: error: {message} [PB001]",
    ]


@pytest.mark.parametrize("out", ["agents", "fragments", "targets/x", "./agents"])
def test_out_folder_may_not_hold_or_sit_in_the_sources(
    make_bundle: BundleFactory, out: str
) -> None:
    # A build removes every file of its out folder that it does not produce.
    root = make_bundle({"promptbundle.toml": f'name = "b"\nout = "{out}"\n'})
    with pytest.raises(ConfigError) as info:
        read_config(root)
    assert info.value.lines() == [
        f"{root / 'promptbundle.toml'}:2:1: error: 'out' must not be inside a source folder"
        " (agents, commands, skills, rules, plugins, files, fragments, targets, .git):"
        " a build removes the files it does not produce"
        f" there, got {out!r} [PB001]"
    ]


def test_target_names_must_be_ids_so_outputs_stay_in_the_out_folder(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle(
        {
            "promptbundle.toml": 'name = "b"\ntargets = ["../evil"]\n',
            "evil.toml": 'format = "claude-code"\n',
            "targets/keep.txt": "",
        }
    )
    with pytest.raises(ConfigError) as info:
        read_config(root)
    assert info.value.lines() == [
        f"{root / 'promptbundle.toml'}:2:1: error: target name '../evil' must be an id"
        " (lowercase letters, digits, hyphens): it names the output folder and"
        " targets/<name>.toml [PB001]"
    ]


@pytest.mark.parametrize("version", ["1.0", "v1.2.3", "1.2.3.4", "01.2.3", "latest"])
def test_version_must_be_semver_and_the_error_points_at_the_config(
    make_bundle: BundleFactory, version: str
) -> None:
    root = make_bundle({"promptbundle.toml": f'name = "b"\nversion = "{version}"\n'})
    with pytest.raises(ConfigError) as info:
        read_config(root)
    assert info.value.lines() == [
        f"{root / 'promptbundle.toml'}:2:1: error: 'version' must be a semantic version "
        f"like 1.2.3, got {version!r} [PB001]"
    ]


@pytest.mark.parametrize("version", ["0.1.0", "2.0.0-rc.1", "1.2.3+build.5"])
def test_semantic_versions_are_accepted(make_bundle: BundleFactory, version: str) -> None:
    root = make_bundle({"promptbundle.toml": f'name = "b"\nversion = "{version}"\n'})
    assert read_config(root).version == version


def test_a_target_may_convert_the_kinds_its_format_converts(make_bundle: BundleFactory) -> None:
    root = make_bundle(
        {
            "promptbundle.toml": 'name = "b"\ntargets = ["agent-skill", "claude-code"]\n',
            "targets/agent-skill.toml": 'convert = ["agent"]\n',
        }
    )
    assert [(t.name, t.convert) for t in read_config(root).targets] == [
        ("agent-skill", ("agent",)),
        ("claude-code", ()),
    ]


@pytest.mark.parametrize(
    ("target", "convert", "problem"),
    [
        ("opencode", '["agent"]', "opencode can convert into its own (none), got ['agent']"),
        (
            "skill-table",
            '["command"]',
            "skill-table can convert into its own (agent), got ['command']",
        ),
        ("agent-skill", '"agent"', "agent-skill can convert into its own (agent), got 'agent'"),
    ],
)
def test_convert_of_a_kind_the_format_cannot_take_is_an_error(
    make_bundle: BundleFactory, target: str, convert: str, problem: str
) -> None:
    root = make_bundle(
        {
            "promptbundle.toml": f'name = "b"\ntargets = ["{target}"]\n',
            f"targets/{target}.toml": f'format = "{target}"\nconvert = {convert}\n',
        }
    )
    with pytest.raises(ConfigError) as info:
        read_config(root)
    assert info.value.lines() == [
        f"{root / 'targets' / target}.toml:2:1: error: 'convert' must list kinds {problem} [PB001]"
    ]


def test_files_is_not_a_target_name(make_bundle: BundleFactory) -> None:
    root = make_bundle({"promptbundle.toml": 'name = "b"\ntargets = ["files"]\n'})
    with pytest.raises(ConfigError) as info:
        read_config(root)
    assert info.value.lines() == [
        f"{root / 'promptbundle.toml'}:2:1: error: target name 'files' is reserved"
        " (the output folder's files/ holds the bundle's own files) [PB001]"
    ]
