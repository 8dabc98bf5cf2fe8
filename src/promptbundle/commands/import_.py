"""`promptbundle import`: adopt existing prompt files as sources, or check the round trip."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from promptbundle.build.pipeline import read_config
from promptbundle.commands.outcome import Outcome
from promptbundle.core.errors import ConfigError, UsageError
from promptbundle.core.files import check_paths_inside
from promptbundle.formats.registry import FORMATS
from promptbundle.importing.check import check_import
from promptbundle.importing.importer import run_import
from promptbundle.importing.tree import TreeCheck, check_tree, import_tree

__all__ = ["run_import_command"]


def run_import_command(
    paths: Sequence[Path],
    *,
    root: Path | None = None,
    into: Path | None = None,
    format_name: str | None = None,
    check: bool = False,
    force: bool = False,
) -> Outcome:
    """Check the round trip of `paths` (`check`), or write an agent source for each file."""
    if not paths:
        raise UsageError("give at least one file or folder to import")
    if format_name is not None and format_name not in FORMATS:
        raise UsageError(f"unknown format {format_name!r} (formats: {', '.join(sorted(FORMATS))})")
    if check:
        return _check(paths, format_name)
    folders = [path for path in paths if path.is_dir()]
    if folders and format_name is None:
        return _import_projects(folders, [p for p in paths if not p.is_dir()], root, into, force)
    return _import_files(paths, root=root, into=into, format_name=format_name, force=force)


def _import_files(
    paths: Sequence[Path],
    *,
    root: Path | None,
    into: Path | None,
    format_name: str | None,
    force: bool,
) -> Outcome:
    """Write a source for each file (each folder's files one by one with `--format`) into
    the bundle at `into`: the bundle above `root`, else the current folder."""
    targets: list[str] | None = None
    try:
        config = read_config(root)
    except ConfigError:
        if root is not None:
            raise
        config = None
    if config is not None:
        _check_target_files(config.root)
        targets = [t.format for t in config.targets]
        into = into if into is not None else config.root
    result = run_import(
        paths,
        into=into if into is not None else Path.cwd(),
        format_name=format_name,
        targets=targets,
        force=force,
        config=config,
    )
    return Outcome(
        "import",
        result.summary,
        messages=result.messages,
        data={
            "written": [str(path) for path in result.written],
            "unsupported": [
                {"path": str(path), "reason": reason} for path, reason in result.unsupported
            ],
            "narrowed": result.narrowed,
        },
    )


def _check_target_files(bundle: Path) -> None:
    """Refuse a `targets/*.toml` of the bundle that links out of it (PB307): import reads
    them, and a bundle's configuration is its own."""
    check_paths_inside(bundle, [p.relative_to(bundle).as_posix() for p in _target_files(bundle)])


def _target_files(bundle: Path) -> list[Path]:
    folder = bundle / "targets"
    return sorted(folder.glob("*.toml")) if folder.is_dir() else []


def _check(paths: Sequence[Path], format_name: str | None) -> Outcome:
    """Round-trip every file; for a folder, also rebuild the whole project from an import
    and count the files written back at their paths with their bytes."""
    report = check_import(paths, format_name=format_name)
    data = report.as_json()
    summary = report.summary
    exit_code = report.exit_code
    messages = report.lines()
    trees = [check_tree(path) for path in paths if path.is_dir()]
    if trees:
        data["tree"] = _tree_totals(trees)
        data["tree"]["not_reproduced"] = [
            {"path": path, "reason": reason} for tree in trees for path, reason in tree.missing
        ]
        totals = data["tree"]
        summary += (
            f"; tree: {totals['reproduced']}/{totals['files']} files written back at their "
            f"paths ({totals['carried']} carried), {totals['modelled']}/{totals['prompts']} "
            f"prompt files modelled"
        )
        messages += [
            f"{item['path']}: not reproduced: {item['reason']}" for item in totals["not_reproduced"]
        ]
    return Outcome("import", summary, messages=messages, data=data, exit_code=exit_code)


def _tree_totals(trees: Sequence[TreeCheck]) -> dict[str, Any]:
    keys = ("files", "reproduced", "carried", "unsupported", "prompts", "modelled")
    return {key: sum(int(getattr(tree, key)) for tree in trees) for key in keys}


def _import_projects(
    folders: Sequence[Path],
    files: Sequence[Path],
    root: Path | None,
    into: Path | None,
    force: bool,
) -> Outcome:
    """Import whole project folders (and any single files) into one bundle folder."""
    bundle = into if into is not None else (root if root is not None else Path.cwd())
    _check_target_files(bundle)
    messages: list[str] = []
    summaries = []
    written = 0
    for folder in folders:
        result = import_tree(folder, bundle, force=force)
        messages += result.messages
        summaries.append(f"{folder}: {result.summary}")
        written += len(result.written)
    if files:
        outcome = run_import_command(list(files), root=bundle, force=force)
        messages += outcome.messages
        summaries.append(outcome.summary)
    return Outcome(
        "import",
        "; ".join(summaries),
        messages=messages,
        data={"bundle": str(bundle), "written": written},
    )
