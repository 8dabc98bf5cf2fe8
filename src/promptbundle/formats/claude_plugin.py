"""A Claude Code plugin (agents/ + .claude-plugin/plugin.json) inside a marketplace folder."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from promptbundle.core.model import OutputFile
from promptbundle.formats.base import Format, Mapped
from promptbundle.formats.claude_code import CLAUDE_AGENT_FIELDS
from promptbundle.formats.layouts import json_bytes
from promptbundle.render.environment import RenderedAgent

# Plugin agents cannot carry these (Claude Code ignores them for plugin agents).
PLUGIN_UNSUPPORTED = frozenset({"hooks", "mcpServers", "permissionMode"})


class ClaudePluginFormat(Format):
    name = "claude-plugin"
    description = "Claude Code plugin with a marketplace (.claude-plugin/marketplace.json)"
    fields = (*(f for f in CLAUDE_AGENT_FIELDS if f not in PLUGIN_UNSUPPORTED), "capabilities")
    detect_order = 70

    @property
    def plugin_dir(self) -> str:
        return f"plugins/{self.bundle.name}"

    def agent_path(self, agent_id: str) -> str:
        return f"{self.plugin_dir}/agents/{agent_id}.md"

    @classmethod
    def claims(cls, path: Path, meta: Mapping[str, Any]) -> bool:
        """An agent with `capabilities`, or one inside a plugin (a `.claude-plugin/` nearby)."""
        if "name" not in meta or "description" not in meta:
            return False
        return "capabilities" in meta or any(
            (parent / ".claude-plugin").is_dir() for parent in path.parents[1:3]
        )

    def map_fields(self, rendered: RenderedAgent) -> Mapped:
        mapped = super().map_fields(rendered)
        for key in sorted(PLUGIN_UNSUPPORTED & set(mapped.fields)):
            del mapped.fields[key]
            mapped.lossy.append(self.lossy(rendered.agent.id, key, "plugin agents cannot set it"))
        return mapped

    def bundle_outputs(self, rendered: Sequence[RenderedAgent]) -> list[OutputFile]:
        if not rendered:
            return []
        config = self.bundle
        author = {"name": config.author or config.name}
        plugin: dict[str, Any] = {
            "name": config.name,
            "version": config.version,
            "description": config.description or f"{config.name} agents",
            "author": author,
        }
        marketplace = {
            "name": config.name,
            "description": plugin["description"],
            "owner": author,
            "plugins": [
                {
                    "name": config.name,
                    "source": f"./{self.plugin_dir}",
                    "description": plugin["description"],
                    "version": config.version,
                }
            ],
        }
        sources = tuple(
            sorted({config.source.relative_to(config.root).as_posix(), *self.config_sources()})
        )
        base = self.target.name
        return [
            OutputFile(
                f"{base}/.claude-plugin/marketplace.json",
                json_bytes(marketplace),
                base,
                None,
                sources,
            ),
            OutputFile(
                f"{base}/{self.plugin_dir}/.claude-plugin/plugin.json",
                json_bytes(plugin),
                base,
                None,
                sources,
            ),
        ]
