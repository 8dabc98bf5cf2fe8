"""Importing into a bundle that already holds the agent: an error unless --force replaces it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from promptbundle.cli import main
from promptbundle.commands.import_ import run_import_command as import_command
from promptbundle.core.errors import PromptBundleError
from tests.support import BundleFactory, write_tree

CLAUDE = b"---\nname: reviewer\ndescription: Reviews code\nmodel: sonnet\n---\nBe kind.\n"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.md"))}


def test_importing_the_same_file_twice_is_an_error_naming_the_existing_source(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle({"in/reviewer.md": CLAUDE})
    import_command([root / "in/reviewer.md"], root=root)
    before = snapshot(root / "agents")
    with pytest.raises(PromptBundleError) as caught:
        import_command([root / "in/reviewer.md"], root=root)
    assert caught.value.lines() == [
        f"{root / 'in/reviewer.md'}:1:1: error: already imported as {root / 'agents/reviewer.md'}"
        " (same import source); use --force to replace it [PB001]"
    ]
    assert snapshot(root / "agents") == before


def test_same_import_source_under_another_id_is_an_error(make_bundle: BundleFactory) -> None:
    root = make_bundle({"in/reviewer.md": CLAUDE})
    import_command([root / "in/reviewer.md"], root=root)
    (root / "in/reviewer.md").write_bytes(CLAUDE.replace(b"name: reviewer", b"name: critic"))
    with pytest.raises(PromptBundleError) as caught:
        import_command([root / "in/reviewer.md"], root=root)
    assert caught.value.message == (
        f"already imported as {root / 'agents/reviewer.md'} (same import source);"
        " use --force to replace it"
    )
    assert sorted(snapshot(root / "agents")) == ["reviewer.md"]


def test_a_file_deriving_the_id_of_a_hand_written_agent_is_an_error(
    make_bundle: BundleFactory,
) -> None:
    hand = "---\nname: reviewer\ndescription: Mine\n---\nHand written.\n"
    root = make_bundle({"agents/reviewer.md": hand, "in/reviewer.md": CLAUDE})
    with pytest.raises(PromptBundleError) as caught:
        import_command([root / "in/reviewer.md"], root=root)
    assert caught.value.lines() == [
        f"{root / 'in/reviewer.md'}:1:1: error: id 'reviewer' is already used by"
        f" {root / 'agents/reviewer.md'}; use --force to replace it [PB001]"
    ]
    assert (root / "agents/reviewer.md").read_text() == hand


def test_one_conflict_writes_nothing_for_the_other_files(make_bundle: BundleFactory) -> None:
    root = make_bundle({"in/reviewer.md": CLAUDE})
    import_command([root / "in/reviewer.md"], root=root)
    write_tree(root, {"in/other.md": CLAUDE.replace(b"name: reviewer", b"name: other")})
    with pytest.raises(PromptBundleError) as caught:
        import_command([root / "in/other.md", root / "in/reviewer.md"], root=root)
    assert caught.value.lines() == [
        f"{root / 'in/reviewer.md'}:1:1: error: already imported as {root / 'agents/reviewer.md'}"
        " (same import source); use --force to replace it [PB001]"
    ]
    assert sorted(snapshot(root / "agents")) == ["reviewer.md"]


def test_force_replaces_the_existing_source_in_place(make_bundle: BundleFactory) -> None:
    root = make_bundle({"in/reviewer.md": CLAUDE})
    import_command([root / "in/reviewer.md"], root=root)
    changed = CLAUDE.replace(b"name: reviewer", b"name: critic") + b"More.\n"
    (root / "in/reviewer.md").write_bytes(changed)
    import_command([root / "in/reviewer.md"], root=root, force=True)
    assert sorted(snapshot(root / "agents")) == ["reviewer.md"]
    assert "More." in (root / "agents/reviewer.md").read_text()


def test_two_inputs_deriving_one_id_get_a_suffix_and_a_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no bundle config above: the default targets judge
    files = write_tree(tmp_path, {"a/x.md": CLAUDE, "b/x.md": CLAUDE})
    out = tmp_path / "bundle"
    outcome = import_command([files / "a/x.md", files / "b/x.md"], into=out, root=None)
    assert sorted(snapshot(out / "agents")) == ["reviewer-2.md", "reviewer.md"]
    assert sorted(p.name for p in out.iterdir()) == ["agents"]
    assert outcome.messages == [
        f"{files / 'b/x.md'}: note: id 'reviewer' is taken by {files / 'a/x.md'} in this "
        "import; imported as 'reviewer-2'",
        f"{files / 'b/x.md'}: lossy: name: 'reviewer' is kept only in the claude-code file"
        " (id 'reviewer-2')",
    ]


def test_cli_second_import_exits_1_and_force_exits_0(make_bundle: BundleFactory) -> None:
    root = make_bundle({"in/reviewer.md": CLAUDE})
    runner = CliRunner()
    args = ["import", "--root", str(root), str(root / "in/reviewer.md")]
    assert runner.invoke(main, args).exit_code == 0
    again = runner.invoke(main, args)
    assert again.exit_code == 1
    assert again.stdout == ""
    assert again.stderr == (
        f"{root / 'in/reviewer.md'}:1:1: error: already imported as {root / 'agents/reviewer.md'}"
        " (same import source); use --force to replace it [PB001]\n"
    )
    forced = runner.invoke(main, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    assert sorted(snapshot(root / "agents")) == ["reviewer.md"]
