"""opencode: the canonical tool list becomes `permission` (opencode's `tools` map is
deprecated). The `conformance` tests run the real client (`opencode debug agent`)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from promptbundle.build.pipeline import build_outputs, load, read_config
from promptbundle.core.model import TargetConfig
from promptbundle.formats.opencode import PERMISSION_KEYS, OpencodeFormat
from tests.support import BASIC_CONFIG, BundleFactory

CONFIG = BASIC_CONFIG + 'targets = ["opencode"]\n'
ALL_DENIED = {key: "deny" for key in PERMISSION_KEYS}


def _agent(tools: str | None, block: str = "") -> str:
    lines = ["---", "description: Reviews code"]
    if tools is not None:
        lines.append(f"tools: {tools}")
    if block:
        lines.append(f"opencode: {block}")
    return "\n".join([*lines, "---", "Review the diff.", ""])


def _build(make_bundle: BundleFactory, agent: str, **extra: str) -> tuple[str, list[str]]:
    root = make_bundle({"promptbundle.toml": CONFIG, "agents/reviewer.md": agent, **extra})
    result = build_outputs(load(root))
    text = next(o for o in result.outputs if o.path == "opencode/agent/reviewer.md")
    lossy = [f"{x.field}: {x.reason}" for x in result.lossy if x.target == "opencode"]
    return text.content.decode(), lossy


def _fmt(root: Path, tools: dict[str, str] | None = None) -> OpencodeFormat:
    target = TargetConfig(name="opencode", format="opencode", tools=tools or {})
    return OpencodeFormat(target, read_config(root))


def test_a_read_only_agent_denies_every_other_permission(make_bundle: BundleFactory) -> None:
    text, lossy = _build(make_bundle, _agent("[Read, Grep]"))
    assert text == (
        "---\n"
        "description: Reviews code\n"
        "permission:\n"
        "  bash: deny\n"
        "  edit: deny\n"
        "  glob: deny\n"
        "  list: deny\n"
        "  skill: deny\n"
        "  task: deny\n"
        "  todowrite: deny\n"
        "  webfetch: deny\n"
        "  websearch: deny\n"
        "---\n"
        "Review the diff.\n"
    )
    assert "tools:" not in text
    assert lossy == []


def test_the_keys_are_sorted_and_only_denials_are_written(make_bundle: BundleFactory) -> None:
    fmt = _fmt(make_bundle({"promptbundle.toml": CONFIG}))
    assert list(PERMISSION_KEYS) == sorted(PERMISSION_KEYS)
    assert fmt.map_tools([]) == ALL_DENIED
    granted = fmt.map_tools(["WebFetch", "Bash", "Task", "Read"])
    assert list(granted) == ["edit", "glob", "grep", "list", "skill", "todowrite", "websearch"]
    assert set(granted.values()) == {"deny"}
    # The same list in another order gives the same map.
    assert fmt.map_tools(["Read", "Task", "Bash", "WebFetch"]) == granted


def test_write_edit_and_multiedit_share_the_edit_permission(make_bundle: BundleFactory) -> None:
    fmt = _fmt(make_bundle({"promptbundle.toml": CONFIG}))
    for tool in ("Write", "Edit", "MultiEdit"):
        assert "edit" not in fmt.map_tools([tool])
    assert fmt.map_tools(["Read"])["edit"] == "deny"


def test_an_unlisted_tool_that_shares_an_allowed_key_is_lossy(
    make_bundle: BundleFactory,
) -> None:
    text, lossy = _build(make_bundle, _agent("[Read, Edit]"))
    assert "  edit: deny\n" not in text
    assert lossy == [
        "tools.Write: not denied: opencode's 'edit' permission also governs Edit, "
        "which the agent lists"
    ]
    _, lossy = _build(make_bundle, _agent("[Write, Edit, MultiEdit]"))
    assert lossy == []


def test_tools_opencode_lacks_are_lossy_one_line_each(make_bundle: BundleFactory) -> None:
    text, lossy = _build(make_bundle, _agent("[Read, NotebookEdit, TodoRead]"))
    assert lossy == [
        "tools.NotebookEdit: no opencode equivalent",
        "tools.TodoRead: opencode has no todoread tool or permission",
    ]
    assert "notebookedit" not in text and "todoread" not in text


def test_an_agent_without_tools_gets_no_permission(make_bundle: BundleFactory) -> None:
    text, lossy = _build(make_bundle, _agent(None))
    assert text == "---\ndescription: Reviews code\n---\nReview the diff.\n"
    assert lossy == []


def test_an_agent_with_every_tool_gets_no_permission(make_bundle: BundleFactory) -> None:
    every = "[Read, Write, Edit, Bash, Grep, Glob, LS, WebFetch, WebSearch, TodoWrite, Task, Skill]"
    text, lossy = _build(make_bundle, _agent(every))
    assert "permission" not in text and "tools" not in text
    assert lossy == []


def test_a_block_permission_wins(make_bundle: BundleFactory) -> None:
    text, lossy = _build(
        make_bundle, _agent("[Read, Edit]", "{permission: {bash: ask, edit: deny}}")
    )
    assert "permission:\n  bash: ask\n  edit: deny\n---\n" in text
    assert lossy == []


def test_a_block_tool_map_wins_over_the_generated_permission(
    make_bundle: BundleFactory,
) -> None:
    text, _ = _build(make_bundle, _agent("[Read]", "{tools: {bash: false}}"))
    assert "tools:\n  bash: false\n---\n" in text
    assert "permission" not in text


def test_a_block_can_drop_the_permission(make_bundle: BundleFactory) -> None:
    text, _ = _build(make_bundle, _agent("[Read]", "{permission: null}"))
    assert "permission" not in text


def test_a_target_tool_mapping_names_the_permission_key(make_bundle: BundleFactory) -> None:
    root = make_bundle({"promptbundle.toml": CONFIG})
    fmt = _fmt(root, {"NotebookEdit": "notebook", "Grep": "apply_patch"})
    denied = fmt.map_tools(["Read", "NotebookEdit", "Grep"])
    # Grep is opencode's apply_patch here, which opencode checks against `edit`.
    assert "edit" not in denied and denied["grep"] == "deny"
    assert "notebook" not in denied
    assert fmt.tool_losses(["NotebookEdit"], generated=True) == []


def test_a_command_drops_its_tools_as_before(make_bundle: BundleFactory) -> None:
    root = make_bundle(
        {
            "promptbundle.toml": CONFIG,
            "commands/review.md": "---\ndescription: Review\ntools: [Bash]\n---\nReview.\n",
        }
    )
    result = build_outputs(load(root))
    command = next(o for o in result.outputs if o.path == "opencode/command/review.md")
    assert command.content == b"---\ndescription: Review\n---\nReview.\n"
    assert [(x.field, x.reason) for x in result.lossy] == [("tools", "opencode has no such field")]


def test_the_schema_accepts_the_written_permission(make_bundle: BundleFactory) -> None:
    root = make_bundle({"promptbundle.toml": CONFIG, "agents/reviewer.md": _agent("[Read]")})
    assert build_outputs(load(root)).diagnostics == []


# -- the real client ---------------------------------------------------------------------

_SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "conformance.py"


def _conformance() -> ModuleType:
    if "conformance" in sys.modules:
        return sys.modules["conformance"]
    spec = importlib.util.spec_from_file_location("conformance", _SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["conformance"] = module
    spec.loader.exec_module(module)
    return module


def _debug_agent(path: Path) -> dict[str, Any]:
    """What `opencode debug agent` prints for the agent file `path` (offline, own HOME)."""
    conformance = _conformance()
    binary = conformance.opencode_bin()
    if not binary.exists():
        pytest.fail(f"{binary} is missing: run `make conformance` to install it")
    with tempfile.TemporaryDirectory(prefix="pb-oc-") as tmp:
        config = Path(tmp) / "config" / "agents"
        config.mkdir(parents=True)
        (config / path.name).write_bytes(path.read_bytes())
        (Path(tmp) / "cwd").mkdir()
        (Path(tmp) / "home").mkdir()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(Path(tmp) / "home"),
            **conformance.OPENCODE_ENV,
            "OPENCODE_CONFIG_DIR": str(config.parent),
        }
        done = subprocess.run(
            [str(binary), "debug", "agent", path.stem],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=Path(tmp) / "cwd",
        )
    assert done.returncode == 0, done.stderr + done.stdout
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def _denied(data: dict[str, Any]) -> set[str]:
    """Permissions whose last whole-pattern rule is `deny` (opencode's `disabled`)."""
    last: dict[str, str] = {}
    for rule in data["permission"]:
        if rule["pattern"] == "*":
            last[rule["permission"]] = rule["action"]
    return {key for key, action in last.items() if action == "deny"}


@pytest.mark.conformance
def test_opencode_denies_edit_and_bash_to_a_read_grep_agent(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    text, _ = _build(make_bundle, _agent("[Read, Grep]"))
    path = tmp_path / "reviewer.md"
    path.write_text(text, encoding="utf-8")
    data = _debug_agent(path)
    assert data["name"] == "reviewer" and data["description"] == "Reviews code"
    assert {"edit", "bash", "webfetch", "task", "skill"} <= _denied(data)
    assert not {"read", "grep"} & _denied(data)
    tools = data["tools"]  # the tools opencode gives the agent, after its permissions
    assert tools["read"] is True and tools["grep"] is True
    for tool in ("edit", "write", "bash", "glob", "webfetch", "websearch", "task", "todowrite"):
        assert tools[tool] is False, tool


@pytest.mark.conformance
def test_opencode_keeps_edit_and_write_for_an_agent_that_edits(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    text, _ = _build(make_bundle, _agent("[Read, Edit, Bash]"))
    path = tmp_path / "reviewer.md"
    path.write_text(text, encoding="utf-8")
    tools = _debug_agent(path)["tools"]
    assert tools["edit"] is True and tools["write"] is True and tools["bash"] is True
    assert tools["webfetch"] is False and tools["grep"] is False


@pytest.mark.conformance
def test_opencode_ignores_a_write_permission_so_edit_is_the_key(tmp_path: Path) -> None:
    """Why Write maps onto `edit`: opencode 1.18.33 checks its write tool against `edit`."""
    path = tmp_path / "probe.md"
    path.write_text("---\ndescription: d\npermission:\n  write: deny\n---\nBody\n")
    assert _debug_agent(path)["tools"]["write"] is True
    path.write_text("---\ndescription: d\npermission:\n  edit: deny\n---\nBody\n")
    tools = _debug_agent(path)["tools"]
    assert tools["write"] is False and tools["edit"] is False
