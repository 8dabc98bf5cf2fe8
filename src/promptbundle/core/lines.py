"""Finding where a key is set in a file, for error locations (no parser needed)."""

from __future__ import annotations

import re

__all__ = ["key_line"]


def key_line(text: str, key: str, *, style: str = "yaml", first_line: int = 1) -> int:
    """The line where `key` is set in `text` (0 when it is not found).

    `style` is how the key is written: `yaml` (`key:`), `nested` (`key:` at any indent),
    `toml` (`key =`), `json` (`"key":`) or `table` (`| key |`, or `key:`)."""
    escaped = re.escape(key)
    pattern = {
        "yaml": rf"^{escaped}\s*:",
        "nested": rf"^\s*{escaped}\s*:",
        "toml": rf"^\s*\"?{escaped}\"?\s*=",
        "json": rf'^\s*"{escaped}"\s*:',
        "table": rf"^(?:\|\s*)?{escaped}\s*[:|]",
    }[style]
    compiled = re.compile(pattern)
    for number, line in enumerate(text.splitlines(), first_line):
        if compiled.match(line):
            return number
    return 0
