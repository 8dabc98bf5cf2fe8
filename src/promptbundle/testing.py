"""A pytest plugin that locks every output of a bundle with one syrupy snapshot file each.

A bundle gets the whole suite with one short test file::

    def test_output(bundle_output, output_snapshot):
        assert bundle_output.content == output_snapshot

`bundle_output` is parametrized over every output of the bundle at `--bundle-root` or the
`promptbundle_root` ini option (relative to the pytest root), else the nearest bundle at or
above the pytest root; `output_snapshot` needs syrupy. Snapshots are stored as readable files
under `tests/__snapshots__/<test module>/` (`.md`, or the output's own extension with the ini
option `promptbundle_snapshot_extension = output`), so a fragment change shows up in a pull
request as a plain diff of every affected output, and a mismatch fails with a unified diff.

A snapshot file no output uses fails the run (an extra test item, `unused-snapshots`);
`pytest --snapshot-update` rewrites changed snapshots and deletes unused ones. No snapshot file
is ever lost to a run that cannot tell: when the bundle does not build, when only some outputs
are selected (node ids, `-k`, `-m`, `--deselect`, `--lf`, one test function of several) or
when the run stops before they all ran (`-x`, Ctrl-C, a collection error), the snapshot files
of the outputs that did not run are left as they are, by this plugin and by syrupy.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from promptbundle.build.pipeline import build_outputs, load
from promptbundle.core.errors import ConfigError, PromptBundleError
from promptbundle.sources.config import find_root

__all__ = ["BundleOutput", "bundle_outputs", "output_snapshot_extension"]

EXTENSION_INI = "promptbundle_snapshot_extension"
EXTENSION_MODES = ("md", "output")
# Lines of context in a mismatch's diff: a one-line change fits the ten lines pytest shows of
# an assertion's explanation without -vv.
DIFF_CONTEXT = 2
BUILD_ERROR_ID = "build-error"


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


# Snapshot files and their diffs -----------------------------------------------------------


def _visible(line: str) -> str:
    """The line with its invisible characters (CR, BOM, controls) written as escapes."""
    return "".join(c if c.isprintable() or c == "\t" else repr(c)[1:-1] for c in line)


def _diff_lines(data: bytes) -> list[str]:
    text = data.decode("utf-8", errors="backslashreplace")
    lines = text.split("\n")
    last = lines.pop()  # "" when the data ends with a newline
    shown = [_visible(line) for line in lines]
    if last:
        shown += [_visible(last), "\\ No newline at end of file"]
    return shown


def _as_bytes(data: object) -> bytes:
    if isinstance(data, bytes):
        return data
    return str(data).encode("utf-8")


def unified_diff(snapshot: bytes, received: bytes) -> list[str]:
    """A unified diff of two outputs' text, line endings and invisible characters shown."""
    lines = list(
        difflib.unified_diff(
            _diff_lines(snapshot),
            _diff_lines(received),
            "snapshot",
            "received",
            n=DIFF_CONTEXT,
            lineterm="",
        )
    )
    if lines or snapshot == received:
        return lines
    # Only bytes that decode to the same escapes differ (invalid UTF-8 against its escape).
    return ["--- snapshot", "+++ received", f"-{snapshot!r}", f"+{received!r}"]


def _extension(file_extension: str) -> type[Any]:
    from syrupy.extensions.single_file import SingleFileSnapshotExtension

    class OutputSnapshotExtension(SingleFileSnapshotExtension):
        """One file per output, its exact bytes; the output path is the snapshot's name."""

        def diff_lines(self, serialized_data: Any, snapshot_data: Any) -> Iterator[str]:
            yield from unified_diff(_as_bytes(snapshot_data), _as_bytes(serialized_data))

    OutputSnapshotExtension.file_extension = file_extension
    if file_extension != "md":
        OutputSnapshotExtension.__name__ += f"_{file_extension}"
        OutputSnapshotExtension.__qualname__ = OutputSnapshotExtension.__name__
    return OutputSnapshotExtension


@cache
def output_snapshot_extension(file_extension: str = "md") -> type[Any]:
    """The syrupy extension class storing snapshots as `.<file_extension>` files (syrupy is
    imported only when snapshots are used)."""
    return _extension(file_extension)


def _file_extension(path: str) -> str:
    suffix = PurePosixPath(path).suffix[1:]
    return suffix if re.fullmatch(r"[0-9A-Za-z]+", suffix) else "txt"


def _extension_for(config: pytest.Config, param: object) -> type[Any]:
    if isinstance(param, BundleOutput) and config.getini(EXTENSION_INI) == "output":
        return output_snapshot_extension(_file_extension(param.path))
    return output_snapshot_extension()


# What the session collected, selected and ran ---------------------------------------------


@dataclass(frozen=True)
class _BundleTest:
    """One test function parametrized over the outputs of a bundle."""

    nodeid: str
    path: Path
    ids: frozenset[str]
    error: PromptBundleError | None


