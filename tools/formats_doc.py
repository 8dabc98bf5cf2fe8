"""Write docs/formats.md from the format classes: `python tools/formats_doc.py`."""

from __future__ import annotations

from pathlib import Path

from promptbundle.formats.docs import FORMATS_DOC, formats_markdown

if __name__ == "__main__":
    path = Path(__file__).resolve().parents[1] / FORMATS_DOC
    path.write_text(formats_markdown(), encoding="utf-8")
    print(f"wrote {path}")
