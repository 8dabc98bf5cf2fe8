"""`promptbundle build --jobs`: parsed by the CLI and passed to the library as is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import promptbundle.commands.build
from promptbundle.cli import main
from promptbundle.commands.outcome import Outcome


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    def fake(root: Path | None, **kwargs: Any) -> Outcome:
        seen.append({"root": root, **kwargs})
        return Outcome("build", "built")

    monkeypatch.setattr(promptbundle.commands.build, "run_build", fake)
    return seen


def test_jobs_is_passed_to_the_build(calls: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(main, ["build", "--jobs", "3"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "built\n"
    assert len(calls) == 1
    assert calls[0]["jobs"] == 3


def test_jobs_defaults_to_the_library_choice(calls: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(main, ["build", "-q"])
    assert result.exit_code == 0 and result.stdout == ""
    assert calls[0]["jobs"] is None


def test_jobs_below_one_is_a_usage_error(calls: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(main, ["build", "--jobs", "0"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: Invalid value for '-j' / '--jobs': 0 is not in the range x>=1."
    )
    assert calls == []