@dataclass
class _State:
    tests: dict[str, _BundleTest] = field(default_factory=dict)
    ran: set[str] = field(default_factory=set)
    # Why the snapshot files of outputs that did not run were left alone, for the summary.
    spared: list[str] = field(default_factory=list)
    update_refused: bool = False

    def build_errors(self) -> list[tuple[str, ...]]:
        errors = (tuple(t.error.lines()) for t in self.tests.values() if t.error is not None)
        return list(dict.fromkeys(errors))


_STATE = pytest.StashKey[_State]()


def _state(config: pytest.Config) -> _State:
    if _STATE not in config.stash:
        config.stash[_STATE] = _State()
    return config.stash[_STATE]


def _snapshot_id(param: object) -> str:
    return param.path.replace("/", "__") if isinstance(param, BundleOutput) else BUILD_ERROR_ID


def _bundle_param(item: pytest.Item) -> tuple[str, object] | None:
    """The test function's node id and the `bundle_output` parameter of a bundle test item."""
    callspec = getattr(item, "callspec", None)
    if callspec is None or "bundle_output" not in callspec.params:
        return None
    return item.nodeid.removesuffix(f"[{callspec.id}]"), callspec.params["bundle_output"]


def _selected(items: Iterable[pytest.Item]) -> dict[str, set[str]]:
    """The output ids each bundle test function has among `items`."""
    found: dict[str, set[str]] = {}
    for item in items:
        param = _bundle_param(item)
        if param is not None:
            found.setdefault(param[0], set()).add(_snapshot_id(param[1]))
    return found


def _partial(state: _State, items: Sequence[pytest.Item], nodeids: Iterable[str]) -> list[str]:
    """`k of n outputs of <function>` for each of `nodeids` that has only some outputs."""
    selected = _selected(items)
    found = []
    for nodeid in nodeids:
        test = state.tests[nodeid]
        count = len(selected.get(nodeid, set()) & test.ids)
        if test.error is None and count != len(test.ids):
            found.append(f"{count} of {len(test.ids)} outputs of {nodeid}")
    return found


def _spare_unused_snapshots(config: pytest.Config, reason: str | None) -> None:
    """Keep syrupy from reporting or deleting, as unused, the snapshots of outputs that did not
    run.

    syrupy decides which snapshots are unused in SnapshotSession.finish() (SnapshotReport.unused)
    from the items it saw collected, selected and run. It defines no hook into that decision,
    and for parametrized single-file snapshots it decides wrong whenever some outputs do not
    run: after --lf every `test_output[...]` snapshot matches any `test_output` test that ran;
    its -k matching is case-sensitive where pytest's is not (-k "not readme"); with no snapshot
    assertion at all (a build error, -x stopping first) its default extension takes every
    snapshot file for an unknown collection. All of them are deleted by --snapshot-update. So
    whenever some outputs do not run, the plugin turns on syrupy's own documented option
    --snapshot-disable-unused for the session (syrupy reads config.option when it finishes):
    syrupy then neither reports nor deletes unused snapshots, in this run only. A syrupy
    without that option cannot be kept from deleting them, so the update is refused instead
    (--snapshot-update off, unused snapshots only warned about), and the session fails.
    """
    option = config.option
    if not hasattr(option, "update_snapshots"):
        return  # syrupy is not active: nothing reads or writes snapshots
    state = _state(config)
    if reason is not None:
        state.spared.append(reason)
    if hasattr(option, "disable_unused_snapshots"):
        option.disable_unused_snapshots = True
        return
    option.warn_unused_snapshots = True
    if option.update_snapshots:
        option.update_snapshots = False
        state.update_refused = True


# Hooks ---------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("promptbundle_root", "bundle root for the bundle_output fixture", default=".")
    parser.addini(
        EXTENSION_INI,
        "extension of output snapshot files: md (every file) or output (the output's own)",
        default="md",
    )
    parser.addoption(
        "--bundle-root", default=None, help="bundle root for promptbundle's output snapshots"
    )


def pytest_configure(config: pytest.Config) -> None:
    mode = config.getini(EXTENSION_INI)
    if mode not in EXTENSION_MODES:
        raise pytest.UsageError(f"{EXTENSION_INI} must be 'md' or 'output', not {mode!r}")
    _state(config)


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

    error: PromptBundleError | None = None
    try:
        outputs: tuple[Any, ...] = bundle_outputs(_root(metafunc.config))
    except PromptBundleError as err:
        outputs, error = (err,), err
    ids = [_snapshot_id(o) for o in outputs]
    nodeid = metafunc.definition.nodeid
    test = _BundleTest(nodeid, metafunc.definition.path, frozenset(ids), error)
    _state(metafunc.config).tests[nodeid] = test
    metafunc.parametrize("bundle_output", outputs, ids=ids, indirect=True)


