"""`accept` in a target file: fields the target may drop without failing `--strict`; build
and check agree on what fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptbundle.build.pipeline import build_outputs, load
from promptbundle.commands.build import run_build
from promptbundle.commands.check import run_check
from promptbundle.core.errors import PromptBundleError
from promptbundle.core.model import TargetConfig
from tests.support import BundleFactory

AGENT = "---\nname: one\ndescription: One\nmodel: sonnet\ntools: Read, Grep\n---\nBody\n"
CONFIG = 'name = "b"\ntargets = ["claude-code", "skill-table"]\n'


def _bundle(make_bundle: BundleFactory, skill_table: str | None = None) -> Path:
    files = {"promptbundle.toml": CONFIG, "agents/one.md": AGENT}
    table = 'format = "skill-table"\nconvert = ["agent"]\n'
    files["targets/skill-table.toml"] = table + (skill_table or "")
    return make_bundle(files)


def test_without_accept_strict_build_and_strict_check_both_fail(
    make_bundle: BundleFactory,
) -> None:
    root = _bundle(make_bundle)
    check = run_check(root, strict=True)
    assert check.exit_code == 1
    assert check.summary == "checked 3 outputs: 0 error(s), 0 warning(s), 2 dropped field(s)"
    with pytest.raises(PromptBundleError) as caught:
        run_build(root, strict=True)
    assert "2 dropped field(s) with --strict" in caught.value.lines()[-1]
    assert run_check(root).exit_code == 0


def test_accepted_fields_are_counted_not_reported_and_strict_passes(
    make_bundle: BundleFactory,
) -> None:
    root = _bundle(make_bundle, 'accept = ["model", "tools"]\n')
    result = build_outputs(load(root))
    assert result.lossy == []
    assert sorted((x.target, x.field) for x in result.accepted) == [
        ("skill-table", "model"),
        ("skill-table", "tools"),
    ]
    check = run_check(root, strict=True)
    assert check.exit_code == 0
    assert check.summary == (
        "checked 3 outputs: 0 error(s), 0 warning(s), 0 dropped field(s) (2 more accepted)"
    )
    built = run_build(root, strict=True)
    assert built.exit_code == 0
    assert built.summary.endswith("; 2 dropped field(s) accepted by targets")
    assert not [line for line in built.notes if line.startswith("lossy:")]


def test_accepting_one_field_leaves_the_others_reported(make_bundle: BundleFactory) -> None:
    root = _bundle(make_bundle, 'accept = ["model"]\n')
    result = build_outputs(load(root))
    assert [(x.target, x.field) for x in result.lossy] == [("skill-table", "tools")]
    assert run_check(root, strict=True).exit_code == 1


@pytest.mark.parametrize(
    ("accept", "got"), [('"model"', "'model'"), ("[1]", "[1]"), ('[""]', "['']")]
)
def test_accept_must_be_a_list_of_field_names(
    make_bundle: BundleFactory, accept: str, got: str
) -> None:
    root = _bundle(make_bundle, f"accept = {accept}\n")
    with pytest.raises(PromptBundleError) as caught:
        load(root)
    assert caught.value.lines() == [
        f"{root / 'targets/skill-table.toml'}:3:1: error: 'accept' must be a list of field names"
        f" this target may drop, got {got} [PB001]"
    ]


def test_a_field_name_accepts_its_items_and_star_accepts_every_field() -> None:
    tools = TargetConfig(name="t", format="opencode", accept=("tools",))
    assert tools.accepts("tools") and tools.accepts("tools.Grep")
    assert not tools.accepts("toolset") and not tools.accepts("model")
    assert TargetConfig(name="t", format="opencode", accept=("*",)).accepts("model")
