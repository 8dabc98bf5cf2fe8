"""The README's example bundle is built here, so its shown outputs cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

from promptbundle.build.pipeline import build_outputs, load
from tests.support import write_tree

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^```[a-z]*\n(.*?)^```\n", re.MULTILINE | re.DOTALL)
PATH_IN_TEXT = re.compile(r"`((?:dist/)?[\w./-]+\.(?:md|toml))`")


def _example_files() -> dict[str, str]:
    """{path: text} of every code block whose lead-in names a file in backticks."""
    section = README.split("## A bundle in three files", 1)[1].split("\n## Sources", 1)[0]
    files: dict[str, str] = {}
    position = 0
    for match in FENCE.finditer(section):
        lead_in = section[position : match.start()]
        position = match.end()
        names = PATH_IN_TEXT.findall(lead_in)
        if names:
            files[names[0]] = match.group(1)
    return files


def test_readme_example_builds_to_the_outputs_it_shows(tmp_path: Path) -> None:
    files = _example_files()
    inputs = {p: t for p, t in files.items() if not p.startswith("dist/")}
    shown = {p.removeprefix("dist/"): t for p, t in files.items() if p.startswith("dist/")}
    assert set(inputs) == {"promptbundle.toml", "fragments/testing.md", "agents/reviewer.md"}
    assert len(shown) == 2
    write_tree(tmp_path, inputs)
    built = {o.path: o.content.decode() for o in build_outputs(load(tmp_path)).outputs}
    for path, text in shown.items():
        assert built[path] == text, path


def test_readme_commands_exist_in_the_makefile() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for command in re.findall(r"^make (\w+)", README, re.MULTILINE):
        assert re.search(rf"^{command}:", makefile, re.MULTILINE), command
    assert "make build" in README and "make test" in README


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci/run").read_text(encoding="utf-8")


# `promptbundle CMD ...` in a code block or an inline code span of the README.
USAGE = re.compile(r"(?:^|`|\$ )promptbundle ([a-z]+)([^`\n#]*)", re.MULTILINE)


def _usages() -> list[tuple[str, list[str]]]:
    found = []
    for match in USAGE.finditer(README):
        options = re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", match.group(2))
        found.append((match.group(1), options))
    return found


def test_every_command_is_shown_in_the_readme_with_options_it_has() -> None:
    import click

    from promptbundle.cli import main

    usages = _usages()
    shown = {command for command, _ in usages}
    assert set(main.commands) <= shown, f"not in the README: {set(main.commands) - shown}"
    wrong = []
    for command, options in usages:
        if command not in main.commands:
            continue  # prose such as "promptbundle is not on PyPI"
        known = {
            opt
            for param in main.commands[command].params
            if isinstance(param, click.Option)
            for opt in (*param.opts, *param.secondary_opts)
        }
        wrong += [f"{command} {opt}" for opt in options if opt not in known | {"-h", "--help"}]
    assert wrong == []