class UnusedSnapshots(pytest.Item):
    """Fails when the snapshot folder holds files that no output of the bundle produces."""

    def __init__(
        self, *, folder: Path, expected: set[str], prefixes: tuple[str, ...], **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.folder = folder
        # The snapshot files of every output: the check exists only where all were selected
        # (it still knows them all when --lf reruns it alone).
        self.expected = expected
        # The snapshot files of the module's bundle tests start with one of these.
        self.prefixes = prefixes

    def runtest(self) -> None:
        found = set()
        if self.folder.is_dir():
            found = {
                p.name
                for p in self.folder.iterdir()
                if p.is_file() and p.name.startswith(self.prefixes)
            }
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


@dataclass
class _ModuleSnapshots:
    """The snapshot files the bundle tests of one module expect, and where."""

    first: pytest.Item
    folder: Path
    expected: set[str] = field(default_factory=set)
    prefixes: set[str] = field(default_factory=set)


def _module_snapshots(
    config: pytest.Config, items: list[pytest.Item]
) -> dict[Path, _ModuleSnapshots]:
    """By module: the snapshot file of each bundle test item, named by syrupy's extension."""
    from syrupy.location import PyTestLocation

    by_module: dict[Path, _ModuleSnapshots] = {}
    for item in items:
        param = _bundle_param(item)
        if param is None:
            continue
        extension = _extension_for(config, param[1])
        location = Path(extension.get_location(test_location=PyTestLocation(item), index=0))
        module = by_module.setdefault(item.path, _ModuleSnapshots(item, location.parent))
        module.expected.add(location.name)
        module.prefixes.add(location.name[: location.name.index("[") + 1])
    return by_module


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Add one unused-snapshots check per test module whose bundle tests all build and have
    every output selected (node ids, -k, -m and --deselect are applied by now; --lf after)."""
    state = _state(config)
    if not state.tests:
        return
    try:
        by_module = _module_snapshots(config, items)
    except ImportError:
        return  # no syrupy: output_snapshot says to install it
    deselected = set(config.getoption("deselect", default=None) or ())
    for path, module in sorted(by_module.items()):
        functions = tuple(t.nodeid for t in state.tests.values() if t.path == path)
        if any(state.tests[n].error is not None for n in functions):
            continue
        if _partial(state, items, functions):
            continue
        parent = module.first.parent if module.first.parent is not None else session
        check = UnusedSnapshots.from_parent(
            parent,
            name="unused-snapshots",
            folder=module.folder,
            expected=module.expected,
            prefixes=tuple(sorted(module.prefixes)),
        )
        if check.nodeid not in deselected:
            items.append(check)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Once the selection is final: spare the snapshots of the outputs left out."""
    state = _state(session.config)
    if state.build_errors():
        _spare_unused_snapshots(session.config, None)  # the summary shows the build errors
    partial = _partial(state, session.items, sorted(state.tests))
    if partial:
        _spare_unused_snapshots(
            session.config,
            f"{', '.join(partial)} selected: "
            "the snapshot files of the others were left as they are.",
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Record the bundle tests that ran: syrupy takes the snapshot of one that did not (its
    setup failed, or the run stopped first) for an unused one."""
    report = yield
    if report.when == "call":
        _state(item.config).ran.add(item.nodeid)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> Generator[None, None, None]:
    """Before syrupy finishes: spare the snapshots of the selected outputs that never ran
    (-x, --maxfail, Ctrl-C, a collection error). After: fail a session whose bundle does not
    build, or whose update was refused."""
    state = _state(session.config)
    selected = _selected(session.items)
    ran = _selected(item for item in session.items if item.nodeid in state.ran)
    stopped = []
    for nodeid, ids in sorted(selected.items()):
        missing = ids - ran.get(nodeid, set())
        test = state.tests.get(nodeid)
        if missing and test is not None and test.error is None:
            stopped.append(f"{len(missing)} of {len(ids)} selected outputs of {nodeid}")
    if stopped:
        _spare_unused_snapshots(
            session.config,
            f"{', '.join(stopped)} did not run: their snapshot files were left as they are.",
        )
    yield
    failed = state.build_errors() or state.update_refused
    if failed and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = _state(config)
    for lines in state.build_errors():
        terminalreporter.write_sep("-", "promptbundle: the bundle does not build")
        for line in lines:
            terminalreporter.write_line(line)
        terminalreporter.write_line(
            "Its snapshots were not checked, written or deleted: fix the bundle first, "
            "and do not run --snapshot-update until it builds."
        )
    for reason in state.spared:
        terminalreporter.write_line(f"promptbundle: {reason}")
    if state.update_refused:
        terminalreporter.write_line(
            "promptbundle: --snapshot-update was not applied: this syrupy has no "
            "--snapshot-disable-unused, so it would delete the snapshots of the outputs "
            "that did not run; update every output, or upgrade syrupy."
        )


# Fixtures ------------------------------------------------------------------------------


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
    callspec = getattr(request.node, "callspec", None)
    param = callspec.params.get("bundle_output") if callspec is not None else None
    extension = _extension_for(request.config, param)
    return request.getfixturevalue("snapshot").use_extension(extension)


@pytest.fixture
def bundle_output(request: pytest.FixtureRequest) -> BundleOutput:
    """The output this test instance checks; a failed build fails the test with its errors."""

    param = request.param
    if isinstance(param, PromptBundleError):
        pytest.fail("the bundle does not build:\n" + "\n".join(param.lines()), pytrace=False)
    assert isinstance(param, BundleOutput)
    return param
