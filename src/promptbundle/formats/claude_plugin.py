"""A Claude Code plugin (agents/ + .claude-plugin/plugin.json) inside a marketplace folder."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from promptbundle.core.model import OutputFile, Prompt
from promptbundle.formats.base import Format, Mapped
from promptbundle.formats.claude_code import (
    CLAUDE_AGENT_FIELDS,
    CLAUDE_COMMAND_FIELDS,
    CLAUDE_SKILL_FIELDS,
)
from promptbundle.formats.layouts import json_bytes
from promptbundle.render.environment import RenderedPrompt

# Plugin agents cannot carry these (Claude Code ignores them for plugin agents).
PLUGIN_UNSUPPORTED = frozenset({"hooks", "mcpServers", "permissionMode"})


class ClaudePluginFormat(Format):
    name = "claude-plugin"
    description = "Claude Code plugins in a marketplace (.claude-plugin/marketplace.json)"
    kinds = frozenset({"agent", "command", "skill"})
    fields = (*(f for f in CLAUDE_AGENT_FIELDS if f not in PLUGIN_UNSUPPORTED), "capabilities")
    kind_fields: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "command": CLAUDE_COMMAND_FIELDS,
        "skill": CLAUDE_SKILL_FIELDS,
    }
    kind_tools_fields: ClassVar[Mapping[str, str]] = {
        "command": "allowed-tools",
        "skill": "allowed-tools",
    }
    # The target's folder is a marketplace: installed, it is the marketplace's root.
    install_prefix = ""
    writes_plugins = True
    detect_order = 70
    checked_by = "Claude Code 2.1.330 in `make conformance` (`claude plugin validate --strict`)"

    def plugin_dir(self, plugin: str) -> str:
        """A plugin's folder in the marketplace; the bundle's root prompts form the plugin
        named after the bundle."""
        found = self.plugins.get(plugin)
        if found is not None:
            return found.path
        return f"plugins/{self.bundle.name}"

    def path_of(self, kind: str, prompt_id: str) -> str:
        """Where a prompt of the bundle's own (not a plugin's) goes: in the bundle's plugin."""
        inside = {
            "agent": f"agents/{prompt_id}.md",
            "command": f"commands/{prompt_id}.md",
            "skill": f"skills/{prompt_id}/SKILL.md",
        }[kind]
        return _join(self.plugin_dir(""), inside)

    def prompt_path(self, prompt: Prompt, kind: str) -> str:
        inside = {
            "agent": f"agents/{prompt.id}.md",
            "command": f"commands/{prompt.id}.md",
            "skill": f"skills/{prompt.id}/SKILL.md",
        }[kind]
        return _join(self.plugin_dir(prompt.plugin), inside)

    @classmethod
    def claims(cls, path: Path, meta: Mapping[str, Any]) -> bool:
        """An agent with `capabilities`, or one inside a plugin (a `.claude-plugin/` nearby)."""
        if "name" not in meta or "description" not in meta:
            return False
        return "capabilities" in meta or any(
            (parent / ".claude-plugin").is_dir() for parent in path.parents[1:3]
        )

    def map_fields(self, rendered: RenderedPrompt) -> Mapped:
        mapped = super().map_fields(rendered)
        if self.built_kind(rendered.prompt) != "agent":
            return mapped
        for key in sorted(PLUGIN_UNSUPPORTED & set(mapped.fields)):
            del mapped.fields[key]
            mapped.lossy.append(
                self.lossy(rendered.prompt.label, key, "plugin agents cannot set it")
            )
        return mapped

    def bundle_outputs(self, rendered: Sequence[RenderedPrompt]) -> list[OutputFile]:
        """Each plugin's manifest and own files, and the marketplace listing every plugin.

        A file the bundle carries (an imported plugin.json or marketplace.json) is written
        as it is, in place of the one that would be generated."""
        members = sorted({r.prompt.plugin for r in rendered} | set(self.plugins))
        if not members:
            return []
        base = self.target.name
        carried = self._carried_outputs()
        taken = {o.path for o in carried}
        made = list(carried)
        sources = tuple(sorted(self.config_sources()))
        listed = []
        for plugin in members:
            manifest = self._manifest(plugin)
            listed.append(self._listing(plugin, manifest))
            path = f"{base}/{_join(self.plugin_dir(plugin), '.claude-plugin/plugin.json')}"
            if path not in taken:
                found = self.plugins.get(plugin)
                own = (
                    (found.source.relative_to(self.bundle.root).as_posix(),)
                    if found and found.source
                    else ()
                )
                made.append(
                    OutputFile(
                        path, json_bytes(manifest), base, None, tuple(sorted({*sources, *own}))
                    )
                )
        marketplace_path = f"{base}/.claude-plugin/marketplace.json"
        root_carried = {f.path for f in self.files if not f.plugin}
        if marketplace_path not in taken and ".claude-plugin/marketplace.json" not in root_carried:
            made.append(
                OutputFile(
                    marketplace_path, json_bytes(self._marketplace(listed)), base, None, sources
                )
            )
        return made

    def _carried_outputs(self) -> list[OutputFile]:
        """Every plugin's own files, byte for byte, in the plugin's folder."""
        base = self.target.name
        return [
            OutputFile(
                f"{base}/{_join(self.plugin_dir(f.plugin), f.path)}",
                f.source.read_bytes(),
                base,
                None,
                (f.rel,),
                verbatim=True,
                carried=True,
            )
            for f in self.files
            if f.plugin
        ]

    def _manifest(self, plugin: str) -> dict[str, Any]:
        config = self.bundle
        found = self.plugins.get(plugin)
        if found is not None:
            # What plugin.toml leaves out comes from the bundle.
            manifest: dict[str, Any] = {
                "name": found.name,
                "version": config.version,
                "description": f"{found.name} plugin",
                "author": {"name": config.author or config.name},
                **found.manifest,
            }
            if isinstance(manifest.get("author"), str):
                manifest["author"] = {"name": manifest["author"]}
            return manifest
        return {
            "name": config.name,
            "version": config.version,
            "description": config.description or f"{config.name} agents",
            "author": {"name": config.author or config.name},
        }

    def _listing(self, plugin: str, manifest: Mapping[str, Any]) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "name": manifest["name"],
            "source": "./" + self.plugin_dir(plugin) if self.plugin_dir(plugin) != "." else "./",
            "description": manifest.get("description", ""),
        }
        if "version" in manifest:
            entry["version"] = manifest["version"]
        return entry

    def _marketplace(self, listed: list[dict[str, Any]]) -> dict[str, Any]:
        config = self.bundle
        return {
            "name": config.name,
            "description": config.description or f"{config.name} agents",
            "owner": {"name": config.author or config.name},
            "plugins": listed,
        }


def _join(folder: str, rel: str) -> str:
    return rel if folder in ("", ".") else f"{folder}/{rel}"
