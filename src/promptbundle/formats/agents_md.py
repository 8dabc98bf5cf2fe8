"""AGENTS.md, for the tools that read only that (Codex, opencode, Copilot, Cursor, Cline,
Kiro, ...): the rule `AGENTS` becomes the project's `AGENTS.md`, and a rule `<folder>/AGENTS`
(`rules/<folder>/AGENTS.md`) the nested `<folder>/AGENTS.md` that applies inside that folder
(the nearest file wins). Other rules are not built: each tool's own target carries them.

AGENTS.md is plain Markdown, so a rule's frontmatter fields are dropped (reported as lossy).
Codex reads at most 32 KiB of AGENTS.md files in all: a larger file is a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from promptbundle.core.diagnostics import Diagnostic
from promptbundle.core.model import OutputFile, Prompt
from promptbundle.formats.base import Format

__all__ = ["AGENTS_MD", "AGENTS_MD_LIMIT", "AgentsMdFormat"]

AGENTS_MD = "AGENTS"
# Codex's `project_doc_max_bytes` default: 32 KiB of AGENTS.md, all files together.
AGENTS_MD_LIMIT = 32 * 1024


class AgentsMdFormat(Format):
    name = "agents-md"
    description = "AGENTS.md rules (the project's and nested ones) for tools that read only that"
    kinds = frozenset({"rule"})
    kind_fields: ClassVar[Mapping[str, tuple[str, ...]]] = {"rule": ()}
    keep_unknown = False
    # The project's AGENTS.md; `carries` takes the nested ones too.
    rule_ids = frozenset({AGENTS_MD})
    # The folder's files go at the project's root, each at its own path.
    install_prefix = ""
    default_target = False
    detect_order = 90

    def carries(self, prompt: Prompt) -> bool:
        """The rules named AGENTS, at the top or in a folder (and any rule imported from an
        AGENTS.md file)."""
        if prompt.plugin or prompt.kind != "rule":
            return False
        last = prompt.id.rsplit("/", 1)[-1]
        return last == AGENTS_MD or prompt.imported.get("format") == self.name

    def rule_path(self, rule_id: str) -> str:
        return f"{rule_id}.md"

    def checks(self, output: OutputFile, fields: Mapping[str, Any]) -> list[Diagnostic]:
        if len(output.content) <= AGENTS_MD_LIMIT:
            return []
        message = (
            f"AGENTS.md is {len(output.content)} bytes; Codex reads at most {AGENTS_MD_LIMIT} "
            "bytes of AGENTS.md files in all"
        )
        return [self.diagnostic(output, "warning", "PB125", message)]

    @classmethod
    def claims(cls, path: Path, meta: Mapping[str, Any]) -> bool:
        return path.name == f"{AGENTS_MD}.md" and not meta

    @classmethod
    def kind_of_file(cls, path: Path) -> str | None:
        return "rule"
