"""Bounded JSON and TOML reading: nesting is counted outside strings and comments."""

from __future__ import annotations

import pytest

from promptbundle.core.bounded import MAX_DEPTH, DepthError, load_json, load_toml


def test_brackets_inside_strings_and_comments_do_not_count() -> None:
    assert load_json('{"a": "' + "[" * 500 + '"}') == {"a": "[" * 500}
    text = "a = '" + "[" * 500 + "'\nb = \"" + "{" * 500 + '"\n# ' + "[" * 500 + "\n"
    assert load_toml(text) == {"a": "[" * 500, "b": "{" * 500}
    assert load_toml('c = """\n' + "[" * 500 + '\n"""\n') == {"c": "[" * 500 + "\n"}


def test_nesting_up_to_the_limit_is_read() -> None:
    assert load_json("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    assert load_toml("a = " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n")["a"] is not None
    assert load_toml(".".join(["k"] * (MAX_DEPTH + 1)) + " = 1\n")["k"] is not None


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("\n" + "[" * 101 + "]" * 101, 2, 101),
        ('{"a": ' * 101 + "1" + "}" * 101, 1, 601),
    ],
)
def test_json_past_the_limit_is_refused_at_the_bracket(text: str, line: int, column: int) -> None:
    with pytest.raises(DepthError) as info:
        load_json(text)
    assert (info.value.line, info.value.column) == (line, column)
    assert str(info.value) == (f"JSON nested deeper than 100 levels (line {line}, column {column})")


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("x = 1\na = " + "[" * 101 + "]" * 101 + "\n", 2, 105),
        ("a = " + "{ b = " * 101 + "1" + " }" * 101 + "\n", 1, 605),
        ("x = 1\n" + ".".join(["k"] * 102) + " = 1\n", 2, 1),
        ("[" + ".".join(["t"] * 101) + "]\nx = 1\n", 1, 1),
    ],
)
def test_toml_past_the_limit_is_refused_at_its_line(text: str, line: int, column: int) -> None:
    with pytest.raises(DepthError) as info:
        load_toml(text)
    assert (info.value.line, info.value.column) == (line, column)
    assert info.value.problem == "TOML nested deeper than 100 levels"
