"""Load a whole bundle: prompts of every kind, fragments, plugins and carried files.

```
agents/**/*.md        commands/**/*.md        skills/<id>/SKILL.md (+ resources)
rules/**/*.md         fragments/**/*.md       files/**  (carried byte for byte)
plugins/<name>/       plugin.toml, its own agents/ commands/ skills/ rules/, other files
```
Each kind has its own ids (a skill and an agent may share a name); nested folders are part
of the id (`commands/git/commit.md` is `git/commit`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from promptbundle.core import regular
from promptbundle.core.errors import Location, PromptBundleError, SourceError, raise_collected
from promptbundle.core.lines import key_line
from promptbundle.core.model import (
    KIND_FOLDERS,
    Bundle,
    BundleConfig,
    CarriedFile,
    KnownFormats,
    Plugin,
    Prompt,
)
from promptbundle.core.tools import unknown_tool
from promptbundle.sources.plugins import PLUGIN_FILE, load_plugin
from promptbundle.sources.prompts import load_prompt, read_source

__all__ = ["CARRIED_FOLDER", "PLUGINS_FOLDER", "load_bundle", "read_bundle", "readmes_like_prompts"]

CARRIED_FOLDER = "files"
PLUGINS_FOLDER = "plugins"
SKILL_FILE = "SKILL.md"


def load_bundle(config: BundleConfig, *, formats: KnownFormats) -> Bundle:
    """Load every prompt, plugin and carried file; all problems are reported together."""
    bundle, errors = read_bundle(config, formats=formats)
    raise_collected(errors)
    return bundle


def read_bundle(
    config: BundleConfig, *, formats: KnownFormats
) -> tuple[Bundle, list[PromptBundleError]]:
    """Everything that loads, and the problems of what does not (for `check`)."""
    root = config.root
    known_targets = {t.name for t in config.targets}
    errors: list[PromptBundleError] = []
    prompts = _load_prompts(root, root, "", known_targets, formats, errors)
    files = _root_files(root, errors)
    _check_fragment_files(root, errors)
    plugins: list[Plugin] = []
    for folder in _plugin_folders(root, errors):
        try:
            plugin = load_plugin(folder)
        except PromptBundleError as error:
            errors.append(error)
            continue
        plugins.append(plugin)
        prompts += _load_prompts(root, folder, plugin.name, known_targets, formats, errors)
        files += _plugin_files(root, folder, plugin.name, errors)
    _check_unique(prompts, errors)
    _check_tools(prompts, config, errors)
    bundle = Bundle(
        config=config,
        prompts=tuple(prompts),
        fragments=_fragments(root / "fragments"),
        plugins=tuple(plugins),
        files=tuple(files),
    )
    return bundle, errors


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _walk(
    folder: Path, errors: list[PromptBundleError], *, sources: str = ""
) -> Iterator[tuple[str, Path]]:
    """(path relative to `folder`, path) of every regular file under it, sorted.

    Each entry's type is read with `lstat` before anything opens it: a link, a FIFO, a
    device or a socket is refused (PB006), and so is a folder whose name ends with
    `sources` (`agents/x.md/`); other folders are walked into."""
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*")):
        try:
            mode = path.lstat().st_mode
        except OSError:  # removed while the folder was read
            continue
        if stat.S_ISREG(mode):
            yield path.relative_to(folder).as_posix(), path
        elif not stat.S_ISDIR(mode) or (sources and path.name.endswith(sources)):
            errors.append(_irregular(path))


def _irregular(path: Path) -> SourceError:
    """PB006 for a path that is not a regular file, saying what it is."""
    reason = regular.irregular_reason(path) or "a symbolic link"
    return SourceError(
        f"{reason}, not a regular file (a bundle reads and carries regular files only)",
        Location(path),
        code="PB006",
    )


def _holder_problem(child: Path, inner: str) -> SourceError | None:
    """PB006 when a skill's or a plugin's folder is a link, or its SKILL.md or plugin.toml
    (`inner`) is there but is not a regular file."""
    if child.is_symlink():
        return _irregular(child)
    path = child / inner
    if child.is_dir() and os.path.lexists(path) and (path.is_symlink() or not path.is_file()):
        return _irregular(path)
    return None


def _root_files(root: Path, errors: list[PromptBundleError]) -> list[CarriedFile]:
    return [
        CarriedFile(rel, path, _rel(root, path))
        for rel, path in _walk(root / CARRIED_FOLDER, errors)
    ]


def _check_fragment_files(root: Path, errors: list[PromptBundleError]) -> None:
    """PB006 for each fragment that is not a regular file (the template loader would open
    it): a folder named like one, a FIFO, a device, a link."""
    for _ in _walk(root / "fragments", errors, sources=".md"):
        pass


def _is_readme(path: Path) -> bool:
    return path.name.lower() == "readme.md"


def _load_prompts(
    root: Path,
    base: Path,
    plugin: str,
    known_targets: set[str],
    formats: KnownFormats,
    errors: list[PromptBundleError],
) -> list[Prompt]:
    """The prompts of every kind under `base` (the bundle's root or a plugin's folder)."""
    found: list[Prompt] = []
    for kind, folder_name in KIND_FOLDERS.items():
        folder = base / folder_name
        for prompt_id, path, resources in _prompt_files(kind, folder, errors):
            try:
                found.append(
                    load_prompt(
                        path,
                        _rel(root, path),
                        known_targets,
                        formats,
                        kind=kind,
                        prompt_id=prompt_id,
                        plugin=plugin,
                        resources=resources,
                    )
                )
            except PromptBundleError as error:
                errors.append(error)
    return found


def _prompt_files(
    kind: str, folder: Path, errors: list[PromptBundleError]
) -> Iterator[tuple[str, Path, tuple[str, ...]]]:
    """(id, path, resources) of each prompt file of `kind` in `folder`."""
    if not folder.is_dir():
        return
    if kind != "skill":
        for rel, path in _walk(folder, errors, sources=".md"):
            if rel.endswith(".md") and not _is_readme(path):
                yield rel[: -len(".md")], path, ()
        return
    yield from _skill_files(folder, errors)


def _skill_files(
    folder: Path, errors: list[PromptBundleError]
) -> Iterator[tuple[str, Path, tuple[str, ...]]]:
    """(id, SKILL.md, resources) of each skill folder in `folder`."""
    for child in sorted(folder.iterdir()):
        skill = child / SKILL_FILE
        problem = _holder_problem(child, SKILL_FILE)
        if problem is not None:
            errors.append(problem)
        elif child.is_dir() and skill.is_file():
            resources = tuple(rel for rel, _ in _walk(child, errors) if rel != SKILL_FILE)
            yield child.name, skill, resources
        elif not _is_readme(child):
            errors.append(
                SourceError(
                    f"not a skill: {folder.name}/ holds one folder per skill, each with a "
                    f"{SKILL_FILE}",
                    Location(child),
                )
            )


def _plugin_folders(root: Path, errors: list[PromptBundleError]) -> list[Path]:
    folder = root / PLUGINS_FOLDER
    if not folder.is_dir():
        return []
    found = []
    for child in sorted(folder.iterdir()):
        problem = _holder_problem(child, PLUGIN_FILE)
        if problem is not None:
            errors.append(problem)
        elif child.is_dir() and (child / PLUGIN_FILE).is_file():
            found.append(child)
        elif not _is_readme(child):
            errors.append(
                SourceError(f"not a plugin: no {PLUGIN_FILE} in {child.name}", Location(child))
            )
    return found


def _plugin_files(
    root: Path, folder: Path, plugin: str, errors: list[PromptBundleError]
) -> list[CarriedFile]:
    """A plugin's own files: everything but plugin.toml and its prompts' folders (whose
    problems are reported with the prompts)."""
    kinds = set(KIND_FOLDERS.values())
    carried = []
    own: list[PromptBundleError] = []
    for rel, path in _walk(folder, own):
        top = rel.split("/", 1)[0]
        if rel == PLUGIN_FILE or (top in kinds and rel.endswith(".md")):
            continue
        if top == "skills":  # skill folders belong to their skill (SKILL.md and resources)
            continue
        carried.append(CarriedFile(rel, path, _rel(root, path), plugin))
    errors.extend(e for e in own if _top(e, folder) not in kinds)
    return carried


def _top(error: PromptBundleError, folder: Path) -> str:
    """The first folder of an error's path under `folder` (every walk error has one)."""
    where = Path(error.location.path) if error.location else folder / "."
    return where.relative_to(folder).parts[0] if where != folder else ""


