"""The pytest plugin's snapshots read well: a mismatch shows a unified diff of the output's text,
and (opt-in) each snapshot file has the extension of its output."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptbundle.build.pipeline import build_outputs, load
from promptbundle.testing import output_snapshot_extension

pytest_plugins = ["pytester"]

CONFIG = 'name = "demo"\n'
AGENT = "---\nname: x\ndescription: X\n---\nBody\n"
TEST_FILE = """
def test_output(bundle_output, output_snapshot):
    assert bundle_output.content == output_snapshot
"""
OPT_IN = "[pytest]\npromptbundle_snapshot_extension = output\n"
ASSERT_LINE = "E       assert [+ received] == [- snapshot]"
EXPLANATION = "E         "


def _demo(pytester: pytest.Pytester) -> Path:
    pytester.makefile(".toml", promptbundle=CONFIG)
    (pytester.path / "agents").mkdir()
    (pytester.path / "agents" / "x.md").write_text(AGENT, encoding="utf-8")
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "test_outputs.py").write_text(TEST_FILE, encoding="utf-8")
    return pytester.path / "tests" / "__snapshots__" / "test_outputs"


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _explanation(lines: list[str]) -> list[str]:
    """The lines syrupy's assertion explains a mismatch with, without pytest's `E` prefix."""
    start = lines.index(ASSERT_LINE) + 1
    found = []
    for line in lines[start:]:
        if not line.startswith(EXPLANATION):
            break
        found.append(line[len(EXPLANATION) :])
    return found


def test_a_mismatch_shows_a_unified_diff_of_the_output(pytester: pytest.Pytester) -> None:
    _demo(pytester)
    assert pytester.runpytest_subprocess("--snapshot-update").ret == pytest.ExitCode.OK
    agent = pytester.path / "agents" / "x.md"
    agent.write_text(AGENT.replace("Body", "Changed"), encoding="utf-8")

    result = pytester.runpytest_subprocess(
        "tests/test_outputs.py::test_output[opencode__agent__x.md]", "-p", "no:cacheprovider"
    )

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1)
    assert _explanation(result.stdout.lines) == [
        "--- snapshot",
        "+++ received",
        "@@ -2,3 +2,3 @@",
        " description: X",
        " ---",
        "-Body",
        "+Changed",
    ]


def test_the_diff_shows_line_endings_and_a_missing_final_newline() -> None:
    extension = output_snapshot_extension()()
    lines = list(extension.diff_lines(b"a\r\nb\r\nc", b"a\nb\nc\n"))
    assert lines == [
        "--- snapshot",
        "+++ received",
        "@@ -1,3 +1,4 @@",
        "-a",
        "-b",
        "+a\\r",
        "+b\\r",
        " c",
        "+\\ No newline at end of file",
    ]


def test_snapshots_keep_the_md_extension_by_default(pytester: pytest.Pytester) -> None:
    folder = _demo(pytester)
    assert pytester.runpytest_subprocess("--snapshot-update").ret == pytest.ExitCode.OK
    assert [name for name in _files(folder) if not name.endswith("].md")] == []


def test_snapshots_can_take_the_extension_of_their_output(pytester: pytest.Pytester) -> None:
    folder = _demo(pytester)
    pytester.makeini(OPT_IN)

    written = pytester.runpytest_subprocess("--snapshot-update", "-p", "no:cacheprovider")

    assert written.ret == pytest.ExitCode.OK
    outputs = build_outputs(load(pytester.path)).outputs
    expected = {}
    for output in outputs:
        extension = output.path.rsplit(".", 1)[1]
        expected[f"test_output[{output.path.replace('/', '__')}].{extension}"] = output.content
    assert _files(folder) == expected
    assert sorted(name for name in expected if name.endswith(".json")) == [
        "test_output[claude-plugin__.claude-plugin__marketplace.json].json",
        "test_output[claude-plugin__plugins__demo__.claude-plugin__plugin.json].json",
    ]
    again = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert again.ret == pytest.ExitCode.OK
    again.assert_outcomes(passed=len(outputs) + 1)


def test_opting_in_renames_the_snapshots_in_one_update(pytester: pytest.Pytester) -> None:
    folder = _demo(pytester)
    assert pytester.runpytest_subprocess("--snapshot-update").ret == pytest.ExitCode.OK
    before = _files(folder)
    pytester.makeini(OPT_IN)

    # The `.md` snapshots of the JSON outputs are no output's snapshot any more.
    stale = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert stale.ret == pytest.ExitCode.TESTS_FAILED
    stale.stdout.fnmatch_lines(
        [
            "snapshots no output uses (run with --snapshot-update to delete):",
            "  test_output[claude-plugin__.claude-plugin__marketplace.json].md",
            "  test_output[claude-plugin__plugins__demo__.claude-plugin__plugin.json].md",
        ]
    )
    renamed = pytester.runpytest_subprocess("--snapshot-update", "-p", "no:cacheprovider")

    assert renamed.ret == pytest.ExitCode.OK
    expected = {}
    for name, data in before.items():
        expected[name.replace(".json].md", ".json].json")] = data
    assert _files(folder) == expected


def test_an_unknown_snapshot_extension_setting_is_a_usage_error(
    pytester: pytest.Pytester,
) -> None:
    _demo(pytester)
    pytester.makeini("[pytest]\npromptbundle_snapshot_extension = yaml\n")

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*promptbundle_snapshot_extension must be 'md' or 'output', not 'yaml'*"]
    )
