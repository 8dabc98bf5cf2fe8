"""`promptbundle explain`: where an output comes from, or every output a source reaches."""

from __future__ import annotations

import json
from pathlib import Path

from promptbundle.commands.outcome import Outcome
from promptbundle.review.explain import explain, explanation_json, format_explanation

__all__ = ["run_explain"]


def run_explain(root: Path | None, path: str, *, as_json: bool = False) -> Outcome:
    """Explain `path` (an output, with or without the dist/ prefix, or a source)."""
    item = explain(root, path)
    data = explanation_json(item)
    document = (
        json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        if as_json
        else format_explanation(item)
    )
    return Outcome("explain", document=document, data=data)
