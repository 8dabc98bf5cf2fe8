"""Generated inputs: every string the YAML writer writes reads back the same with PyYAML
and with a YAML 1.2 reader, and every generated agent file imports and rebuilds byte for
byte or is refused with a located error."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from promptbundle.build.pipeline import build_outputs, load
from promptbundle.core.errors import PromptBundleError
from promptbundle.core.yamlio import dump_frontmatter
from promptbundle.formats.registry import Unsupported
from promptbundle.importing.convert import convert_file

YAML_12 = YAML(typ="safe", pure=True)

# What YAML readers trip over: indicators, separators, comments, scalars that resolve to
# something else, the characters outside YAML's printable set, padding.
TRICKY_PIECES = [
    ": ",
    " #",
    "#",
    "- ",
    "? ",
    "---",
    "...",
    "&a",
    "*a",
    "!t",
    "|",
    ">",
    "'",
    '"',
    "%",
    "@",
    "`",
    "[",
    "]",
    "{",
    "}",
    ",",
    "\\",
    "yes",
    "No",
    "on",
    "OFF",
    "y",
    "null",
    "~",
    "true",
    "False",
    "0o17",
    "0x1F",
    "1_000",
    "12:30",
    "1.5e3",
    ".inf",
    ".NaN",
    "-1",
    "+2",
    "2024-01-01",
    "<<",
    "=",
    " ",
    "\t",
    "\n",
    "\r",
    "\r\n",
    "\x00",
    "\x07",
    "\x1b",
    "\x7f",
    "\x85",
    "\x9f",
    "\xa0",
    "\u2028",
    "\u2029",
    "\ufeff",
    "\ufffe",
    "\uffff",
    "\ufffd",
    "\U0001f600",
    "\U0010ffff",
]
# Full Unicode except lone surrogates (no string can hold them in UTF-8).
ANY_CHARACTER = st.characters(exclude_categories=("Cs",))
TRICKY_TEXT = st.lists(
    st.one_of(st.sampled_from(TRICKY_PIECES), st.text(ANY_CHARACTER, max_size=4)), max_size=8
).map("".join)


def _pyyaml(text: str) -> object:
    return yaml.load(text, Loader=yaml.SafeLoader)


def _yaml12(text: str) -> object:
    return YAML_12.load(io.StringIO(text))


@settings(max_examples=10_000, deadline=None, derandomize=True)
@given(TRICKY_TEXT)
def test_every_written_string_reads_back_with_pyyaml_and_yaml_1_2(text: str) -> None:
    written = dump_frontmatter({"key": text, "list": [text]})
    expected = {"key": text, "list": [text]}
    assert _pyyaml(written) == expected
    assert _yaml12(written) == expected


# -- generated agent files through import and a rebuild ------------------------------------

LINE_TEXT = st.lists(
    st.one_of(st.sampled_from([p for p in TRICKY_PIECES if "\n" not in p and "\r" not in p])),
    min_size=1,
    max_size=6,
).map("".join)


@st.composite
def _description(draw: st.DrawFn) -> str:
    """A `description:` line as people and tools write it: plain, JSON-quoted (escapes
    included) or single-quoted."""
    text = draw(st.one_of(LINE_TEXT, st.text(ANY_CHARACTER, min_size=1, max_size=12)))
    style = draw(st.sampled_from(["plain", "json", "ascii-json", "single"]))
    if style == "plain":
        return re.sub(r"[\r\n\x85\u2028\u2029]", " ", text).strip() or "x"
    if style == "single":
        return "'" + re.sub(r"[\r\n\x85\u2028\u2029]", " ", text).replace("'", "''") + "'"
    return json.dumps(text, ensure_ascii=style == "ascii-json")


BODY_TEXT = st.lists(
    st.one_of(
        st.sampled_from(["\n", "\r\n", "# Title\n", "{{ x }}", "{% if %}", "```\n", "---\n"]),
        st.sampled_from(TRICKY_PIECES),
        st.text(ANY_CHARACTER, max_size=6),
    ),
    max_size=10,
).map("".join)


@st.composite
def claude_agent(draw: st.DrawFn) -> bytes:
    """A Claude Code agent file: frontmatter (name, description, maybe tools and model)
    and a Markdown body."""
    lines = ["---", "name: agent", f"description: {draw(_description())}"]
    if draw(st.booleans()):
        lines.append(f"tools: {draw(st.sampled_from(['Read, Grep', 'Bash', 'Read']))}")
    if draw(st.booleans()):
        lines.append(f"model: {draw(st.sampled_from(['sonnet', 'opus', 'haiku']))}")
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join([*lines, "---", ""]) + draw(BODY_TEXT)
    return text.encode("utf-8")


LOCATED = re.compile(r"^\S.*:\d+:\d+: error: .+ \[PB\d{3}\]$")


@settings(
    max_examples=2_000,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(claude_agent())
def test_generated_agents_import_and_rebuild_byte_exact_or_are_refused_located(
    tmp_path: Path, data: bytes
) -> None:
    original = tmp_path / "in" / "agent.md"
    original.parent.mkdir(exist_ok=True)
    original.write_bytes(data)
    try:
        agent = convert_file(original, data, format_name="claude-code")
    except Unsupported:
        return  # not an agent file at all (no frontmatter): import says so and writes nothing
    root = tmp_path / "bundle"
    (root / "agents").mkdir(parents=True, exist_ok=True)
    (root / "promptbundle.toml").write_text('name = "b"\ntargets = ["claude-code"]\n')
    (root / agent.source_rel).write_bytes(agent.text.encode("utf-8"))
    try:
        result = build_outputs(load(root))
    except PromptBundleError as err:
        assert all(LOCATED.match(line) for line in err.lines()), err.lines()
        return
    finally:
        (root / agent.source_rel).unlink()
    [output] = [o for o in result.outputs if o.agent == agent.label]
    assert output.content == data
