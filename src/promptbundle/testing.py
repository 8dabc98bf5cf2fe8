"""A pytest plugin that locks every output of a bundle with one syrupy snapshot file each.

A bundle gets the whole suite with one short test file::

    def test_output(bundle_output, output_snapshot):
        assert bundle_output.content == output_snapshot

`bundle_output` is parametrized over every output of the bundle at `--bundle-root` or the
`promptbundle_root` ini option (relative to the pytest root), else the nearest bundle at or
above the pytest root; `output_snapshot` needs syrupy. Snapshots are stored as readable files
under `tests/__snapshots__/<test module>/`, so a fragment change shows up in a pull request as
a plain diff of every affected output. A snapshot file no output uses fails the run (an extra
test item, `unused-snapshots`); `pytest --snapshot-update` rewrites changed snapshots and
deletes unused ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from promptbundle.build.pipeline import build_outputs, load
from promptbundle.core.errors import ConfigError, PromptBundleError
from promptbundle.sources.config import find_root

__all__ = ["BundleOutput", "bundle_outputs", "output_snapshot_extension"]


@dataclass(frozen=True)
class BundleOutput:
    """One output of the bundle: its path in dist/ and its exact bytes."""

    path: str
    content: bytes


@lru_cache(maxsize=8)
def bundle_outputs(root: Path) -> tuple[BundleOutput, ...]:
    """Every output a build of the bundle at `root` produces, in path order, in memory."""

    result = build_outputs(load(root))
    return tuple(BundleOutput(o.path, o.content) for o in result.outputs)


def _extension() -> type[Any]:
    from syrupy.extensions.single_file import SingleFileSnapshotExtension

    class OutputSnapshotExtension(SingleFileSnapshotExtension):
        """One `.md` file per output; the output path is the snapshot's name."""

        file_extension = "md"

    return OutputSnapshotExtension


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("promptbundle_root", "bundle root for the bundle_output fixture", default=".")
    parser.addoption(
        "--bundle-root", default=None, help="bundle root for promptbundle's output snapshots"
    )


def _snapshot_ids(outputs: tuple[Any, ...]) -> list[str]:
    return [
        o.path.replace("/", "__") if isinstance(o, BundleOutput) else "build-error" for o in outputs
    ]


class UnusedSnapshots(pytest.Item):
    """Fails when the snapshot folder holds files that no output of the bundle produces."""

    def __init__(self, *, folder: Path, expected: set[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.folder = folder
        self.expected = expected

    def runtest(self) -> None:
        found = {p.name for p in self.folder.glob("*.md")} if self.folder.is_dir() else set()
        unused = sorted(found - self.expected)
        if not unused:
            return
        if self.config.getoption("--snapshot-update", default=False):
            for name in unused:
                (self.folder / name).unlink()
            return
        raise _UnusedError(unused)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, _UnusedError):
            names = "\n".join(f"  {name}" for name in excinfo.value.names)
            return f"snapshots no output uses (run with --snapshot-update to delete):\n{names}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.folder, 0, "unused-snapshots"


class _UnusedError(Exception):
    def __init__(self, names: list[str]) -> None:
        super().__init__(names)
        self.names = names


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Add one unused-snapshots check per test module that uses `bundle_output`."""
    if config.getoption("deselect", default=None) or config.getoption("keyword", default=""):
        return
    by_module: dict[Path, tuple[pytest.Item, set[str]]] = {}
    for item in items:
        if "bundle_output" not in getattr(item, "fixturenames", ()):
            continue
        callspec = getattr(item, "callspec", None)
        if callspec is None or "bundle_output" not in callspec.params:
            continue
        name = f"{getattr(item, 'originalname', item.name)}[{callspec.id}].md"
        _first, names = by_module.setdefault(item.path, (item, set()))
        names.add(name)
    for path, (first, names) in sorted(by_module.items()):
        folder = path.parent / "__snapshots__" / path.stem
        parent = first.parent if first.parent is not None else session
        items.append(
            UnusedSnapshots.from_parent(
                parent, name="unused-snapshots", folder=folder, expected=names
            )
        )


def _root(config: pytest.Config) -> Path:
    """The bundle root: the option or ini value if set, else the nearest bundle upward."""

    option = config.getoption("--bundle-root")
    base = Path(str(config.rootpath))
    root = (base / (option or str(config.getini("promptbundle_root")))).resolve()
    if option or config.getini("promptbundle_root") != ".":
        return root
    try:
        return find_root(root)
    except ConfigError:
        return root


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "bundle_output" not in metafunc.fixturenames:
        return

    try:
        outputs: tuple[Any, ...] = bundle_outputs(_root(metafunc.config))
    except PromptBundleError as err:
        outputs = (err,)
    metafunc.parametrize("bundle_output", outputs, ids=_snapshot_ids(outputs), indirect=True)


@pytest.fixture
def output_snapshot(request: pytest.FixtureRequest) -> Any:
    """syrupy's snapshot, storing each output as its own readable file."""
    try:
        import syrupy  # noqa: F401
    except ImportError:
        pytest.fail(
            "output_snapshot needs syrupy: pip install syrupy (or promptbundle[test])",
            pytrace=False,
        )
    return request.getfixturevalue("snapshot").use_extension(output_snapshot_extension())


@lru_cache(maxsize=1)
def output_snapshot_extension() -> type[Any]:
    """The syrupy extension class (syrupy is imported only when snapshots are used)."""
    return _extension()


@pytest.fixture
def bundle_output(request: pytest.FixtureRequest) -> BundleOutput:
    """The output this test instance checks; a failed build fails the test with its errors."""

    param = request.param
    if isinstance(param, PromptBundleError):
        pytest.fail("the bundle does not build:\n" + "\n".join(param.lines()), pytrace=False)
    assert isinstance(param, BundleOutput)
    return param
