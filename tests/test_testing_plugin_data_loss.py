"""The pytest plugin never loses snapshot files: not on a bundle that does not build, not on
an update restricted to some outputs (node id, -k, --lf, a path). Each test runs pytest for real
on a small bundle and compares every snapshot file, byte for byte, before and after."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptbundle.build.pipeline import build_outputs, load

pytest_plugins = ["pytester"]

CONFIG = 'name = "demo"\n'
AGENT = "---\nname: x\ndescription: X\n---\nBody\n"
TEST_FILE = """
def test_output(bundle_output, output_snapshot):
    assert bundle_output.content == output_snapshot
"""
# Output ids of the demo bundle (default targets), in path order.
IDS = [
    "README.md",
    "claude-code__agents__x.md",
    "claude-plugin__.claude-plugin__marketplace.json",
    "claude-plugin__plugins__demo__.claude-plugin__plugin.json",
    "claude-plugin__plugins__demo__agents__x.md",
    "opencode__agent__x.md",
]
# The outputs a change of the agent's body changes (README.md counts its lines and characters).
BODY_IDS = [IDS[0], IDS[1], IDS[4], IDS[5]]
ORPHAN = "test_output[gone.md].md"
BUILD_ERROR = "agents/x.md:5:1: error: 'stak' is undefined [PB003]"


def _demo(pytester: pytest.Pytester, test_file: str = TEST_FILE) -> Path:
    """The demo bundle with its snapshots written, plus one orphan snapshot; its folder."""
    pytester.makefile(".toml", promptbundle=CONFIG)
    (pytester.path / "agents").mkdir()
    (pytester.path / "agents" / "x.md").write_text(AGENT, encoding="utf-8")
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "test_outputs.py").write_text(test_file, encoding="utf-8")
    result = pytester.runpytest_subprocess("--snapshot-update", "-p", "no:cacheprovider")
    assert result.ret == 0
    folder = pytester.path / "tests" / "__snapshots__" / "test_outputs"
    (folder / ORPHAN).write_bytes(b"stale\n")
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _change_body(pytester: pytest.Pytester) -> dict[str, bytes]:
    """Edit the agent's body; the new bytes of every output, by snapshot file name."""
    agent = pytester.path / "agents" / "x.md"
    agent.write_text(AGENT.replace("Body", "Changed"), encoding="utf-8")
    outputs = build_outputs(load(pytester.path)).outputs
    return {f"test_output[{o.path.replace('/', '__')}].md": o.content for o in outputs}


def _updated(before: dict[str, bytes], new: dict[str, bytes], ids: list[str]) -> dict[str, bytes]:
    """`before` with the snapshots of `ids` (and only those) rewritten to the new outputs."""
    names = {f"test_output[{i}].md" for i in ids}
    return {name: new[name] if name in names else data for name, data in before.items()}


def test_the_demo_bundle_has_one_snapshot_per_output(pytester: pytest.Pytester) -> None:
    folder = _demo(pytester)
    assert sorted(_files(folder)) == sorted([*(f"test_output[{i}].md" for i in IDS), ORPHAN])


# 1. A bundle that does not build ---------------------------------------------------------


def _break_build(pytester: pytest.Pytester) -> None:
    agent = pytester.path / "agents" / "x.md"
    agent.write_text(AGENT.replace("Body", "Body {{ stak }}"), encoding="utf-8")


def test_an_update_of_a_bundle_that_does_not_build_keeps_every_snapshot(
    pytester: pytest.Pytester,
) -> None:
    folder = _demo(pytester)
    before = _files(folder)
    _break_build(pytester)

    result = pytester.runpytest_subprocess("--snapshot-update", "-p", "no:cacheprovider")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_output?build-error?*",
            "the bundle does not build:",
            BUILD_ERROR,
            "*promptbundle: the bundle does not build*",
            BUILD_ERROR,
            "Its snapshots were not checked, written or deleted: fix the bundle first, "
            "and do not run --snapshot-update until it builds.",
        ]
    )
    result.stdout.no_fnmatch_line("*snapshot* unused*")
    result.stdout.no_fnmatch_line("*Deleted*")
    result.stdout.no_fnmatch_line("*unused-snapshots*")
    assert _files(folder) == before


