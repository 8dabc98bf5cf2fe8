"""The pytest plugin (promptbundle.testing) run on a bundle of its own, outside this repository."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

CONFIG = 'name = "team"\nversion = "1.0.0"\ntargets = ["claude-code"]\n'
AGENT = "---\nname: reviewer\ndescription: Reviews changes\n---\nYou review {{ stack }} code.\n"
TEST_FILE = """
def test_output(bundle_output, output_snapshot):
    assert bundle_output.content == output_snapshot
"""


def _bundle(pytester: pytest.Pytester, agent: str = AGENT) -> None:
    pytester.makefile(".toml", promptbundle=CONFIG)
    (pytester.path / "agents").mkdir()
    (pytester.path / "agents" / "reviewer.md").write_text(agent, encoding="utf-8")
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "test_prompts.py").write_text(TEST_FILE, encoding="utf-8")


def test_snapshots_are_written_then_pass(pytester: pytest.Pytester) -> None:
    _bundle(pytester, AGENT.replace("{{ stack }}", "flask"))
    pytester.runpytest_subprocess("--snapshot-update").assert_outcomes(passed=3)
    snapshots = pytester.path / "tests" / "__snapshots__" / "test_prompts"
    assert sorted(p.name for p in snapshots.iterdir()) == [
        "test_output[README.md].md",
        "test_output[claude-code__agents__reviewer.md].md",
    ]
    pytester.runpytest_subprocess().assert_outcomes(passed=3)


def test_a_bundle_that_does_not_build_fails_with_its_errors(pytester: pytest.Pytester) -> None:
    _bundle(pytester)
    result = pytester.runpytest_subprocess()
    result.stdout.fnmatch_lines(["*the bundle does not build:*", "*'stack' is undefined*"])
    result.stdout.no_fnmatch_line("*AttributeError*")


def test_the_bundle_is_found_above_the_pytest_root(pytester: pytest.Pytester) -> None:
    _bundle(pytester, AGENT.replace("{{ stack }}", "flask"))
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(pytester.path / "tests")
        # Without an ini file the pytest root is tests/, below the bundle's root.
        pytester.runpytest_subprocess("--snapshot-update").assert_outcomes(passed=3)
    assert (pytester.path / "tests" / "__snapshots__" / "test_prompts").is_dir()


def test_output_snapshot_without_syrupy_says_to_install_it(pytester: pytest.Pytester) -> None:
    _bundle(pytester, AGENT.replace("{{ stack }}", "flask"))
    # A module named syrupy that cannot be imported stands for a missing install.
    pytester.makeconftest("import sys\nsys.modules['syrupy'] = None\n")
    result = pytester.runpytest_subprocess("-p", "no:syrupy")
    result.stdout.fnmatch_lines(["*output_snapshot needs syrupy: pip install syrupy*"])
