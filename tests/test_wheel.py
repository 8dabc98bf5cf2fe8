"""The wheel and sdist build, and the wheel installs and runs outside the repository.

`python -m build --no-isolation` (the venv's pinned hatchling, no network) builds the sdist and,
from it, the wheel; a fresh venv gets the pinned runtime dependencies from requirements.lock and
then the wheel with --no-deps, and its `promptbundle` builds a tiny bundle in tmp_path. Nothing
here skips: a build or install that fails fails the test.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

pytestmark = pytest.mark.wheel

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
VERSION = PROJECT["version"]
SCHEMAS = sorted(p.name for p in (ROOT / "src/promptbundle/formats/schemas").glob("*.json"))
# Imported by the pytest plugin (promptbundle.testing) only, which pytest itself loads.
PLUGIN_ONLY = {"pytest", "syrupy"}


def _run(args: list[str | Path], cwd: Path, env: dict[str, str] | None = None) -> str:
    """stdout and stderr of a command that must exit 0."""
    proc = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"{args} exited {proc.returncode}:\n{proc.stdout}"
    return proc.stdout


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(wheel, sdist) of `python -m build --no-isolation`: the wheel is built from the sdist."""
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ROOT], cwd=ROOT)
    wheels, sdists = sorted(out.glob("*.whl")), sorted(out.glob("*.tar.gz"))
    assert [w.name for w in wheels] == [f"promptbundle-{VERSION}-py3-none-any.whl"]
    assert [s.name for s in sdists] == [f"promptbundle-{VERSION}.tar.gz"]
    return wheels[0], sdists[0]


def _runtime_closure() -> set[str]:
    """Canonical names of the runtime requirements and theirs, from this venv's metadata."""
    todo = [Requirement(r) for r in PROJECT["dependencies"]]
    seen: set[str] = set()
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen or (req.marker is not None and not req.marker.evaluate({"extra": ""})):
            continue
        seen.add(name)
        todo.extend(Requirement(r) for r in metadata.requires(name) or [])
    return seen


def _locked_pins(names: set[str]) -> list[str]:
    lines = (ROOT / "requirements.lock").read_text(encoding="utf-8").split()
    pins = {canonicalize_name(line.split("==")[0]): line for line in lines}
    assert names <= set(pins), f"not pinned in requirements.lock: {sorted(names - set(pins))}"
    return sorted(pins[name] for name in names)


