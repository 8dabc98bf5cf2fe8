"""Hostile inputs: each is refused with one located error, in a bounded subprocess (so a
hang, a crash or a SIGSEGV fails the test instead of pytest), in little memory."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from promptbundle.core.errors import PromptBundleError
from promptbundle.core.regular import irregular_reason
from promptbundle.core.yamlio import dump_frontmatter, quote
from promptbundle.release.install import _read_ownership
from tests.support import write_tree

CONFIG = 'name = "demo"\ntargets = ["claude-code"]\n'
GOOD = "---\nname: ok\ndescription: Fine\n---\nBody\n"
# Runs the CLI and records its peak memory (KiB) in the file named by the first argument.
RUNNER = """
import resource, sys
from promptbundle.cli import main
try:
    main(sys.argv[2:], prog_name="promptbundle")
finally:
    with open(sys.argv[1], "w") as out:
        # VmHWM: this process's own peak (ru_maxrss inherits the parent's across fork and exec).
        out.write(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")))
"""
MAX_KIB = 200 * 1024


def run_cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess: at most 10 s and 200 MB, never a traceback."""
    rss = root.parent / "maxrss"
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(rss), *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=10,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")},
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert int(rss.read_text()) < MAX_KIB
    return done


def bundle(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    return write_tree(tmp_path / "bundle", {"promptbundle.toml": CONFIG, **files})


def agent(frontmatter: str) -> str:
    return f"---\nname: x\ndescription: X\n{frontmatter}---\nBody\n"


BOMB = (
    "  a: &a ['lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol']\n"
    "  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    "  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    "  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
    "  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
    "  g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
    "  h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
    "  i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n"
)
ANCHOR = "error: YAML anchor &a is not allowed (anchors and aliases are refused) [PB005]"


@pytest.mark.parametrize("command", ["build", "check"])
@pytest.mark.parametrize("key", ["vars", "claude-code"])
def test_an_alias_bomb_is_refused_at_its_first_anchor(
    tmp_path: Path, key: str, command: str
) -> None:
    root = bundle(tmp_path, {"agents/x.md": agent(f"{key}:\n{BOMB}")})
    done = run_cli(root, command)
    assert done.returncode == 1
    # build prints errors on stderr; check prints them on stdout, its summary on stderr
    assert (done.stdout + done.stderr).splitlines()[0] == f"agents/x.md:5:6: {ANCHOR}"


def test_an_alias_alone_is_refused_where_it_is(tmp_path: Path) -> None:
    root = bundle(tmp_path, {"agents/x.md": agent("vars:\n  a: *nothing\n")})
    done = run_cli(root, "build")
    assert done.stderr.splitlines()[0] == (
        "agents/x.md:5:6: error: YAML alias *nothing is not allowed "
        "(anchors and aliases are refused) [PB005]"
    )


@pytest.mark.parametrize(
    ("frontmatter", "where", "key"),
    [
        ("description: Again\n", "4:1", "description"),
        ("vars:\n  a: 1\n  b: 2\n  a: 3\n", "7:3", "a"),
        ("claude-code:\n  color: red\n  color: blue\n", "6:3", "color"),
    ],
)
def test_a_duplicate_key_is_refused_at_the_second(
    tmp_path: Path, frontmatter: str, where: str, key: str
) -> None:
    root = bundle(tmp_path, {"agents/x.md": agent(frontmatter)})
    done = run_cli(root, "build")
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == (
        f"agents/x.md:{where}: error: duplicate key {key!r} "
        "(each key may appear once in a mapping) [PB005]"
    )


DEEP_YAML = [
    # The document's mapping and `vars` are two of the 100 levels.
    ("block list", "vars:\n  a:\n    " + "- " * 10_000 + "x\n", "6:201"),
    ("flow list", "vars:\n  a: " + "[" * 10_000 + "]" * 10_000 + "\n", "5:104"),
    ("flow map", "vars:\n  a: " + "{b: " * 10_000 + "}" * 10_000 + "\n", "5:398"),
    ("100,000-deep flow", "vars:\n  a: " + "[" * 100_000 + "]" * 100_000 + "\n", "5:104"),
]


@pytest.mark.parametrize(("case", "frontmatter", "where"), DEEP_YAML)
def test_deep_yaml_is_refused_before_it_is_built(
    tmp_path: Path, case: str, frontmatter: str, where: str
) -> None:
    root = bundle(tmp_path, {"agents/x.md": agent(frontmatter)})
    done = run_cli(root, "build")
    assert done.returncode == 1, case
    assert done.stderr.splitlines()[0] == (
        f"agents/x.md:{where}: error: YAML nested deeper than 100 levels [PB005]"
    )


DEEP_TOML = "[" * 10_000 + "]" * 10_000


CONFIG_DEEP = f"name = 'demo'\nvars = {{ a = {DEEP_TOML} }}\n"
TARGET_DEEP = f"options = {{ a = {DEEP_TOML} }}\n"
DOTTED_DEEP = "name = 'demo'\n" + ".".join(["v"] * 200) + " = 1\n"


@pytest.mark.parametrize(
    ("files", "where"),
    [
        ({"promptbundle.toml": CONFIG_DEEP}, "promptbundle.toml:2:113"),
        ({"targets/claude-code.toml": TARGET_DEEP}, "targets/claude-code.toml:1:116"),
        ({"promptbundle.toml": DOTTED_DEEP}, "promptbundle.toml:2:1"),
    ],
)
def test_deep_toml_is_refused_with_its_location(
    tmp_path: Path, files: dict[str, str], where: str
) -> None:
    root = bundle(tmp_path, {"agents/ok.md": GOOD, **files})
    done = run_cli(root, "build")
    assert done.returncode == 1
    assert done.stderr == f"{where}: error: TOML nested deeper than 100 levels [PB005]\n"


def test_a_deep_pyproject_is_refused_with_its_location(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "bundle", {"pyproject.toml": f"[tool]\nx = {DEEP_TOML}\n"})
    done = run_cli(root, "build")
    assert done.returncode == 1
    assert (
        done.stderr == "pyproject.toml:2:105: error: TOML nested deeper than 100 levels [PB005]\n"
    )


@pytest.mark.parametrize("config", ["pyproject.toml", "promptbundle.toml"])
def test_a_config_that_is_not_utf8_is_an_error_at_the_bad_byte(tmp_path: Path, config: str) -> None:
    text = b"[tool.promptbundle]\nname = 'd\xffmo'\n" if config == "pyproject.toml" else b"n\xff"
    root = write_tree(tmp_path / "bundle", {config: text, "agents/ok.md": GOOD})
    done = run_cli(root, "build")
    assert done.returncode == 1
    where = "2:10" if config == "pyproject.toml" else "1:2"
    assert done.stderr == f"{config}:{where}: error: not UTF-8: TOML must be UTF-8 text [PB001]\n"


def test_an_agent_that_is_not_utf8_is_an_error_at_the_bad_byte(tmp_path: Path) -> None:
    root = bundle(tmp_path, {"agents/x.md": b"---\nname: x\ndescription: \xe9t\xe9\n---\n"})
    done = run_cli(root, "build")
    assert (
        done.stderr == "agents/x.md:3:14: error: not UTF-8: a source must be UTF-8 text [PB001]\n"
    )


DEEP_JSON = "[" * 100_000 + "]" * 100_000


def test_a_deep_dist_manifest_and_cache_are_rebuilt(tmp_path: Path) -> None:
    root = bundle(tmp_path, {"agents/ok.md": GOOD})
    assert run_cli(root, "build").returncode == 0
    (root / "dist" / "manifest.json").write_text(DEEP_JSON)
    for state in (root / ".promptbundle-cache").glob("*.json"):
        state.write_text(DEEP_JSON)
    done = run_cli(root, "build")
    assert done.returncode == 0, done.stderr
    assert (root / "dist" / "manifest.json").read_text().startswith("{")


def test_a_deep_install_record_is_a_located_error(tmp_path: Path) -> None:
    into = tmp_path / "into"
    into.mkdir()
    (into / ".promptbundle-install.json").write_text(DEEP_JSON)
    with pytest.raises(PromptBundleError) as info:
        _read_ownership(into)
    assert info.value.lines() == [
        f"{into / '.promptbundle-install.json'}:1:1: error: unreadable install record "
        "(JSON nested deeper than 100 levels (line 1, column 101)); fix or delete it to "
        "install again [PB300]"
    ]


# -- sources that are not regular files ----------------------------------------------------

PB006 = "not a regular file (a bundle reads and carries regular files only) [PB006]"


def _special(path: Path, kind: str, tmp_path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    elif kind == "dangling":
        path.symlink_to("nowhere.md")
    else:  # a link out of the bundle
        (tmp_path / "outside.md").write_text(GOOD)
        path.symlink_to(tmp_path / "outside.md")


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("folder", "a folder"),
        ("fifo", "a FIFO (named pipe)"),
        ("device", "a device"),
        ("dangling", "a dangling symbolic link (to nowhere.md)"),
        ("outside", "a symbolic link"),
    ],
)
@pytest.mark.parametrize("rel", ["agents/x.md", "fragments/f.md", "skills/s/SKILL.md", "files/f"])
def test_a_source_that_is_not_a_regular_file_is_refused_by_type(
    tmp_path: Path, kind: str, reason: str, rel: str
) -> None:
    if rel == "files/f" and kind == "folder":
        rel = "files/link"  # folders are carried with what they hold: a link is refused
        kind, reason = "dangling", "a dangling symbolic link (to nowhere.md)"
    root = bundle(tmp_path, {"agents/ok.md": GOOD})
    _special(root / rel, kind, tmp_path)
    done = run_cli(root, "build")
    assert done.returncode == 1
    assert done.stderr == f"{rel}:1:1: error: {reason}, {PB006}\n"


@pytest.mark.parametrize("kind", ["folder", "fifo"])
@pytest.mark.parametrize("rel", ["targets/claude-code.toml", "plugins/p/plugin.toml"])
def test_a_config_file_that_is_not_a_regular_file_is_refused(
    tmp_path: Path, kind: str, rel: str
) -> None:
    root = bundle(tmp_path, {"agents/ok.md": GOOD})
    _special(root / rel, kind, tmp_path)
    done = run_cli(root, "build")
    assert done.returncode == 1
    reason = "a folder" if kind == "folder" else "a FIFO (named pipe)"
    tail = (
        "not a regular file (a configuration file must be one) [PB006]"
        if rel.startswith("targets")
        else PB006
    )
    assert done.stderr == f"{rel}:1:1: error: {reason}, {tail}\n"


def test_a_dangling_config_link_is_refused(tmp_path: Path) -> None:
    root = bundle(tmp_path, {"agents/ok.md": GOOD})
    _special(root / "targets" / "claude-code.toml", "dangling", tmp_path)
    done = run_cli(root, "build")
    assert done.returncode == 1
    assert done.stderr == (
        "targets/claude-code.toml:1:1: error: a dangling symbolic link (to nowhere.md), "
        "not a regular file (a configuration file must be one) [PB006]\n"
    )


def test_special_files_in_a_plugin_are_each_refused_once(tmp_path: Path) -> None:
    root = bundle(tmp_path, {"agents/ok.md": GOOD, "plugins/p/plugin.toml": 'name = "p"\n'})
    os.mkdir(root / "plugins/p/agents")
    os.mkfifo(root / "plugins/p/agents/a.md")
    os.mkfifo(root / "plugins/p/notes")
    done = run_cli(root, "build")
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"plugins/p/agents/a.md:1:1: error: a FIFO (named pipe), {PB006}",
        f"plugins/p/notes:1:1: error: a FIFO (named pipe), {PB006}",
    ]


def test_a_link_to_a_fifo_is_named_for_what_it_reaches(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "link").symlink_to(tmp_path / "pipe")
    assert irregular_reason(tmp_path / "link") == "a symbolic link to a FIFO (named pipe)"
    assert irregular_reason(Path("/dev/null")) == "a device"


# -- the pieces on their own ---------------------------------------------------------------


def test_the_writer_refuses_a_lone_surrogate() -> None:
    with pytest.raises(ValueError, match=r"a lone surrogate \(U\+D800\) cannot be written"):
        quote("a\ud800")
    with pytest.raises(ValueError, match="lone surrogate"):
        dump_frontmatter({"description": "\udfff"})
