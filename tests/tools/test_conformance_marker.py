"""tools/conformance.py refuses an output folder a build left incomplete."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from promptbundle.core.writes import INCOMPLETE

_SCRIPT = Path(__file__).resolve().parent.parent.parent / "tools" / "conformance.py"


def _tool() -> object:
    spec = importlib.util.spec_from_file_location("conformance_marker", _SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_an_incomplete_folder_is_refused_before_any_client_runs(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "manifest.json").write_text('{"outputs": []}')
    tool = _tool()
    assert list(tool.check_dist(dist)) == []  # type: ignore[attr-defined]
    (dist / INCOMPLETE).write_text("")
    with pytest.raises(SystemExit) as info:
        list(tool.check_dist(dist))  # type: ignore[attr-defined]
    assert str(info.value) == (
        f"{dist / INCOMPLETE}:1:1: error: {dist} is incomplete: a build was interrupted while "
        "writing it; run promptbundle build [PB311]"
    )
