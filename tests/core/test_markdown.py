from __future__ import annotations

import pytest

from promptbundle.core.markdown import heading_levels, shift_headings


def test_shift_moves_the_top_heading_to_the_requested_level() -> None:
    text = "# Top\n\nText\n\n## Sub\n"
    assert shift_headings(text, 3) == "### Top\n\nText\n\n#### Sub\n"


def test_shift_leaves_hashes_in_code_fences_and_inline_code_alone() -> None:
    text = (
        "# Title\n\n```bash\n# comment\n```\n\nUse `# not a heading` here.\n\n    # indented code\n"
    )
    assert shift_headings(text, 2) == "#" + text  # only the title moves


def test_shift_up_clamps_at_level_one_and_down_at_six() -> None:
    assert shift_headings("### A\n#### B\n", 1) == "# A\n## B\n"
    assert shift_headings("# A\n###### F\n", 3) == "### A\n###### F\n"


def test_setext_headings_become_atx_at_the_new_level() -> None:
    assert shift_headings("Title\n=====\n\nSub\n---\n", 2) == "## Title\n\n### Sub\n"


def test_text_without_headings_is_unchanged() -> None:
    assert shift_headings("plain\n", 2) == "plain\n"


def test_heading_levels_reports_lines_and_levels() -> None:
    assert heading_levels("# A\n\n```\n# no\n```\n### C\n") == [(1, 1), (6, 3)]


def test_headings_inside_list_items_and_blockquotes_keep_their_container() -> None:
    text = "# Top\n\n- # Item\n\n> ## Quoted\n\n1. ### Numbered\n"
    assert shift_headings(text, 2) == "## Top\n\n- ## Item\n\n> ### Quoted\n\n1. #### Numbered\n"


# Lines that are, or look like, headings in some context; texts are made of them at random.
_TRICKY_LINES = [
    "## Head",
    "# One",
    "### Three",
    "#### Four",
    "Title",
    "===",
    "---",
    "  --  ",
    "- item",
    "- ## In a list",
    "> # Quoted",
    ">",
    "1. ### Numbered",
    "```",
    "~~~",
    "    ## indented code",
    "\t# tab code",
    "<div>",
    "</div>",
    "<!--",
    "-->",
    "",
    "",
    "text with # inside",
    "#no-space",
    "####### seven",
    "   ## three spaces",
    "- - -",
    "***",
    "[ref]: /url 'title",
    "# inside a title'",
    "##",
    "##\t",
    "## a\r# b",
    "lazy\r\n===",
]


def _texts(count: int, seed: int) -> list[str]:
    import random

    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        lines = [rng.choice(_TRICKY_LINES) for _ in range(rng.randint(1, 8))]
        if rng.random() < 0.5:  # most fragments open with their own top heading
            lines.insert(0, rng.choice(["# Top", "## Top", "### Top", "##", "## \t"]))
        texts.append("\n".join(lines) + rng.choice(["", "\n"]))
    return texts


def test_shift_shortcuts_agree_with_a_full_parse_on_tricky_texts() -> None:
    from promptbundle.core import markdown

    for text in _texts(3000, seed=8):
        found = markdown._parse_headings(text)
        if not markdown._may_have_headings(text):
            assert found == [], text
        for level in range(1, 7):
            if markdown._shallowest_is(text, level):
                assert found and min(h[2] for h in found) == level, (text, level)


def test_shift_headings_gives_the_same_text_with_or_without_the_shortcuts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from promptbundle.core import markdown

    texts = _texts(1500, seed=80)
    fast = [shift_headings(text, level) for text in texts for level in (1, 2, 3)]
    monkeypatch.setattr(markdown, "_shallowest_is", lambda text, level: False)
    monkeypatch.setattr(markdown, "_may_have_headings", lambda text: True)
    slow = [shift_headings(text, level) for text in texts for level in (1, 2, 3)]
    assert fast == slow


def test_a_fragment_already_at_the_requested_level_is_returned_as_is() -> None:
    text = "## Rules\n\nText.\n\n### More\n\n- item\n"
    assert shift_headings(text, 2) is text


def test_a_shallower_heading_further_down_still_shifts_the_text() -> None:
    assert shift_headings("## A\n\n# B\n", 2) == "### A\n\n## B\n"
    assert shift_headings("## A\n\nB\n===\n", 2) == "### A\n\n## B\n"
