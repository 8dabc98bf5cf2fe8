"""The command line: each command parses options and makes one call into the library.

A command's module is imported when the command runs, so the CLI starts without loading
what other commands need."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from promptbundle import __version__
from promptbundle.commands.outcome import Outcome
from promptbundle.core.errors import PromptBundleError

F = TypeVar("F", bound=Callable[..., Any])

# The word that says what a line is, coloured when the stream is a terminal (and NO_COLOR is
# unset): `path:1:1: error: ...`, `warning:`, `note:`, `lossy:`, `skip:`.
_LEVEL_COLOURS = {"error": "red", "warning": "yellow", "note": "cyan", "lossy": "cyan"}
_LEVEL = re.compile(r"(?:^|: )(error|warning|note|lossy)(?=: )")


def _paint(line: str) -> str:
    found = _LEVEL.search(line)
    if found is None:
        return line
    word = found.group(1)
    coloured = click.style(word, fg=_LEVEL_COLOURS[word], bold=True)
    return line[: found.start(1)] + coloured + line[found.end(1) :]


def _say(line: str, *, err: bool = False) -> None:
    """Print a line; click strips the colour when the stream is not a terminal."""
    colour = False if os.environ.get("NO_COLOR") else None
    click.echo(_paint(line), err=err, color=colour)


@contextmanager
def _handle_errors(command: str = "", *, as_json: bool = False) -> Iterator[None]:
    """The one place that turns library errors into messages and exit codes."""
    try:
        yield
    except PromptBundleError as err:
        if as_json:
            failed = Outcome(command, err.message, messages=err.lines(), exit_code=err.exit_code)
            failed.data = {"errors": err.lines()}
            click.echo(json.dumps(failed.to_json(), indent=2, ensure_ascii=False))
        else:
            for line in err.lines():
                _say(line, err=True)
        sys.exit(err.exit_code)


def _finish(outcome: Outcome, *, as_json: bool = False, quiet: bool = False) -> None:
    """Print an outcome the same way for every command, then exit with its code."""
    if as_json:
        click.echo(json.dumps(outcome.to_json(), indent=2, ensure_ascii=False))
        sys.exit(outcome.exit_code)
    for line in outcome.messages if quiet else [*outcome.messages, *outcome.notes]:
        _say(line, err=True)
    if outcome.document is not None:
        click.echo(outcome.document, nl=False)
    for line in outcome.lines:
        click.echo(line)
    if outcome.summary and not quiet:
        click.echo(outcome.summary, err=outcome.summary_stream == "stderr")
    sys.exit(outcome.exit_code)


def _json_option(func: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print the result as one JSON object for tools."
    )(func)


def _install_folder(into: Path | None, user: bool) -> Path:
    """`--into DIR`, or the home folder for `--user`: exactly one of them."""
    if user and into is not None:
        raise click.UsageError("give --into DIR or --user, not both")
    if user:
        return Path.home()
    if into is None:
        raise click.UsageError("give --into DIR (a project folder) or --user (every project)")
    return into


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
@_json_option
def build(
    root: Path | None,
    check_only: bool,
    targets: tuple[str, ...],
    agents: tuple[str, ...],
    strict: bool,
    quiet: bool,
    jobs: int | None,
    as_json: bool,
) -> None:
    """Render every agent for every target into the output folder (dist/).

    Everything is rendered and validated before anything is written; only changed files
    are rewritten and outputs no longer produced are removed. dist/manifest.json records
    every output with its digest and the sources it came from. When no source and no
    output changed since the last full build, it stops early (see .promptbundle-cache/).
    """

    # Imported when run: `promptbundle build` with nothing to do starts in a tenth
    # of a second, without Jinja, markdown-it or the formats.
    from promptbundle.commands import build as command

    with _handle_errors("build", as_json=as_json):
        outcome = command.run_build(
            root, targets=targets, agents=agents, strict=strict, check=check_only, jobs=jobs
        )
    _finish(outcome, as_json=as_json, quiet=quiet)


@main.command("import")
@_root_option
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--into",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The bundle folder the sources go into (default: the bundle's root).",
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
@_json_option
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

    from promptbundle.commands import import_ as command

    with _handle_errors("import", as_json=as_json):
        outcome = command.run_import_command(
            list(paths),
            root=root,
            into=into,
            format_name=format_name,
            check=check_only,
            force=force,
        )
    _finish(outcome, as_json=as_json)


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
@click.option(
    "--allow-dirty",
    is_flag=True,
    help='Package uncommitted changes too (the manifest records "clean": false).',
)
@_json_option
def package(
    root: Path | None,
    out: Path | None,
    version: str | None,
    since: str | None,
    allow_dirty: bool,
    as_json: bool,
) -> None:
    """Build afresh and write reproducible release archives with SHA256SUMS.

    Writes <bundle>-<version>.tar.gz and .zip (every output plus manifest.json) and
    SHA256SUMS. The same commit gives the same bytes: times come from SOURCE_DATE_EPOCH
    or the last commit, owners and modes are fixed.
    """

    from promptbundle.commands import package as command

    with _handle_errors("package", as_json=as_json):
        outcome = command.run_package(
            root, out=out, version=version, since=since, allow_dirty=allow_dirty
        )
    _finish(outcome, as_json=as_json)


@main.command()
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@_json_option
def verify(archive: Path, as_json: bool) -> None:
    """Check every file of a release archive against its manifest.json.

    Names each missing, altered and extra file, and checks the archive against a SHA256SUMS
    beside it; exits 1 on any mismatch.
    """

    from promptbundle.commands import package as command

    with _handle_errors("verify", as_json=as_json):
        outcome = command.run_verify(archive)
    _finish(outcome, as_json=as_json)


@main.command()
@_root_option
@click.argument("targets", nargs=-1, metavar="[TARGET]...")
@click.option(
    "--into",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Project folder to install into (e.g. .).",
)
@click.option(
    "--user",
    is_flag=True,
    help="Install for every project: into the home folder, where each tool reads user files.",
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
@click.option(
    "--skip-modified",
    is_flag=True,
    help="Leave files changed since they were installed as they are; show how they differ.",
)
@_json_option
def install(
    root: Path | None,
    targets: tuple[str, ...],
    into: Path | None,
    user: bool,
    from_archive: Path | None,
    dry_run: bool,
    force: bool,
    skip_modified: bool,
    as_json: bool,
) -> None:
    """Copy targets' outputs where each tool reads them (default: every target).

    claude-code goes to INTO/.claude/, opencode to INTO/.opencode/ (AGENTS.md to INTO/),
    agent-skill to INTO/.agents/skills/, claude-plugin is a marketplace rooted at INTO, and
    the bundle's own files/ go to INTO/. With --user instead of --into: claude-code to
    ~/.claude/ (CLAUDE.md included), opencode to ~/.config/opencode/, gemini to ~/.gemini/,
    agent-skill to ~/.agents/skills/. What is written is recorded in
    INTO/.promptbundle-install.json; the next install removes only recorded files no longer
    produced. Files it did not write, or that changed since, are never overwritten or
    removed without --force.
    """
    from promptbundle.commands import install as command

    with _handle_errors("install", as_json=as_json):
        outcome = command.run_install(
            root,
            targets=targets,
            into=_install_folder(into, user),
            user=user,
            dry_run=dry_run,
            force=force,
            from_archive=from_archive,
            skip_modified=skip_modified,
        )
    _finish(outcome, as_json=as_json)


@main.command()
@_root_option
@click.argument("targets", nargs=-1, metavar="[TARGET]...")
@click.option(
    "--into",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The folder an earlier install wrote into.",
)
@click.option("--user", is_flag=True, help="Remove what `install --user` wrote.")
@click.option("--dry-run", is_flag=True, help="Print the plan; remove nothing.")
@click.option("--force", is_flag=True, help="Remove files changed since they were installed too.")
@_json_option
def uninstall(
    root: Path | None,
    targets: tuple[str, ...],
    into: Path | None,
    user: bool,
    dry_run: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Remove what installs of this bundle wrote (default: every target it installed).

    Only files recorded in INTO/.promptbundle-install.json for this bundle are removed, and
    a file changed since it was installed is kept unless --force; folders left empty go too.
    """
    from promptbundle.commands import uninstall as command

    with _handle_errors("uninstall", as_json=as_json):
        outcome = command.run_uninstall(
            root, targets=targets, into=_install_folder(into, user), dry_run=dry_run, force=force
        )
    _finish(outcome, as_json=as_json)


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
@_json_option
def diff(
    root: Path | None,
    base: str | None,
    head: str | None,
    fmt: str,
    stat: bool,
    targets: tuple[str, ...],
    agents: tuple[str, ...],
    as_json: bool,
) -> None:
    """Show how the rendered outputs differ between two revisions, grouped by cause.

    BASE defaults to the merge base of HEAD with the default branch (origin/HEAD, else
    main or master); HEAD defaults to the working tree. Both are built in memory from
    temporary exports; the checkout and dist/ are never touched. Exits 0 when no output
    changed, 1 when some did, 2 on error.
    """

    from promptbundle.commands import diff as command

    with _handle_errors("diff", as_json=as_json):
        outcome = command.run_diff(
            root, base, head, fmt=fmt, stat=stat, targets=targets, agents=agents
        )
    _finish(outcome, as_json=as_json)