@pytest.fixture(scope="module")
def venv(artifacts: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv with the locked runtime dependencies and the wheel (--no-deps)."""
    where = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", where / "venv"], cwd=where)
    python = where / "venv/bin/python"
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run([*pip, *_locked_pins(_runtime_closure())], cwd=where)
    _run([*pip, "--no-deps", artifacts[0]], cwd=where)
    # Every Requires-Dist of the installed wheel is satisfied by the locked pins alone.
    _run([python, "-m", "pip", "check", "--disable-pip-version-check"], cwd=where)
    yield where / "venv"


def _env() -> dict[str, str]:
    """The environment without anything that could put the repository's sources on the path."""
    return {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}


def test_wheel_holds_the_package_the_schemas_and_the_console_script(
    artifacts: tuple[Path, Path],
) -> None:
    with zipfile.ZipFile(artifacts[0]) as wheel:
        names = set(wheel.namelist())
        info = f"promptbundle-{VERSION}.dist-info"
        entry_points = wheel.read(f"{info}/entry_points.txt").decode()
        meta = wheel.read(f"{info}/METADATA").decode()
    sources = {
        p.relative_to(ROOT / "src").as_posix()
        for p in (ROOT / "src/promptbundle").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert sources <= names, sorted(sources - names)
    assert {f"promptbundle/formats/schemas/{s}" for s in SCHEMAS} <= names
    assert len(SCHEMAS) >= 19
    assert "[console_scripts]\npromptbundle = promptbundle.cli:main\n" in entry_points
    assert "[pytest11]\npromptbundle = promptbundle.testing\n" in entry_points
    requires = sorted(re.findall(r"^Requires-Dist: ([^;\n]+)$", meta, re.MULTILINE))
    assert requires == sorted(PROJECT["dependencies"])


def test_sdist_holds_the_sources_and_the_schemas(artifacts: tuple[Path, Path]) -> None:
    with tarfile.open(artifacts[1]) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    assert {"pyproject.toml", "README.md", "src/promptbundle/cli.py"} <= names
    assert {f"src/promptbundle/formats/schemas/{s}" for s in SCHEMAS} <= names
    assert not any(n.startswith(("dist/", ".venv/")) for n in names)


def test_installed_cli_builds_a_bundle_outside_the_repository(venv: Path, tmp_path: Path) -> None:
    bin_ = venv / "bin"
    env = _env()
    assert _run([bin_ / "promptbundle", "--version"], tmp_path, env) == (
        f"promptbundle, version {VERSION}\n"
    )
    where = _run(
        [bin_ / "python", "-c", "import promptbundle; print(promptbundle.__file__)"], tmp_path, env
    )
    assert Path(where.strip()).is_relative_to(venv), where
    bundle = tmp_path / "bundle"
    files = {
        "promptbundle.toml": 'name = "team-agents"\nversion = "1.0.0"\n'
        'targets = ["claude-code", "opencode"]\n',
        "fragments/testing.md": "# Testing\n\nRun `pytest -q` before you report.\n",
        "agents/reviewer.md": "---\nname: reviewer\ndescription: Reviews Python changes\n"
        "opencode: {mode: subagent}\n---\nYou review code.\n\n"
        '{{ fragment("testing", level=2) }}\n',
    }
    for rel, text in files.items():
        (bundle / rel).parent.mkdir(parents=True, exist_ok=True)
        (bundle / rel).write_text(text, encoding="utf-8")
    assert _run([bin_ / "promptbundle", "build"], bundle, env) == (
        "built 3 outputs for 1 prompt into dist/: 3 written, 0 unchanged, 0 removed\n"
    )
    assert (bundle / "dist/claude-code/agents/reviewer.md").read_text(encoding="utf-8") == (
        "---\nname: reviewer\ndescription: Reviews Python changes\n---\nYou review code.\n\n"
        "## Testing\n\nRun `pytest -q` before you report.\n"
    )
    # check --strict validates every output against the packaged JSON schemas.
    assert _run([bin_ / "promptbundle", "check", "--strict"], bundle, env) == (
        "checked 3 outputs: 0 error(s), 0 warning(s), 0 dropped field(s)\n"
    )


def test_a_new_bundle_from_the_installed_wheel_passes_its_own_checks(
    venv: Path, tmp_path: Path
) -> None:
    """The README's loop, run with the installed wheel outside the repository: init, build,
    check, record the snapshots, test, build --check."""
    bin_ = venv / "bin"
    env = _env()
    pip = [bin_ / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run(
        [*pip, *_locked_pins({"pytest", "syrupy", "iniconfig", "pluggy", "packaging", "pygments"})],
        tmp_path,
    )
    _run([bin_ / "promptbundle", "init", "demo"], tmp_path, env)
    demo = tmp_path / "demo"
    assert _run([bin_ / "promptbundle", "build"], demo, env).startswith("built 11 outputs")
    assert "0 error(s)" in _run([bin_ / "promptbundle", "check", "--strict"], demo, env)
    _run([bin_ / "pytest", "-q", "--snapshot-update"], demo, env)
    assert " passed" in _run([bin_ / "pytest", "-q"], demo, env)
    assert _run([bin_ / "promptbundle", "build", "--check"], demo, env).startswith(
        "dist/ is up to date"
    )
    assert sorted(p.name for p in (demo / "dist/schemas").iterdir()) == [
        "prompt.schema.json",
        "promptbundle.schema.json",
        "target.schema.json",
    ]


def test_every_module_imports_with_the_runtime_dependencies_alone(venv: Path) -> None:
    code = (
        "import importlib, pkgutil, promptbundle\n"
        "for m in pkgutil.walk_packages(promptbundle.__path__, 'promptbundle.'):\n"
        "    if m.name != 'promptbundle.testing':\n"
        "        importlib.import_module(m.name)\n"
    )
    _run([venv / "bin/python", "-c", code], venv, _env())


def _third_party_imports() -> set[str]:
    stdlib = set(sys.stdlib_module_names)
    found: set[str] = set()
    for path in (ROOT / "src/promptbundle").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                tops = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops = [node.module.split(".")[0]]
            else:
                continue
            found.update(t for t in tops if t not in stdlib and t != "promptbundle")
    return found


def test_runtime_dependencies_are_what_the_code_imports() -> None:
    by_module = metadata.packages_distributions()
    imported = {canonicalize_name(by_module[m][0]) for m in _third_party_imports() - PLUGIN_ONLY}
    declared = {canonicalize_name(Requirement(r).name) for r in PROJECT["dependencies"]}
    assert imported == declared
