"""import never writes or reads through a symbolic link leading out of the bundle."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from promptbundle.cli import main
from promptbundle.commands.import_ import run_import_command as import_command
from promptbundle.core.errors import BundleError, Location
from tests.support import BundleFactory, write_tree

CLAUDE = b"---\nname: reviewer\ndescription: Reviews code\nmodel: sonnet\n---\nBe kind.\n"


def test_force_refuses_to_replace_an_agent_source_that_links_out_of_the_bundle(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    root = make_bundle({"in/reviewer.md": CLAUDE})
    victim = tmp_path / "victim.md"
    victim.write_text("keep me\n")
    (root / "agents").mkdir(exist_ok=True)
    (root / "agents/reviewer.md").symlink_to(victim)
    with pytest.raises(BundleError) as caught:
        import_command([root / "in/reviewer.md"], root=root, force=True)
    assert caught.value.lines() == [
        f"{root / 'agents/reviewer.md'}:1:1: error: agents/reviewer.md is a symbolic link to "
        f"{victim}, outside {root}; refusing to go through it [PB307]"
    ]
    assert victim.read_text() == "keep me\n"


def test_force_replaces_a_link_inside_the_bundle_without_writing_through_it(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle({"in/reviewer.md": CLAUDE, "notes/keep.md": "keep me\n"})
    (root / "agents").mkdir(exist_ok=True)
    (root / "agents/reviewer.md").symlink_to(root / "notes/keep.md")
    import_command([root / "in/reviewer.md"], root=root, force=True)
    assert not (root / "agents/reviewer.md").is_symlink()
    assert "Be kind." in (root / "agents/reviewer.md").read_text()
    assert (root / "notes/keep.md").read_text() == "keep me\n"


def test_an_agents_folder_linking_out_is_refused_before_any_write(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    root = make_bundle({"in/reviewer.md": CLAUDE, "in/critic.md": CLAUDE.replace(b"rev", b"cr")})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert not (root / "agents").exists()
    (root / "agents").symlink_to(elsewhere)
    with pytest.raises(BundleError) as caught:
        import_command([root / "in"], root=root, format_name="claude-code")
    assert (caught.value.code, caught.value.location) == ("PB307", Location(root / "agents"))
    assert list(elsewhere.iterdir()) == []


def test_a_project_import_into_a_bundle_whose_folder_links_out_writes_nothing(
    tmp_path: Path,
) -> None:
    project = write_tree(
        tmp_path / "project",
        {".claude/agents/reviewer.md": CLAUDE, "docs/guide.md": "A guide.\n"},
    )
    bundle, elsewhere = tmp_path / "bundle", tmp_path / "elsewhere"
    bundle.mkdir()
    elsewhere.mkdir()
    (bundle / "files").symlink_to(elsewhere)
    with pytest.raises(BundleError) as caught:
        import_command([project], into=bundle)
    assert (caught.value.code, caught.value.location) == ("PB307", Location(bundle / "files"))
    assert list(elsewhere.iterdir()) == []
    assert sorted(p.name for p in bundle.iterdir()) == ["files"]


def test_a_target_file_linking_out_of_the_bundle_is_refused(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.toml"
    outside.write_text('format = "claude-code"\n')
    root = make_bundle({"in/reviewer.md": CLAUDE})
    (root / "targets").mkdir(exist_ok=True)
    (root / "targets/claude-code.toml").symlink_to(outside)
    result = CliRunner().invoke(main, ["import", str(root / "in/reviewer.md"), "--root", str(root)])
    assert result.exit_code == 1
    assert result.output == (
        f"{root / 'targets/claude-code.toml'}:1:1: error: targets/claude-code.toml is a "
        f"symbolic link to {outside}, outside {root}; refusing to go through it [PB307]\n"
    )
    assert not (root / "agents/reviewer.md").exists()
