"""Compiled templates are kept by template name and content: a cache folder restored into
another checkout (as CI caches are) serves them, and errors still point at this checkout."""

from __future__ import annotations

import shutil
from pathlib import Path

import jinja2
import pytest

from promptbundle.build.cache import CACHE_FOLDER, STATE_FILE
from promptbundle.build.incremental import MEMO_FILE
from promptbundle.commands.build import run_build
from promptbundle.core.errors import PromptBundleError
from tests.support import BASIC_CONFIG, write_tree

AGENT = """\
---
name: alpha
description: Alpha agent
vars:
  parts: 2
---
# Alpha

{{ fragment("share") }}
"""
FILES = {
    "promptbundle.toml": BASIC_CONFIG,
    "agents/alpha.md": AGENT,
    "fragments/share.md": "## Share\n\n{{ 10 // parts }} each.\n",
}


@pytest.fixture
def compiled(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    names: list[str] = []
    real = jinja2.Environment.compile

    def counting(
        self: jinja2.Environment, source: str, name: str | None = None, *a: object
    ) -> object:
        names.append(str(name))
        return real(self, source, name, *a)  # type: ignore[arg-type]

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    return names


def _moved(first: Path, second: Path) -> Path:
    """The bundle and its cache folder in another place, without output or build records."""
    shutil.copytree(first, second)
    shutil.rmtree(second / "dist")
    for name in (STATE_FILE, MEMO_FILE):
        (second / CACHE_FOLDER / name).unlink()
    return second


def test_a_moved_cache_serves_its_compiled_templates(tmp_path: Path, compiled: list[str]) -> None:
    first = write_tree(tmp_path / "one", FILES)
    assert run_build(first, jobs=1).exit_code == 0
    assert sorted(set(compiled)) == ["agents/alpha.md", "share.md"]
    compiled.clear()
    second = _moved(first, tmp_path / "two")
    assert run_build(second, jobs=1).exit_code == 0
    assert compiled == []
    assert (second / "dist").is_dir()


def test_an_edited_template_is_compiled_again(tmp_path: Path, compiled: list[str]) -> None:
    first = write_tree(tmp_path / "one", FILES)
    run_build(first, jobs=1)
    second = _moved(first, tmp_path / "two")
    (second / "fragments/share.md").write_text("## Share\n\n{{ 12 // parts }} each.\n")
    compiled.clear()
    assert run_build(second, jobs=1).exit_code == 0
    assert compiled == ["share.md"]
    assert "6 each." in (second / "dist/claude-code/agents/alpha.md").read_text()


def test_errors_in_a_cached_template_point_at_this_checkout(tmp_path: Path) -> None:
    first = write_tree(tmp_path / "one", FILES)
    run_build(first, jobs=1)
    second = _moved(first, tmp_path / "two")
    (second / "agents/alpha.md").write_text(AGENT.replace("parts: 2", "parts: 0"))
    with pytest.raises(PromptBundleError) as caught:
        run_build(second, jobs=1)
    text = "\n".join(caught.value.lines())
    assert f"{second / 'fragments/share.md'}:3:1" in text
    assert str(first) not in text
