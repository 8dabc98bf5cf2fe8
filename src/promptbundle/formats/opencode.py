"""opencode agents: `.opencode/agent/<id>.md`; unknown keys are stripped (opencode would
forward them to the model provider as options)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from promptbundle.core.diagnostics import Diagnostic
from promptbundle.core.model import PROJECT_FOLDER, OutputFile
from promptbundle.formats.base import Format, Mapped
from promptbundle.render.environment import RenderedPrompt

OPENCODE_FIELDS = (
    "name",
    "description",
    "mode",
    "model",
    "temperature",
    "top_p",
    "tools",
    "permission",
    "steps",
    "maxSteps",
    "disable",
    "hidden",
    "color",
)

# Canonical (Claude Code) tool names and the opencode tool each is.
OPENCODE_TOOLS = {
    "Read": "read",
    "Write": "write",
    "Edit": "edit",
    "MultiEdit": "edit",
    "Bash": "bash",
    "Grep": "grep",
    "Glob": "glob",
    "LS": "list",
    "WebFetch": "webfetch",
    "WebSearch": "websearch",
    "TodoWrite": "todowrite",
    "TodoRead": "todoread",
    "Task": "task",
    "Skill": "skill",
}
# The `permission` key that governs an opencode tool (opencode 1.18.33 checks `edit` for its
# edit, write and apply_patch tools; every other tool by its own name). The keys are those of
# opencode's permission schema; `todoread` has none (opencode 1.18.33 has no todoread tool).
_SHARED_KEYS = {"write": "edit", "patch": "edit", "apply_patch": "edit", "multiedit": "edit"}
PERMISSION_KEYS = (
    "bash",
    "edit",
    "glob",
    "grep",
    "list",
    "read",
    "skill",
    "task",
    "todowrite",
    "webfetch",
    "websearch",
)
_NO_KEY = frozenset({"todoread"})
# The rule that is the project's AGENTS.md.
AGENTS_MD_RULE = "AGENTS"
# Frontmatter keys only opencode agents have.
_OPENCODE_KEYS = frozenset({"mode", "temperature", "top_p", "permission", "steps", "maxSteps"})


def permission_key(native: str) -> str:
    """The opencode `permission` key that governs the opencode tool `native`."""
    return _SHARED_KEYS.get(native, native)


class OpencodeFormat(Format):
    name = "opencode"
    description = "opencode agent (.opencode/agent/<id>.md)"
    fields = OPENCODE_FIELDS
    keep_unknown = False
    install_prefix = ".opencode"
    user_install_prefix = ".config/opencode"
    # opencode reads one rule file, the project's AGENTS.md.
    rule_ids = frozenset({AGENTS_MD_RULE})
    kinds = frozenset({"agent", "command", "skill", "rule"})
    kind_fields: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "command": ("description", "agent", "model", "subtask"),
        "skill": ("name", "description", "license", "compatibility", "metadata"),
        "rule": (),
    }
    detect_order = 60
    checked_by = "opencode 1.18.33 in `make conformance` (agents, commands)"
    # The canonical tool list becomes an agent's `permission` (opencode's `tools` map is
    # deprecated); other kinds have neither, so their tool list is dropped as `tools`.
    tools_field = "permission"
    kind_tools_fields: ClassVar[Mapping[str, str]] = {
        "command": "tools",
        "skill": "tools",
        "rule": "tools",
    }
    default_models: ClassVar[Mapping[str, str]] = {
        "opus": "anthropic/claude-opus-4-1",
        "sonnet": "anthropic/claude-sonnet-4-5",
        "haiku": "anthropic/claude-haiku-4-5",
        "inherit": "",
    }

    def agent_path(self, agent_id: str) -> str:
        return f"agent/{agent_id}.md"

    def command_path(self, command_id: str) -> str:
        return f"command/{command_id}.md"

    def skill_path(self, skill_id: str) -> str:
        return f"skill/{skill_id}/SKILL.md"

    def rule_path(self, rule_id: str) -> str:
        return f"{PROJECT_FOLDER}/{rule_id}.md"

    def native_tool(self, tool: str) -> str | None:
        """The opencode tool a canonical tool is here (None: it has none)."""
        return self.target.tools.get(tool) or OPENCODE_TOOLS.get(tool)

    def map_tools(self, tools: Sequence[str]) -> Any:
        """opencode `permission`: `deny` for every permission key no listed tool needs.

        Listed tools are not written as `allow`: opencode allows what is not denied, and an
        explicit allow would override a stricter `ask` in the user's own opencode config."""
        allowed = {
            permission_key(native)
            for native in (self.native_tool(t) for t in tools)
            if native is not None
        }
        return {key: "deny" for key in PERMISSION_KEYS if key not in allowed}

    def tool_losses(self, tools: Sequence[str], *, generated: bool) -> list[tuple[str, str]]:
        """(tool, reason) for each canonical tool whose grant or denial `permission` cannot
        express: listed tools opencode lacks and, when the generated `permission` is written,
        unlisted tools that share a key a listed tool needs (`edit` covers Write and Edit)."""
        listed = [(t, self.native_tool(t)) for t in tools]
        losses = []
        for tool, native in listed:
            if native is None:
                losses.append((tool, "no opencode equivalent"))
            elif native in _NO_KEY:
                losses.append((tool, f"opencode has no {native} tool or permission"))
        if generated:
            losses += self._shared_key_losses(tools, listed)
        return losses

    def _shared_key_losses(
        self, tools: Sequence[str], listed: list[tuple[str, str | None]]
    ) -> list[tuple[str, str]]:
        """Unlisted tools that stay allowed because a listed tool needs the same key."""
        natives = {native for _, native in listed if native is not None}
        allowed = {permission_key(native) for native in natives}
        losses = []
        for tool, native in OPENCODE_TOOLS.items():
            if tool in tools or native in natives or native in _NO_KEY:
                continue
            key = permission_key(native)
            if key in allowed and self.native_tool(tool) == native:
                others = sorted(t for t, n in listed if n is not None and permission_key(n) == key)
                reason = (
                    f"not denied: opencode's '{key}' permission also governs "
                    f"{', '.join(others)}, which the agent lists"
                )
                losses.append((tool, reason))
        return losses

    def map_fields(self, rendered: RenderedPrompt) -> Mapped:
        mapped = super().map_fields(rendered)
        prompt = rendered.prompt
        if self.built_kind(prompt) != "agent":
            return mapped
        # The file name is the agent's name in opencode; keep `name` only when set on purpose.
        if "name" not in prompt.blocks.get(self.target.name, prompt.blocks.get(self.name, {})):
            mapped.fields.pop("name", None)
        block: dict[str, Any] = {}
        for key in (self.target.format, self.target.name):
            block.update(prompt.blocks.get(key) or {})
        if block.get("tools") is not None and "permission" not in block:
            # opencode lays `permission` over `tools`: a block's own tool map must win.
            mapped.fields.pop("permission", None)
        elif "permission" not in block and mapped.fields.get("permission") == {}:
            mapped.fields.pop("permission")  # every tool is allowed: nothing to deny
        if prompt.tools is not None:
            generated = "permission" not in block and "tools" not in block
            for tool, reason in self.tool_losses(prompt.tools, generated=generated):
                mapped.lossy.append(self.lossy(prompt.label, f"tools.{tool}", reason))
        return mapped

    def checks(self, output: OutputFile, fields: Mapping[str, Any]) -> list[Diagnostic]:
        if output.kind != "agent":
            return []
        stem = PurePosixPath(output.path).stem
        if "name" not in fields or fields["name"] == stem:
            return []
        message = (
            f"opencode knows this agent as {fields['name']!r}, not by its file name "
            f"{stem!r} (leave 'name' out of the opencode block or make it equal)"
        )
        return [self.diagnostic(output, "warning", "PB123", message, "name")]

    @classmethod
    def claims(cls, path: Path, meta: Mapping[str, Any]) -> bool:
        parts = {part.lower() for part in path.parts[:-1]}
        return (
            ".opencode" in parts
            or bool(_OPENCODE_KEYS & set(meta))
            or isinstance(meta.get("tools"), dict)
        )
