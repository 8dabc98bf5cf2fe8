"""The built-in target formats, by name."""

from __future__ import annotations

from promptbundle.formats.agent_skill import AgentSkillFormat
from promptbundle.formats.base import Diagnostic, Format, LossyField, OutputFile
from promptbundle.formats.claude_code import ClaudeCodeFormat
from promptbundle.formats.claude_plugin import ClaudePluginFormat
from promptbundle.formats.copilot_agent import CopilotAgentFormat
from promptbundle.formats.copilot_prompt import CopilotPromptFormat
from promptbundle.formats.cursor_rule import CursorRuleFormat
from promptbundle.formats.opencode import OpencodeFormat
from promptbundle.formats.skill_table import SkillTableFormat

__all__ = ["FORMATS", "Diagnostic", "Format", "LossyField", "OutputFile"]

FORMATS: dict[str, type[Format]] = {
    cls.name: cls
    for cls in (
        ClaudeCodeFormat,
        ClaudePluginFormat,
        OpencodeFormat,
        SkillTableFormat,
        AgentSkillFormat,
        CopilotAgentFormat,
        CopilotPromptFormat,
        CursorRuleFormat,
    )
}
