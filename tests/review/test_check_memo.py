"""`check` keeps what it found in rendered bodies (heading jumps) by a digest of each body,
in the cache folder; a memo it cannot read or write changes nothing it reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import promptbundle.render.lint
import promptbundle.review.check
from promptbundle.build.cache import CACHE_FOLDER
from promptbundle.review.check import HEADINGS_MEMO, REPORT_MEMO, run_checks
from tests.support import BundleFactory

AGENT = """\
---
name: {name}
description: Agent {name}
---
# {title}

{{{{ fragment('f', level=3) }}}}
"""


def _bundle(make_bundle: BundleFactory) -> Path:
    return make_bundle(
        {
            "agents/a.md": AGENT.format(name="a", title="A"),
            "agents/b.md": AGENT.format(name="b", title="B"),
            "fragments/f.md": "# Rules\n\ntext\n",
        }
    )


def _lines(root: Path) -> list[str]:
    return [d.line() for d in run_checks(root).diagnostics]


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The bodies check parses for heading jumps."""
    bodies: list[str] = []
    real = promptbundle.render.lint.heading_jumps

    def counting(body: str, path: object, first_line: int) -> object:
        bodies.append(body)
        return real(body, path, first_line)  # type: ignore[arg-type]

    monkeypatch.setattr(promptbundle.review.check, "heading_jumps", counting)
    return bodies


def test_each_body_is_parsed_once_and_remembered(
    make_bundle: BundleFactory, parses: list[str]
) -> None:
    root = _bundle(make_bundle)
    first = _lines(root)
    assert len([line for line in first if "[PB207]" in line]) == 2
    assert len(parses) == 2  # two agents, one body each for all targets
    assert (root / CACHE_FOLDER / HEADINGS_MEMO).is_file()
    parses.clear()
    assert _lines(root) == first
    assert parses == []
    (root / "agents/b.md").write_text(AGENT.format(name="b", title="Bee"))
    second = _lines(root)
    assert len(parses) == 1  # only the edited agent's body
    assert [line for line in second if "[PB207]" in line] == [
        line for line in first if "[PB207]" in line
    ]


@pytest.mark.parametrize("content", [b"{not json", b"[" * 100_000, b'{"key": "x"}', b""])
def test_an_unreadable_memo_is_ignored(make_bundle: BundleFactory, content: bytes) -> None:
    root = _bundle(make_bundle)
    first = _lines(root)
    (root / CACHE_FOLDER / HEADINGS_MEMO).write_bytes(content)
    assert _lines(root) == first


def test_check_without_a_writable_cache_folder(make_bundle: BundleFactory) -> None:
    root = _bundle(make_bundle)
    expected = _lines(root)
    for path in sorted((root / CACHE_FOLDER).rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    (root / CACHE_FOLDER).rmdir()
    (root / CACHE_FOLDER).write_text("a file where the cache folder would be\n")
    assert _lines(root) == expected


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the builds check makes."""
    calls: list[int] = []
    real = promptbundle.review.check.build_outputs

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(promptbundle.review.check, "build_outputs", counting)
    return calls


def test_a_check_with_nothing_changed_is_the_last_report(
    make_bundle: BundleFactory, builds: list[int]
) -> None:
    root = _bundle(make_bundle)
    first = run_checks(root)
    assert builds == [1]
    again = run_checks(root)
    assert builds == [1]
    assert again == first
    assert again.summary() == first.summary()


def test_any_edit_checks_again(make_bundle: BundleFactory, builds: list[int]) -> None:
    root = _bundle(make_bundle)
    run_checks(root)
    (root / "fragments/f.md").write_text("text, no heading\n")  # the jumps are gone
    assert [line for line in _lines(root) if "[PB207]" in line] == []
    assert builds == [1, 1]
    (root / "agents/c.md").write_text(AGENT.format(name="c", title="C"))  # a new file
    assert len([line for line in _lines(root) if "[PB207]" in line]) == 0
    assert builds == [1, 1, 1]
    (root / "fragments/f.md").write_text("# Rules\n\ntext\n")
    assert len([line for line in _lines(root) if "[PB207]" in line]) == 3
    assert builds == [1, 1, 1, 1]


def test_a_template_outside_the_source_folders_is_watched_too(
    make_bundle: BundleFactory, builds: list[int]
) -> None:
    root = make_bundle(
        {
            "agents/a.md": AGENT.format(name="a", title="A").replace(
                "{{ fragment('f', level=3) }}", '{% include "docs/part.md" %}'
            ),
            "docs/part.md": "## Part\n",
        }
    )
    assert [line for line in _lines(root) if "[PB207]" in line] == []
    assert _lines(root) == _lines(root)
    assert builds == [1]
    (root / "docs/part.md").write_text("#### Deep\n")
    assert len([line for line in _lines(root) if "[PB207]" in line]) == 1
    assert builds == [1, 1]


@pytest.mark.parametrize("content", [b"{not json", b"[" * 100_000, b'{"key": "x"}', b"{}"])
def test_an_unreadable_report_memo_means_a_new_check(
    make_bundle: BundleFactory, builds: list[int], content: bytes
) -> None:
    root = _bundle(make_bundle)
    first = _lines(root)
    (root / CACHE_FOLDER / REPORT_MEMO).write_bytes(content)
    assert _lines(root) == first
    assert builds == [1, 1]