def test_a_bundle_that_does_not_build_reports_no_snapshot_as_unused(
    pytester: pytest.Pytester,
) -> None:
    folder = _demo(pytester)
    before = _files(folder)
    _break_build(pytester)

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["the bundle does not build:", BUILD_ERROR])
    result.stdout.no_fnmatch_line("*snapshot* unused*")
    result.stdout.no_fnmatch_line("*Re-run pytest with --snapshot-update*")
    result.stdout.no_fnmatch_line("*snapshots no output uses*")
    assert _files(folder) == before


def test_a_selected_update_of_a_bundle_that_does_not_build_fails_with_its_errors(
    pytester: pytest.Pytester,
) -> None:
    folder = _demo(pytester)
    before = _files(folder)
    _break_build(pytester)

    # -k leaves out the one item that fails with the errors: the session still fails.
    result = pytester.runpytest_subprocess(
        "-k", "opencode", "--snapshot-update", "-p", "no:cacheprovider"
    )

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(deselected=1)
    result.stdout.fnmatch_lines(["*promptbundle: the bundle does not build*", BUILD_ERROR])
    assert _files(folder) == before


# 2. An update restricted to some outputs -------------------------------------------------


def test_an_update_by_node_id_rewrites_that_snapshot_only(pytester: pytest.Pytester) -> None:
    folder = _demo(pytester)
    before = _files(folder)
    new = _change_body(pytester)

    result = pytester.runpytest_subprocess(
        "tests/test_outputs.py::test_output[opencode__agent__x.md]",
        "--snapshot-update",
        "-p",
        "no:cacheprovider",
    )

    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*1 snapshot updated.*",
            "promptbundle: 1 of 6 outputs of tests/test_outputs.py::test_output selected: "
            "the snapshot files of the others were left as they are.",
        ]
    )
    assert _files(folder) == _updated(before, new, ["opencode__agent__x.md"])


@pytest.mark.parametrize(
    ("keyword", "ids"),
    [
        ("opencode__agent__x", ["opencode__agent__x.md"]),
        # pytest matches -k case-insensitively, syrupy's unused check does not.
        ("not readme", IDS[1:]),
    ],
)
def test_an_update_by_keyword_rewrites_the_selected_snapshots_only(
    pytester: pytest.Pytester, keyword: str, ids: list[str]
) -> None:
    folder = _demo(pytester)
    before = _files(folder)
    new = _change_body(pytester)

    result = pytester.runpytest_subprocess(
        "-k", keyword, "--snapshot-update", "-p", "no:cacheprovider"
    )

    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=len(ids), deselected=len(IDS) - len(ids))
    assert _files(folder) == _updated(before, new, ids)


def test_an_update_of_the_last_failures_rewrites_those_snapshots_only(
    pytester: pytest.Pytester,
) -> None:
    folder = _demo(pytester)
    before = _files(folder)
    new = _change_body(pytester)
    first = pytester.runpytest_subprocess()
    # The four outputs the body change reaches, and the orphan snapshot.
    first.assert_outcomes(passed=2, failed=5)
    assert _files(folder) == before

    result = pytester.runpytest_subprocess("--lf", "--snapshot-update")

    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=4)
    assert _files(folder) == _updated(before, new, BODY_IDS)


def test_an_update_of_one_test_function_keeps_the_snapshots_of_the_other(
    pytester: pytest.Pytester,
) -> None:
    other = "\n\ndef test_head(bundle_output, output_snapshot):\n"
    other += "    assert bundle_output.content[:3] == output_snapshot\n"
    folder = _demo(pytester, TEST_FILE + other)
    before = _files(folder)
    assert len(before) == 2 * len(IDS) + 1
    new = _change_body(pytester)

    result = pytester.runpytest_subprocess(
        "tests/test_outputs.py::test_output", "--snapshot-update", "-p", "no:cacheprovider"
    )

    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=len(IDS))
    assert _files(folder) == _updated(before, new, BODY_IDS)


