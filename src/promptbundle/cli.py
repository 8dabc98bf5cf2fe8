"""The command line: each command parses options and makes one call into the library."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from promptbundle import __version__

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def _handle_errors() -> Iterator[None]:
    """The one place that turns library errors into messages and exit codes."""
    from promptbundle.core.errors import PromptBundleError

    try:
        yield
    except PromptBundleError as err:
        for line in err.lines():
            click.echo(line, err=True)
        sys.exit(err.exit_code)


def _root_option(func: F) -> F:
    return click.option(
        "--root",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Bundle root (default: the nearest folder upward with a bundle config).",
    )(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="promptbundle")
def main() -> None:
    """Compose agent prompts from shared fragments and compile them into every format."""


@main.command()
@_root_option
@click.option(
    "--check", "check_only", is_flag=True, help="Write nothing; exit 1 if dist/ is not up to date."
)
@click.option(
    "--target", "targets", multiple=True, metavar="T", help="Build only this target (repeatable)."
)
@click.option(
    "--agent", "agents", multiple=True, metavar="ID", help="Build only this agent (repeatable)."
)
@click.option(
    "--strict", is_flag=True, help="Treat dropped fields (lossiness) and warnings as errors."
)
@click.option(
    "-q", "--quiet", is_flag=True, help="Print only problems: no summary, no lossiness report."
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Processes that render (default: one per core; small bundles use one).",
)
def build(
    root: Path | None,
    check_only: bool,
    targets: tuple[str, ...],
    agents: tuple[str, ...],
    strict: bool,
    quiet: bool,
    jobs: int | None,
) -> None:
    """Render every agent for every target into the output folder (dist/).

    Everything is rendered and validated before anything is written; only changed files
    are rewritten and outputs no longer produced are removed. dist/manifest.json records
    every output with its digest and the sources it came from. When no source and no
    output changed since the last full build, it stops early (see .promptbundle-cache/).
    """
    from promptbundle.commands.build import run_build

    with _handle_errors():
        outcome = run_build(
            root, targets=targets, agents=agents, strict=strict, check=check_only, jobs=jobs
        )
    for line in outcome.messages if quiet else [*outcome.messages, *outcome.notes]:
        click.echo(line, err=True)
    if not quiet:
        click.echo(outcome.summary)
    sys.exit(outcome.exit_code)


@main.command("import")
@_root_option
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--into",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the agent sources (default: the bundle's agents/).",
)
@click.option(
    "--format",
    "format_name",
    default=None,
    metavar="NAME",
    help="Skip detection: every file is NAME.",
)
@click.option(
    "--check", "check_only", is_flag=True, help="Write nothing; report which files round-trip."
)
@click.option("--json", "as_json", is_flag=True, help="With --check: print the report as JSON.")
@click.option(
    "--force", is_flag=True, help="Replace an agent source an earlier import of a file wrote."
)
def import_(
    root: Path | None,
    paths: tuple[Path, ...],
    into: Path | None,
    format_name: str | None,
    check_only: bool,
    as_json: bool,
    force: bool,
) -> None:
    """Adopt existing agent, skill, prompt and rule files as agent sources.

    Each file's format is detected (or forced with --format) and the source records what
    the first build needs to write the file back byte for byte for that format. With
    --check nothing is written: every file is imported into a temporary bundle, built and
    compared; exit 1 if a supported file does not round-trip. A file whose agent source
    already exists (same import source or same id) is an error unless --force replaces it.
    """
    from promptbundle.importing.check import import_command

    with _handle_errors():
        outcome = import_command(
            list(paths),
            root=root,
            into=into,
            format_name=format_name,
            check=check_only,
            as_json=as_json,
            force=force,
        )
    for line in outcome.messages:
        click.echo(line, err=True)
    click.echo(outcome.summary)
    sys.exit(outcome.exit_code)


@main.command()
@_root_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the archives and SHA256SUMS (default: dist/release/).",
)
@click.option("--version", "version", metavar="V", help="Release version (default: the config's).")
@click.option(
    "--since", metavar="REF", help="Add CHANGES.md: outputs changed since this git revision."
)
def package(root: Path | None, out: Path | None, version: str | None, since: str | None) -> None:
    """Build afresh and write reproducible release archives with SHA256SUMS.

    Writes <bundle>-<version>.tar.gz and .zip (every output plus manifest.json) and
    SHA256SUMS. The same commit gives the same bytes: times come from SOURCE_DATE_EPOCH
    or the last commit, owners and modes are fixed.
    """
    from promptbundle.release.package import package as run_package

    with _handle_errors():
        report = run_package(root, out=out, version=version, since=since)
    for line in report.lines():
        click.echo(line)
    click.echo(report.summary)


@main.command()
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
def verify(archive: Path) -> None:
    """Check every file of a release archive against its manifest.json.

    Names each missing, altered and extra file, and checks the archive against a SHA256SUMS
    beside it; exits 1 on any mismatch.
    """
    from promptbundle.release.package import verify_archive

    with _handle_errors():
        report = verify_archive(archive)
    for problem in report.problems:
        click.echo(f"{archive}: error: {problem}", err=True)
    click.echo(report.summary)
    sys.exit(report.exit_code)


@main.command()
@_root_option
@click.argument("target")
@click.option(
    "--into",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Project or home folder to install into (e.g. . or ~).",
)
@click.option(
    "--from",
    "from_archive",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Install from a release archive (verified first) instead of a fresh build.",
)
@click.option("--dry-run", is_flag=True, help="Print the plan; write nothing.")
@click.option("--force", is_flag=True, help="Overwrite or remove files this install does not own.")
def install(
    root: Path | None,
    target: str,
    into: Path,
    from_archive: Path | None,
    dry_run: bool,
    force: bool,
) -> None:
    """Copy one target's outputs where its tool reads them.

    claude-code goes to INTO/.claude/agents/, opencode to INTO/.opencode/agent/, agent-skill
    to INTO/.claude/skills/. What is written is recorded in INTO/.promptbundle-install.json;
    the next install removes only recorded files no longer produced. Files it did not write,
    or that changed since, are never overwritten or removed without --force.
    """
    from promptbundle.release.install import install as run_install

    with _handle_errors():
        report = run_install(
            root,
            target=target,
            into=into,
            dry_run=dry_run,
            force=force,
            from_archive=from_archive,
        )
    for line in report.lines():
        click.echo(line)
    click.echo(report.summary)


@main.command()
@_root_option
@click.argument("base", required=False)
@click.argument("head", required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="text for a terminal, markdown for a pull-request comment, json for tools.",
)
@click.option("--stat", is_flag=True, help="Counts per output only, no diffs.")
@click.option(
    "--target", "targets", multiple=True, metavar="T", help="Compare only this target (repeatable)."
)
@click.option(
    "--agent", "agents", multiple=True, metavar="ID", help="Compare only this agent (repeatable)."
)
def diff(
    root: Path | None,
    base: str | None,
    head: str | None,
    fmt: str,
    stat: bool,
    targets: tuple[str, ...],
    agents: tuple[str, ...],
) -> None:
    """Show how the rendered outputs differ between two revisions, grouped by cause.

    BASE defaults to the merge base of HEAD with the default branch (origin/HEAD, else
    main or master); HEAD defaults to the working tree. Both are built in memory from
    temporary exports; the checkout and dist/ are never touched. Exits 0 when no output
    changed, 1 when some did, 2 on error.
    """
    from promptbundle.review.report import run_diff

    with _handle_errors():
        outcome = run_diff(root, base, head, fmt=fmt, stat=stat, targets=targets, agents=agents)
    click.echo(outcome.text, nl=False)
    sys.exit(outcome.exit_code)


@main.command()
@_root_option
@click.argument("path")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for tools.")
def explain(root: Path | None, path: str, as_json: bool) -> None:
    """Show where an output comes from, or every output a source reaches.

    PATH is an output (claude-code/agents/x.md, with or without the dist/ prefix) or a
    source (agents/x.md, fragments/testing.md, targets/opencode.toml).
    """
    from promptbundle.review.explain import run_explain

    with _handle_errors():
        text = run_explain(root, path, as_json=as_json)
    click.echo(text, nl=False)


@main.command()
@_root_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: `path:line:col: severity: message [code]` lines; json: one object for tools.",
)
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
def check(root: Path | None, output_format: str, strict: bool) -> None:
    """Lint the sources and validate every output for its real client; write nothing.

    Finds undefined variables, unknown filters, include cycles, unused fragments, heading
    jumps, unclosed code fences, duplicate agents and pasted paragraphs, and every output
    field its client would reject or ignore. Exit 1 on errors (and warnings with --strict).
    Codes are listed in docs/checks.md.
    """
    from promptbundle.review.check import run_check

    with _handle_errors():
        report = run_check(root)
    if output_format == "json":
        click.echo(report.to_json())
    else:
        for line in report.text_lines():
            click.echo(line)
        click.echo(report.summary(), err=True)
    sys.exit(report.exit_code(strict=strict))


if __name__ == "__main__":  # pragma: no cover
    main()