@main.command()
@_root_option
@click.argument("path")
@_json_option
def explain(root: Path | None, path: str, as_json: bool) -> None:
    """Show where an output comes from, or every output a source reaches.

    PATH is an output (claude-code/agents/x.md, with or without the dist/ prefix) or a
    source (agents/x.md, fragments/testing.md, targets/opencode.toml).
    """

    from promptbundle.commands import explain as command

    with _handle_errors("explain", as_json=as_json):
        outcome = command.run_explain(root, path)
    _finish(outcome, as_json=as_json)


@main.command()
@_root_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: `path:line:col: severity: message [code]` lines; json: as --json.",
)
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@_json_option
def check(root: Path | None, output_format: str, strict: bool, as_json: bool) -> None:
    """Lint the sources and validate every output for its real client; write nothing.

    Finds undefined variables, unknown filters, include cycles, unused fragments, heading
    jumps, unclosed code fences, duplicate agents and pasted paragraphs, and every output
    field its client would reject or ignore. Exit 1 on errors (and warnings with --strict).
    Codes are listed in docs/checks.md.
    """

    as_json = as_json or output_format == "json"
    from promptbundle.commands import check as command

    with _handle_errors("check", as_json=as_json):
        outcome = command.run_check(root, strict=strict)
    _finish(outcome, as_json=as_json)


