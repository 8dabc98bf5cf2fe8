"""`promptbundle init`: write a new bundle that builds, checks and passes its own tests at once."""

from __future__ import annotations

import json
import os
import shlex
from importlib import metadata
from pathlib import Path

from promptbundle import __version__
from promptbundle.commands.outcome import Outcome
from promptbundle.core.errors import BundleError, UsageError, display_path
from promptbundle.importing.convert import slugify

__all__ = ["InitConflictError", "bundle_files", "install_requirement", "run_init"]

TARGETS = ("claude-code", "claude-plugin", "opencode")
# Whether `promptbundle==<version>` installs from PyPI (a release publishes it there).
PUBLISHED = False
DESCRIPTION = "A reviewer agent, a /review command and an AGENTS.md rule from shared rules"

TESTING = """\
# Testing

- Run the whole test suite before you call a change done, and report the command you ran and
  its result.
- A bug fix starts with a test that fails without the fix and passes with it.
- Test behaviour through the public interface, not private helpers or how often a mock was
  called.
- Keep tests deterministic: no sleeps, no real network, no dependence on the clock or on the
  order tests run in; fake time and I/O at the boundary.
- Change an existing test's expectation only when the requirement changed, and say why.
"""

GIT = """\
# Git

- One logical change per commit; every commit builds and passes the tests on its own.
- Write the subject in the imperative mood, at most 72 characters; the body says why the
  change is needed, not what the diff already shows.
- Read `git diff --staged` before you commit: no secrets, credentials, debug output or
  unrelated files.
- Keep formatting and refactoring out of a functional change; send them as their own commit.
- Never rewrite history others may have pulled: no force-push to a shared branch.
"""

# Editors with a YAML language server (VS Code, Neovim, ...) complete and check frontmatter
# against the schema every build writes into dist/schemas/.
MODELINE = "# yaml-language-server: $schema=../dist/schemas/prompt.schema.json\n"

REVIEWER = (
    "---\n"
    + MODELINE
    + """\
name: reviewer
description: Reviews a change for tests and commit hygiene. Use after writing or modifying code.
model: sonnet
tools: [Read, Grep, Glob, Bash]
opencode: {mode: subagent}
---
You review code changes. Read the diff, then every changed file in full, and check each change
against the rules below. Report findings grouped by file, most serious first: the rule broken,
the line, and the smallest fix. Do not edit files; say "no findings" when there are none.

{{ fragment("testing", level=2) }}

{{ fragment("git", level=2) }}
"""
)

REVIEW = (
    "---\n"
    + MODELINE
    + """\
description: Review the changes on this branch against the testing and git rules
---
Review the changes between the base branch ($ARGUMENTS; `main` when none is given) and the
working tree: read `git log <base>..` and `git diff <base>...`, then each changed file. For
every rule below that a change breaks, name the file and line, the rule, and the smallest fix.
End with one line: ready to merge, or what must change first.

{{ fragment("testing", level=2) }}

{{ fragment("git", level=2) }}
"""
)

AGENTS = """\
# Working in this repository

Every agent that changes code here follows these rules; the `reviewer` agent and the `/review`
command check changes against the same text.

{{ fragment("testing", level=2) }}

{{ fragment("git", level=2) }}
"""

SNAPSHOT_TEST = """\
# One snapshot file per output, under tests/__snapshots__/test_outputs/: a change to any rule
# shows up in review as a diff of every prompt it reaches. After an intended change, record the
# new outputs with `pytest --snapshot-update` (make snapshots) and commit the snapshots.


def test_output(bundle_output, output_snapshot):
    assert bundle_output.content == output_snapshot
"""

MAKEFILE = """\
# `make build` writes dist/ from the sources; `make test` runs every check of the bundle;
# `make snapshots` records the snapshots after an intended change (review their diff).
PROMPTBUNDLE ?= promptbundle
PYTEST ?= pytest

.PHONY: build test snapshots

build:
\t$(PROMPTBUNDLE) build

test: build
\t$(PYTEST)
\t$(PROMPTBUNDLE) check --strict
\t$(PROMPTBUNDLE) build --check

snapshots:
\t$(PYTEST) --snapshot-update
"""

GITIGNORE = """\
# dist/ is generated: `promptbundle build` (make build) writes it from the sources, and the
# snapshots in tests/__snapshots__/ show every output in review. Committing dist/ is the other
# valid choice (delete the line below): CI then checks that it matches the sources.
/dist/
__pycache__/
.pytest_cache/
"""

PRE_COMMIT = """\
# Before each commit: dist/ matches the sources, and the sources pass every check.
# Install with `pre-commit install`.
repos:
  - repo: local
    hooks:
      - id: promptbundle-build-check
        name: promptbundle build --check
        entry: promptbundle build --check
        language: python
        additional_dependencies: ["{requirement}"]
        pass_filenames: false
        always_run: true
      - id: promptbundle-check
        name: promptbundle check
        entry: promptbundle check
        language: python
        additional_dependencies: ["{requirement}"]
        pass_filenames: false
        always_run: true
"""

