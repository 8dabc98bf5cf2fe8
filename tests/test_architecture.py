"""docs/architecture.md names every module of the package, and only modules that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "promptbundle"


def _documented() -> list[str]:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = text.split("## Modules", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([\w/]+\.py)` \|", table, flags=re.M)


def _modules() -> list[str]:
    return sorted(
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if path.name != "__init__.py"
    )


def test_the_module_table_lists_every_module_once():
    documented = _documented()
    assert len(documented) == len(set(documented)), "a module is listed twice"
    assert sorted(documented) == _modules()


def test_every_package_has_a_docstring_saying_what_it_holds():
    for init in PACKAGE.rglob("__init__.py"):
        if init.parent == PACKAGE:
            continue
        assert init.read_text(encoding="utf-8").startswith('"""'), init