def test_an_update_of_another_test_file_keeps_every_snapshot(pytester: pytest.Pytester) -> None:
    folder = _demo(pytester)
    before = _files(folder)
    _change_body(pytester)
    pytester.makepyfile(test_other="def test_other():\n    pass\n")

    result = pytester.runpytest_subprocess(
        "test_other.py", "--snapshot-update", "-p", "no:cacheprovider"
    )

    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1)
    assert _files(folder) == before


def test_an_update_of_the_whole_file_rewrites_all_and_deletes_the_orphan(
    pytester: pytest.Pytester,
) -> None:
    folder = _demo(pytester)
    before = _files(folder)
    new = _change_body(pytester)

    result = pytester.runpytest_subprocess(
        "tests/test_outputs.py", "--snapshot-update", "-p", "no:cacheprovider"
    )

    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=len(IDS) + 1)
    expected = _updated(before, new, IDS)
    del expected[ORPHAN]
    assert _files(folder) == expected


def test_a_run_of_some_outputs_reports_no_snapshot_as_unused(pytester: pytest.Pytester) -> None:
    folder = _demo(pytester)
    before = _files(folder)

    result = pytester.runpytest_subprocess(
        "tests/test_outputs.py::test_output[opencode__agent__x.md]", "-p", "no:cacheprovider"
    )

    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*snapshot* unused*")
    result.stdout.no_fnmatch_line("*snapshots no output uses*")
    assert _files(folder) == before


def test_an_update_that_stops_before_the_outputs_run_keeps_every_snapshot(
    pytester: pytest.Pytester,
) -> None:
    folder = _demo(pytester)
    before = _files(folder)
    _change_body(pytester)
    (pytester.path / "tests" / "test_a_first.py").write_text(
        "def test_fails():\n    assert False\n", encoding="utf-8"
    )

    result = pytester.runpytest_subprocess("-x", "--snapshot-update", "-p", "no:cacheprovider")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "promptbundle: 6 of 6 selected outputs of tests/test_outputs.py::test_output "
            "did not run: their snapshot files were left as they are."
        ]
    )
    result.stdout.no_fnmatch_line("*Deleted*")
    assert _files(folder) == before


def test_with_a_syrupy_that_cannot_spare_unused_snapshots_a_partial_update_is_refused(
    pytester: pytest.Pytester,
) -> None:
    folder = _demo(pytester)
    before = _files(folder)
    _change_body(pytester)
    # Older syrupy releases have no --snapshot-disable-unused.
    (pytester.path / "tests" / "conftest.py").write_text(
        "def pytest_configure(config):\n    del config.option.disable_unused_snapshots\n",
        encoding="utf-8",
    )

    result = pytester.runpytest_subprocess(
        "tests/test_outputs.py::test_output[opencode__agent__x.md]",
        "--snapshot-update",
        "-p",
        "no:cacheprovider",
    )

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "promptbundle: --snapshot-update was not applied: this syrupy has no "
            "--snapshot-disable-unused, so it would delete the snapshots of the outputs "
            "that did not run; update every output, or upgrade syrupy."
        ]
    )
    assert _files(folder) == before


def test_a_rerun_of_the_failed_unused_check_deletes_the_orphan_only(
    pytester: pytest.Pytester,
) -> None:
    folder = _demo(pytester)
    before = _files(folder)
    pytester.runpytest_subprocess().assert_outcomes(passed=len(IDS), failed=1)

    result = pytester.runpytest_subprocess("--lf", "--snapshot-update")

    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1, deselected=len(IDS))
    del before[ORPHAN]
    assert _files(folder) == before