WORKFLOW = """\
# On every push to main and every pull request: a committed dist/ matches the sources, the
# sources pass every check, and every output matches its snapshot in tests/__snapshots__/.
name: prompts

on:
  push:
    branches: [main]
  pull_request:

permissions:
  contents: read

jobs:
  prompts:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4

      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"

      - name: Install promptbundle
        run: python -m pip install "{requirement}" pytest syrupy

      # First, before anything rebuilds dist/. While dist/ is ignored (see .gitignore) a fresh
      # checkout has none, so there is nothing to compare.
      - name: Check the committed dist/ is up to date
        run: |
          if [ -d dist ]; then
            promptbundle build --check
          else
            echo "dist/ is not committed (see .gitignore): nothing to compare"
          fi

      - name: Check the sources
        run: promptbundle check --strict

      - name: Snapshot tests
        run: pytest
"""


def install_requirement() -> tuple[str, bool]:
    """(the pip requirement that installs this promptbundle elsewhere, whether a CI runner can
    use it): the git URL and commit it was installed from, else its version on PyPI."""
    try:
        text = metadata.distribution("promptbundle").read_text("direct_url.json")
        origin = json.loads(text) if text else {}
    except (metadata.PackageNotFoundError, ValueError):
        origin = {}
    vcs = origin.get("vcs_info") if isinstance(origin, dict) else None
    url = origin.get("url", "") if isinstance(origin, dict) else ""
    if isinstance(vcs, dict) and vcs.get("vcs") == "git" and not url.startswith("file:"):
        return f"promptbundle @ git+{url}@{vcs.get('commit_id', '')}", True
    return f"promptbundle=={__version__}", PUBLISHED


def bundle_files(name: str, requirement: str | None = None) -> dict[str, str]:
    """Every file of a new bundle named `name`: {path relative to its folder: text}.

    `requirement` is what its CI and pre-commit hooks pip-install (see install_requirement)."""
    requirement = requirement or install_requirement()[0]
    targets = ", ".join(f'"{target}"' for target in TARGETS)
    config = (
        "#:schema ./dist/schemas/promptbundle.schema.json\n"
        "# Build with `promptbundle build`; see `promptbundle --help` for the other commands.\n"
        f'name = "{name}"\n'
        'version = "0.1.0"\n'
        f'description = "{DESCRIPTION}"\n'
        f"targets = [{targets}]\n"
    )
    return {
        "promptbundle.toml": config,
        "agents/reviewer.md": REVIEWER,
        "commands/review.md": REVIEW,
        "rules/AGENTS.md": AGENTS,
        "fragments/testing.md": TESTING,
        "fragments/git.md": GIT,
        "tests/test_outputs.py": SNAPSHOT_TEST,
        "Makefile": MAKEFILE,
        ".gitignore": GITIGNORE,
        ".github/workflows/prompts.yml": WORKFLOW.format(requirement=requirement),
        ".pre-commit-config.yaml": PRE_COMMIT.format(requirement=requirement),
    }


class InitConflictError(BundleError):
    """Files (or non-folders where a folder must go) that init would overwrite; nothing written."""

    def __init__(self, paths: list[Path]) -> None:
        super().__init__(
            f"{len(paths)} file(s) of the new bundle already exist; nothing written "
            "(init only creates a new bundle: move them away, or init another folder)"
        )
        self.paths = paths

    def lines(self) -> list[str]:
        return [
            *(f"{display_path(path)}: error: already exists" for path in self.paths),
            f"error: {self.message}",
        ]


def run_init(folder: Path | None = None, *, requirement: str | None = None) -> Outcome:
    """Write a new bundle into `folder` (default: the current folder; created when missing).

    The bundle is named after the folder; nothing is written if any of its files exists.
    `requirement` is what its CI and pre-commit hooks install (default: install_requirement).
    """
    root = (folder if folder is not None else Path.cwd()).resolve()
    if root.exists() and not root.is_dir():
        raise UsageError(f"{display_path(root)} is not a folder")
    name = slugify(root.name)
    usable = True
    if requirement is None:
        requirement, usable = install_requirement()
    files = bundle_files(name, requirement)
    in_the_way = _in_the_way(root, files)
    if in_the_way:
        raise InitConflictError(in_the_way)
    for rel, text in files.items():
        path = root / rel
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # "x": never replace a file that appeared since the check above.
            with path.open("x", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
        except OSError as err:
            raise BundleError(f"cannot write {display_path(path)}: {err.strerror}") from err
    where = display_path(root) if root != Path.cwd().resolve() else "."
    step = "" if where == "." else f"cd {shlex.quote(where)} && "
    notes = [f"next: {step}pytest --snapshot-update (records the first snapshots), then make test"]
    if not usable:
        notes.append(
            f"note: the CI workflow and pre-commit config install {requirement!r}, which is not"
            " on PyPI: run init with --requirement 'promptbundle @ git+URL@TAG' (where your"
            " team gets promptbundle from), or edit both files"
        )
    return Outcome(
        "init",
        f"created bundle '{name}' in {where}: {len(files)} files written",
        lines=[display_path(root / rel) for rel in files],
        notes=notes,
        data={
            "name": name,
            "root": str(root),
            "written": list(files),
            "requirement": requirement,
        },
    )


def _in_the_way(root: Path, files: dict[str, str]) -> list[Path]:
    """Each path init would write that exists, and each non-folder where a folder must go."""
    found: dict[Path, None] = {}
    for rel in files:
        path = root / rel
        for parent in reversed(Path(rel).parents[:-1]):
            folder = root / parent
            if os.path.lexists(folder) and not folder.is_dir():
                found[folder] = None
        if os.path.lexists(path):
            found[path] = None
    return list(found)
