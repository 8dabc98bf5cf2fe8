"""Every built-in format reads back: a bundle with one prompt of each kind builds for every
format, and `import --check` of each target's files (installed into a project where the tool
reads them) writes every file back byte for byte, each prompt file modelled as a source."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from promptbundle.build.pipeline import build_outputs, load
from promptbundle.commands.import_ import run_import_command
from promptbundle.commands.install import run_install
from promptbundle.formats.registry import FORMATS
from tests.support import BASIC_CONFIG, write_tree

ALL = sorted(FORMATS)
SOURCES = {
    "promptbundle.toml": BASIC_CONFIG + f"targets = {ALL!r}\n".replace("'", '"'),
    "agents/reviewer.md": "---\nname: reviewer\ndescription: Reviews code\nmodel: sonnet\n"
    'tools: [Read, Grep]\n---\n# Reviewer\n\nReview the "diff" {{ "with care" }}.\n',
    "agents/review/security.md": "---\nname: security\ndescription: Security review\n---\n"
    "Check for secrets.\n",
    "commands/commit.md": "---\ndescription: Commit staged changes\n---\n"
    "Write a commit message for $ARGUMENTS.\n",
    "skills/lint/SKILL.md": "---\nname: lint\ndescription: Lint the code\n---\nRun `lint.sh`.\n",
    "skills/lint/lint.sh": "#!/bin/sh\necho lint\n",
    "rules/python.md": "---\ndescription: Python style\n---\nUse type hints.\n",
    "rules/AGENTS.md": "Run the tests before committing.\n",
    "rules/backend/AGENTS.md": "Backend code is typed.\n",
}
# Files a format writes that import carries byte for byte instead of modelling: a plugin's
# manifests (not prompts).
CARRIED = {
    "claude-plugin": {".claude-plugin/marketplace.json", "plugins/demo/.claude-plugin/plugin.json"},
}
# Files that hold several prompts: Roo Code's one `.roomodes` holds both agents.
PARTS = {"roo": {".roomodes": 2}}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_tree(tmp_path_factory.mktemp("every-format"), SOURCES)
    result = build_outputs(load(root))
    assert [d.line() for d in result.diagnostics] == []
    assert {o.target for o in result.outputs} >= set(ALL)
    return root


def _project(bundle: Path, target: str, into: Path) -> Path:
    """The target's files where its tool reads them (the output folder itself for a format
    that is not installed into a project)."""
    if FORMATS[target].install_prefix is None:
        result = build_outputs(load(bundle))
        for output in result.outputs:
            if output.target == target:
                path = into / output.path.split("/", 1)[1]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(output.content)
        return into
    run_install(bundle, targets=[target], into=into)
    for record in into.glob(".promptbundle*"):
        shutil.rmtree(record) if record.is_dir() else record.unlink()
    return into


@pytest.mark.parametrize("target", ALL)
def test_import_check_of_every_format_is_byte_exact(
    bundle: Path, target: str, tmp_path: Path
) -> None:
    project = _project(bundle, target, tmp_path / target)
    files = sorted(p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file())
    assert files, f"{target} wrote nothing"
    outcome = run_import_command([project], check=True)
    assert outcome.exit_code == 0, outcome.messages
    data = outcome.data
    assert data["failures"] == []
    tree = data["tree"]
    assert tree["not_reproduced"] == []
    assert tree["reproduced"] == tree["files"] == len(files)
    assert tree["modelled"] == tree["prompts"]
    carried = CARRIED.get(target, set())
    assert tree["carried"] == len(carried)
    # Every prompt file (not a skill's resource, not a carried file) is modelled.
    resources = [f for f in files if f.endswith("lint.sh")]
    parts = sum(count - 1 for count in PARTS.get(target, {}).values())
    assert tree["prompts"] == len(files) - len(resources) - len(carried) + parts
