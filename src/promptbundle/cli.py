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
    from promptbundle.errors import PromptBundleError

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
@click.option("-q", "--quiet", is_flag=True, help="Print errors only.")
def build(
    root: Path | None,
    check_only: bool,
    targets: tuple[str, ...],
    agents: tuple[str, ...],
    strict: bool,
    quiet: bool,
) -> None:
    """Render every agent for every target into the output folder (dist/).

    Everything is rendered and validated before anything is written; only changed files
    are rewritten and outputs no longer produced are removed. dist/manifest.json records
    every output with its digest and the sources it came from.
    """
    from promptbundle.pipeline import run_build

    with _handle_errors():
        outcome = run_build(root, targets=targets, agents=agents, strict=strict, check=check_only)
    for line in outcome.messages:
        click.echo(line, err=True)
    if not quiet:
        click.echo(outcome.summary)
    sys.exit(outcome.exit_code)


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
    from promptbundle.check import run_check

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
