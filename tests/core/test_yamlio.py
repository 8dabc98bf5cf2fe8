from __future__ import annotations

import pytest
import yaml

from promptbundle.core.yamlio import dump_frontmatter, is_plain_safe, load_yaml

TRICKY = [
    "yes",
    "No",
    "on",
    "OFF",
    "null",
    "~",
    "true",
    "1.0",
    "0o17",
    "0x1F",
    "1_000",
    "12:30",
    "2024-01-01",
    ".inf",
    "- item",
    "key: value",
    "a #comment",
    "ends with colon:",
    "#hash",
    "*alias",
    "&anchor",
    "!tag",
    "|literal",
    ">folded",
    "'single'",
    '"double"',
    "%directive",
    "@at",
    "`tick`",
    "[flow]",
    "{flow}",
    " leading space",
    "trailing space ",
    "line\nbreak",
    "tab\there",
    "",
    "---",
    "back\\slash",
    "unicode — dash",
    "emoji 🐍",
    "\u2028separator",
]


@pytest.mark.parametrize("text", TRICKY)
def test_every_tricky_string_reads_back_as_the_same_string(text: str) -> None:
    dumped = dump_frontmatter({"value": text})
    assert load_yaml(dumped) == {"value": text}
    assert yaml.safe_load(dumped) == {"value": text}


@pytest.mark.parametrize("text", ["yes", "null", "1.0", "key: value", "a #b", "- x", "12:30"])
def test_ambiguous_scalars_are_double_quoted(text: str) -> None:
    assert dump_frontmatter({"v": text}) == f'v: "{text}"\n'


@pytest.mark.parametrize("text", ["sonnet", "Read, Write, Bash", "Python developer — Flask"])
def test_ordinary_text_stays_plain(text: str) -> None:
    assert is_plain_safe(text) is True
    assert dump_frontmatter({"v": text}) == f"v: {text}\n"


def test_collections_are_written_in_block_style_without_tabs() -> None:
    data = {"tools": {"bash": True, "read": False}, "list": ["a", "b: c"], "count": 3, "f": 0.2}
    text = dump_frontmatter(data)
    assert text == (
        'tools:\n  bash: true\n  read: false\nlist:\n  - a\n  - "b: c"\ncount: 3\nf: 0.2\n'
    )
    assert "\t" not in text and "[" not in text and "{" not in text
    assert load_yaml(text) == data


def test_list_of_mappings_round_trips() -> None:
    data = {"hooks": [{"matcher": "Bash", "command": "echo hi"}, {"matcher": "Edit"}]}
    assert load_yaml(dump_frontmatter(data)) == data


def test_empty_collections_are_left_out() -> None:
    assert dump_frontmatter({"a": [], "b": {}, "c": "x"}) == "c: x\n"


def test_unwritable_values_raise_type_error() -> None:
    with pytest.raises(TypeError) as caught:
        dump_frontmatter({"v": object()})
    assert str(caught.value) == "cannot write a object as YAML"
    with pytest.raises(TypeError) as caught:
        dump_frontmatter({"v": float("nan")})
    assert str(caught.value) == "cannot write nan as YAML for every client"


@pytest.mark.parametrize("text", [".", "._", ".a"])
def test_lone_dot_scalars_are_quoted(text: str) -> None:
    assert dump_frontmatter({"v": text}) == f'v: "{text}"\n'


def test_only_true_and_false_are_booleans_as_in_yaml_1_2() -> None:
    data = load_yaml("on: [push]\nyes: no\nmode: off\nreadonly: y\nx: true\ny: False\n")
    assert data == {
        "on": ["push"],
        "yes": "no",
        "mode": "off",
        "readonly": "y",
        "x": True,
        "y": False,
    }
