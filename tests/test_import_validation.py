"""Imported agents still build: a verbatim native output's errors are warnings, and an
agent whose other outputs would fail validation is narrowed to the targets that pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptbundle.build import build_outputs, load
from promptbundle.check import run_check
from promptbundle.errors import BuildFailedError
from promptbundle.importer import convert_file
from promptbundle.pipeline import run_build
from tests.conftest import BundleFactory, write_tree

LONG = "Reviews code." * 80  # 1,040 characters: over the Agent Skills limit of 1,024
CAPITAL = b"---\nname: Reviewer Bot\ndescription: Reviews code\n---\nBe kind.\n"
LONG_DESCRIPTION = f"---\nname: reviewer\ndescription: {LONG}\n---\nBe kind.\n".encode()


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
    assert warning.message.startswith("as imported: 'name' must be lowercase")
    assert warning.message.endswith("(PB110)")
    [output] = [o for o in result.outputs if o.agent]
    assert output.content == CAPITAL


def test_build_writes_a_verbatim_output_with_errors_and_strict_refuses(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    root = imported_bundle(make_bundle, tmp_path, CAPITAL, "claude-code")
    outcome = run_build(root)
    assert any("warning: as imported:" in line for line in outcome.messages)
    assert (root / "dist/claude-code/agents/reviewer-bot.md").read_bytes() == CAPITAL
    with pytest.raises(BuildFailedError):
        run_build(root, strict=True)


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
    assert error.code == "PB107" and "agent-skill/reviewer/SKILL.md" in str(error.location)
    assert not error.message.startswith("as imported")