@main.command()
@_root_option
@click.option(
    "--apply",
    is_flag=True,
    help="Write the fragments and rewrite the sources, if a rebuild changes no output.",
)
@click.option(
    "--min-uses",
    type=int,
    default=2,
    show_default=True,
    metavar="N",
    help="Only text repeated in at least N prompts.",
)
@click.option(
    "--min-lines",
    type=int,
    default=1,
    show_default=True,
    metavar="N",
    help="Only text of at least N lines.",
)
@click.option(
    "--only", multiple=True, metavar="ID", help="Only this proposal (repeatable; see the report)."
)
@_json_option
def extract(
    root: Path | None,
    apply: bool,
    min_uses: int,
    min_lines: int,
    only: tuple[str, ...],
    as_json: bool,
) -> None:
    """Find text the prompts repeat and propose fragments for it, ranked by lines saved.

    Exact repeats become plain fragments; paragraphs with one skeleton and varying slots
    (names, roles) become fragments with variables, called as fragment("x", role="...").
    Near-duplicates (80% alike or more, different wording) are shown with their diff for a
    person to unify; they are never merged. With --apply, the fragments are written and the
    sources rewritten only if a rebuild gives every output the same bytes; otherwise nothing
    is written and the outputs that would change are named (exit 1).
    """

    from promptbundle.commands import extract as command

    with _handle_errors("extract", as_json=as_json):
        outcome = command.run_extract(
            root, apply=apply, min_uses=min_uses, min_lines=min_lines, only=only
        )
    _finish(outcome, as_json=as_json)


@main.command()
@click.argument(
    "folder", metavar="[DIR]", required=False, type=click.Path(file_okay=False, path_type=Path)
)
@click.option(
    "--requirement",
    metavar="SPEC",
    default=None,
    help="What the CI workflow and pre-commit hooks pip-install (default: the git URL and "
    "commit this promptbundle came from, else promptbundle==VERSION).",
)
@_json_option
def init(folder: Path | None, requirement: str | None, as_json: bool) -> None:
    """Start a bundle in DIR (default: the current folder; created when missing).

    Writes promptbundle.toml, a reviewer agent, a /review command and an AGENTS.md rule built
    from two fragments, a snapshot test, a Makefile, a .gitignore, a CI workflow and a
    pre-commit config: it builds, checks and passes its tests at once (after
    `pytest --snapshot-update` records the first snapshots). Writes nothing, and exits 1
    naming them, if any of these files exists.
    """

    from promptbundle.commands import init as command

    with _handle_errors("init", as_json=as_json):
        outcome = command.run_init(folder, requirement=requirement)
    _finish(outcome, as_json=as_json)


@main.command()
@_root_option
@click.option(
    "--strict", is_flag=True, help="Treat dropped fields (lossiness) and warnings as errors."
)
def watch(root: Path | None, strict: bool) -> None:
    """Build, then rebuild whenever a source changes, until Ctrl-C.

    Prints the files that changed and the build's result each time: its errors, located at
    the sources, or its summary. A failed build never stops the watch. The output folder,
    .promptbundle-cache/, .git and virtual environments are not watched.
    """

    from promptbundle.commands import watch as command

    def echo(line: str, to_stderr: bool) -> None:
        click.echo(line, err=to_stderr)

    with _handle_errors("watch"):
        code = command.watch_bundle(root, echo, strict=strict)
    sys.exit(code)


@main.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL (bash, zsh or fish).

    \b
    bash: promptbundle completion bash > ~/.local/share/bash-completion/completions/promptbundle
    zsh:  promptbundle completion zsh > "${fpath[1]}/_promptbundle"
    fish: promptbundle completion fish > ~/.config/fish/completions/promptbundle.fish
    """
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - click knows the three shells the choice allows
        raise click.UsageError(f"no completion for {shell}")
    script = cls(main, {}, "promptbundle", "_PROMPTBUNDLE_COMPLETE").source()
    click.echo(script, nl=not script.endswith("\n"))


if __name__ == "__main__":  # pragma: no cover
    main()
