from __future__ import annotations

from promptbundle.markdown import heading_levels, shift_headings


def test_shift_moves_the_top_heading_to_the_requested_level() -> None:
    text = "# Top\n\nText\n\n## Sub\n"
    assert shift_headings(text, 3) == "### Top\n\nText\n\n#### Sub\n"


def test_shift_leaves_hashes_in_code_fences_and_inline_code_alone() -> None:
    text = (
        "# Title\n\n```bash\n# comment\n```\n\nUse `# not a heading` here.\n\n    # indented code\n"
    )
    shifted = shift_headings(text, 2)
    assert shifted.startswith("## Title\n")
    assert "\n# comment\n" in shifted
    assert "`# not a heading`" in shifted
    assert "    # indented code" in shifted


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
