from __future__ import annotations

import pytest
import yaml

from promptbundle.core.yamlio import YamlStructureError, dump_frontmatter, is_plain_safe, load_yaml

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


# -- what the reader refuses, and what it still reads --------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "a: {x: 1}\nx: 2\n",
        "- a: 1\n  b: {}\n  c: 3\n- a: 2\n",
        "1: a\n'1': b\n",
        "a: " + "[" * 97 + "]" * 97 + "\n",
        "description: " + "well-known re-usable low-cost " * 40 + "\n",
    ],
)
def test_the_reader_accepts_distinct_keys_and_nesting_up_to_the_limit(text: str) -> None:
    assert load_yaml(text) == yaml.safe_load(text)


@pytest.mark.parametrize(
    ("text", "problem", "line", "column"),
    [
        ("a: 1\nb: 2\na: 3\n", "duplicate key 'a' (each key may appear once in a mapping)", 2, 0),
        ("x: [{a: 1, a: 2}]\n", "duplicate key 'a' (each key may appear once in a mapping)", 0, 11),
        ("a: &x 1\n", "YAML anchor &x is not allowed (anchors and aliases are refused)", 0, 3),
        ("a: *x\n", "YAML alias *x is not allowed (anchors and aliases are refused)", 0, 3),
        ("a: " + "[" * 100 + "]" * 100 + "\n", "YAML nested deeper than 100 levels", 0, 102),
        ("a:\n" + "- " * 100 + "x\n", "YAML nested deeper than 100 levels", 1, 198),
    ],
)
def test_the_reader_refuses_aliases_duplicate_keys_and_deep_nesting(
    text: str, problem: str, line: int, column: int
) -> None:
    with pytest.raises(YamlStructureError) as info:
        load_yaml(text)
    assert (info.value.problem, info.value.code) == (problem, "PB005")
    assert (info.value.problem_mark.line, info.value.problem_mark.column) == (line, column)


@pytest.mark.parametrize("text", ["\ufffe", "a\uffffb", "\x85", "\x7f", "\x9f", "\u2028", "\x00"])
def test_non_printable_characters_are_escaped_and_read_back(text: str) -> None:
    written = dump_frontmatter({"description": text})
    assert written.isascii()
    assert yaml.safe_load(written) == {"description": text}


def test_a_lone_surrogate_is_refused_by_the_writer() -> None:
    with pytest.raises(ValueError, match=r"a lone surrogate \(U\+DFFF\) cannot be written"):
        dump_frontmatter({"description": "x\udfff"})