def _check_unique(prompts: list[Prompt], errors: list[PromptBundleError]) -> None:
    seen: dict[tuple[str, str, str], Prompt] = {}
    for prompt in prompts:
        key = (prompt.plugin, prompt.kind, prompt.id)
        if key in seen:
            errors.append(
                SourceError(
                    f"{prompt.kind} {prompt.id!r} is defined twice (also in {seen[key].rel})",
                    Location(prompt.path, 1, 1),
                )
            )
        seen[key] = prompt


def _check_tools(
    prompts: list[Prompt], config: BundleConfig, errors: list[PromptBundleError]
) -> None:
    """PB212 for each tool a prompt lists that no format could know. A prompt imported from a
    tool's file keeps whatever that file listed: its tool read it."""
    extra = {*config.tools, *(name for t in config.targets for name in t.tools)}
    for prompt in prompts:
        if prompt.imported:
            continue
        for tool in prompt.tools or ():
            if (problem := unknown_tool(tool, extra)) is not None:
                errors.append(SourceError(problem, _tool_location(prompt, tool), code="PB212"))


def _tool_location(prompt: Prompt, tool: str) -> Location:
    """Where the prompt's frontmatter lists `tool`: on the `tools` line, or the item below."""
    lines = read_source(prompt.path).splitlines()
    start = key_line("\n".join(lines), "tools") or 1
    for number in range(start, min(start + len(prompt.tools or ()) + 1, len(lines)) + 1):
        column = lines[number - 1].find(tool)
        if column >= 0:
            return Location(prompt.path, number, column + 1)
    return Location(prompt.path, start, 1)


def _fragments(folder: Path) -> tuple[str, ...]:
    if not folder.is_dir():
        return ()
    return tuple(
        sorted(
            p.relative_to(folder).as_posix()
            for p in folder.rglob("*.md")
            if p.is_file() and not _is_readme(p)
        )
    )


def readmes_like_prompts(root: Path) -> list[Path]:
    """README.md files in a prompt folder (of the bundle or a plugin) that open with
    frontmatter: a build leaves every README out, so such a file is never built."""
    bases = [root, *sorted(p for p in (root / PLUGINS_FOLDER).glob("*") if p.is_dir())]
    found = []
    for base in bases:
        for folder in KIND_FOLDERS.values():
            for path in sorted((base / folder).rglob("*")) if (base / folder).is_dir() else []:
                if _is_readme(path) and path.is_file() and _opens_with_frontmatter(path):
                    found.append(path)
    return found


def _opens_with_frontmatter(path: Path) -> bool:
    try:
        head = path.read_bytes()[:8].decode("utf-8", errors="replace")
    except OSError:
        return False
    return head.lstrip("\ufeff").startswith("---")
