"""Import a whole project folder: every file at its path, each prompt as a source of its kind.

A folder is read the way the tools read it: `.claude/` (agents, commands, skills, rules),
`.opencode/`, Claude Code plugins (a folder with `.claude-plugin/plugin.json`, the project
itself included) and marketplaces, AGENTS.md and CLAUDE.md, Copilot and Cursor files, skill
folders. Each prompt becomes a source of its kind (in its plugin's folder when it belongs to
one) that records the path it came from, so its native target writes it back there byte for
byte; a skill's other files go with it; every other file is carried byte for byte
(`files/<path>`, or the plugin's folder). Nothing is left out without a reason.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from promptbundle.build.pipeline import CARRIED_TARGET, build_outputs, load
from promptbundle.core.errors import UsageError
from promptbundle.core.files import atomic_write, check_paths_inside, resolve_inside
from promptbundle.core.model import ID_PATTERN, OutputFile, TargetConfig
from promptbundle.formats.registry import FORMATS, TEXT_SUFFIXES, Unsupported, detect_format
from promptbundle.importing.convert import (
    ImportedAgent,
    convert_file,
    convert_part,
    kind_of,
    read_parts,
    slugify,
    with_targets,
)
from promptbundle.importing.targets import LAID_OUT_OTHERWISE, narrowings
from promptbundle.release.install import relocate
from promptbundle.sources.prompts import is_valid_id

__all__ = [
    "PlannedPrompt",
    "TreeCheck",
    "TreeImport",
    "TreePlan",
    "carry_rewritten",
    "check_tree",
    "convert_plan",
    "import_tree",
    "plan_tree",
    "tree_targets",
    "write_tree",
]

PLUGIN_MANIFEST = ".claude-plugin/plugin.json"
SKILL_FILE = "SKILL.md"
# Folder names (at any depth) that hold prompts of a kind.
_KIND_OF_FOLDER = {
    "agents": "agent",
    "agent": "agent",
    "commands": "command",
    "command": "command",
}
_RULE_FILES = {"CLAUDE.md": "claude-code", "AGENTS.md": "opencode"}


@dataclass(frozen=True)
class PlannedPrompt:
    """A prompt file of the project and how it is imported."""

    rel: str
    kind: str
    prompt_id: str
    plugin: str
    format: str
    # A skill's other files, relative to its folder.
    resources: tuple[str, ...] = ()
    # Which prompt of a file that holds several (a mode of `.roomodes`); None: the file.
    part: int | None = None


@dataclass
class TreePlan:
    """Where every file of a project goes in the bundle."""

    root: Path
    # Plugin name -> its folder in the project ("." for the project itself).
    plugins: dict[str, str] = field(default_factory=dict)
    prompts: list[PlannedPrompt] = field(default_factory=list)
    # (path in the project, plugin or "") of every file carried byte for byte.
    carried: list[tuple[str, str]] = field(default_factory=list)
    unsupported: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Prompts converted into sources, and prompt files carried instead (with the reason).
    converted: list[ImportedAgent] = field(default_factory=list)


def _files(root: Path) -> list[str]:
    """Every file under `root` (not inside .git), relative and sorted."""
    found = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if ".git" in rel.parts:
            continue
        if path.is_symlink() or path.is_file():
            found.append(rel.as_posix())
    return found


def _plugins(files: list[str]) -> dict[str, str]:
    """Plugin name -> folder, for every folder holding `.claude-plugin/plugin.json`."""
    found: dict[str, str] = {}
    for rel in files:
        if rel == PLUGIN_MANIFEST or rel.endswith("/" + PLUGIN_MANIFEST):
            folder = rel[: -len(PLUGIN_MANIFEST)].rstrip("/") or "."
            name = slugify(PurePosixPath(folder).name if folder != "." else "")
            if folder == ".":
                name = "plugin"
            base, number = name, 2
            while name in found:
                name, number = f"{base}-{number}", number + 1
            found[name] = folder
    return found


def _plugin_of(rel: str, plugins: Mapping[str, str]) -> tuple[str, str]:
    """(plugin name, path inside its folder) of a file; ("", rel) outside every plugin. The
    deepest plugin folder wins."""
    best = ("", rel)
    depth = -1
    for name, folder in plugins.items():
        if folder == ".":
            inside, level = rel, 0
        elif rel.startswith(folder + "/"):
            inside, level = rel[len(folder) + 1 :], folder.count("/") + 1
        else:
            continue
        if level > depth:
            best, depth = (name, inside), level
    return best


def _claimed(rel: str) -> tuple[str, str, str] | None:
    """(kind, id, format) of a file where a tool reads prompts of a kind (`project_files`
    of the formats, in their detection order); None for any other file."""
    for cls in sorted(FORMATS.values(), key=lambda cls: (cls.detect_order, cls.name)):
        found = cls.project_file(rel)
        if found is not None:
            return (*found, cls.name)
    return None


def _native(kind: str, rel: str, plugin: str) -> str:
    """The format a prompt file at `rel` was written for, by where it lives."""
    claimed = None if plugin else _claimed(rel)
    if claimed is not None and claimed[0] == kind:
        return claimed[2]
    parts = rel.split("/")
    if ".opencode" in parts:
        return "opencode"
    if plugin and kind != "rule":
        return "claude-plugin"
    if kind == "skill" and ".claude" not in parts:
        return "agent-skill"
    return "claude-code"


def _skill_folders(files: list[str]) -> dict[str, str]:
    """Skill folder -> its SKILL.md, for every `skills/<id>/SKILL.md` (or `skill/`)."""
    found = {}
    for rel in files:
        parts = rel.split("/")
        if parts[-1] == SKILL_FILE and len(parts) >= 3 and parts[-3] in ("skills", "skill"):
            found["/".join(parts[:-1])] = rel
    return found


def _kind_and_id(rel: str) -> tuple[str, str] | None:
    """(kind, id) of a prompt file by its place: under an agents/ or commands/ folder, a
    rule file (CLAUDE.md, AGENTS.md, .claude/rules/, Copilot and Cursor rules)."""
    parts = rel.split("/")
    name = parts[-1]
    if rel.startswith(".claude/rules/") and name.endswith(".md"):
        return "rule", rel[len(".claude/rules/") : -len(".md")]
    if name in _RULE_FILES:
        return "rule", rel[: -len(".md")]
    if rel == ".github/copilot-instructions.md":
        return "rule", "copilot-instructions"
    if name.endswith(".instructions.md"):
        return "rule", name[: -len(".instructions.md")]
    if name.endswith(".mdc") and {".cursor", "rules"} <= set(parts):
        return "rule", name[: -len(".mdc")]
    if not name.endswith(".md") or name.lower() == "readme.md":
        return None
    for index in range(len(parts) - 2, -1, -1):
        kind = _KIND_OF_FOLDER.get(parts[index])
        if kind is not None:
            return kind, "/".join(parts[index + 1 :])[: -len(".md")]
    return None


def _rule_format(rel: str, default: str) -> str:
    name = rel.rsplit("/", 1)[-1]
    if name.endswith(".instructions.md") or rel == ".github/copilot-instructions.md":
        return "copilot"
    if name.endswith(".mdc"):
        return "cursor"
    if rel.startswith(".claude/rules/"):
        return "claude-code"
    return _RULE_FILES.get(name, default)


def _opencode_instructions(root: Path, files: list[str]) -> set[str]:
    """Files an `opencode.json` at the root names as instructions (exact paths)."""
    if "opencode.json" not in files:
        return set()
    try:
        data = json.loads((root / "opencode.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    listed = data.get("instructions") if isinstance(data, dict) else None
    if not isinstance(listed, list):
        return set()
    wanted = {str(item) for item in listed}
    return {rel for rel in files if rel in wanted or any(_matches(rel, w) for w in wanted)}


def _matches(rel: str, pattern: str) -> bool:
    return "*" in pattern and PurePosixPath(rel).match(pattern)


def plan_tree(root: Path) -> TreePlan:
    """Where every file of the project at `root` goes in a bundle."""
    if not root.is_dir():
        raise UsageError(f"not a folder: {root}")
    files = _files(root)
    plan = TreePlan(root=root, plugins=_plugins(files))
    claimed = _plan_skills(plan, files)
    instructions = _opencode_instructions(root, files)
    for rel in files:
        if rel not in claimed:
            _plan_file(plan, rel, instructions)
    return plan


def _plan_skills(plan: TreePlan, files: list[str]) -> set[str]:
    """Plan every skill folder (its SKILL.md and resources); the files they claim."""
    skills = _skill_folders(files)
    claimed: set[str] = set()
    for folder, skill in sorted(skills.items()):
        resources = tuple(
            rel[len(folder) + 1 :]
            for rel in files
            if rel.startswith(folder + "/")
            and rel != skill
            and not _inside_other(rel, folder, skills)
        )
        plugin, _ = _plugin_of(skill, plan.plugins)
        skill_id = PurePosixPath(folder).name
        fmt = _native("skill", skill, plugin)
        plan.prompts.append(PlannedPrompt(skill, "skill", skill_id, plugin, fmt, resources))
        claimed.add(skill)
        claimed.update(f"{folder}/{r}" for r in resources)
    return claimed


def _plan_file(plan: TreePlan, rel: str, instructions: set[str]) -> None:
    """Plan one file that no skill claims: a prompt of the kind its place says, a loose
    prompt file, or a file carried byte for byte."""
    if _plan_parts(plan, rel) or _plan_claimed(plan, rel):
        return
    found = _kind_and_id(rel)
    if found is None and rel in instructions:
        found = ("rule", rel.rsplit(".", 1)[0])
    if found is None:
        loose = _loose_prompt(plan.root, rel)
        if loose is not None:
            plan.prompts.append(loose)
        else:
            plan.carried.append((rel, _plugin_of(rel, plan.plugins)[0]))
        return
    kind, prompt_id = found
    plugin = "" if kind == "rule" else _plugin_of(rel, plan.plugins)[0]
    fmt = _native(kind, rel, plugin)
    if kind == "rule":
        fmt = "opencode" if rel in instructions else _rule_format(rel, fmt)
    plan.prompts.append(PlannedPrompt(rel, kind, prompt_id, plugin, fmt))


def _plan_claimed(plan: TreePlan, rel: str) -> bool:
    """Plan a file outside every plugin where a tool reads prompts of a kind; whether it is
    one."""
    claimed = _claimed(rel)
    if claimed is None or _plugin_of(rel, plan.plugins)[0]:
        return False
    kind, prompt_id, fmt = claimed
    plan.prompts.append(PlannedPrompt(rel, kind, prompt_id, "", fmt))
    return True


def _plan_parts(plan: TreePlan, rel: str) -> bool:
    """Plan each agent of a file that holds several (`.roomodes`); whether `rel` is one."""
    if (plan.root / rel).is_symlink():
        return False
    for cls in FORMATS.values():
        if rel not in cls.parts_files:
            continue
        try:
            parts = read_parts(cls.name, plan.root / rel, (plan.root / rel).read_bytes())
        except Unsupported as why:
            plan.notes.append(f"{rel}: carried byte for byte, not modelled: {why}")
            plan.carried.append((rel, ""))
            return True
        for index, (part_id, _, _) in enumerate(parts):
            plan.prompts.append(PlannedPrompt(rel, "agent", part_id, "", cls.name, part=index))
        return True
    return False


def _loose_prompt(root: Path, rel: str) -> PlannedPrompt | None:
    """A prompt file outside the folders the tools read (a collection of agent files): the
    format its name and frontmatter show, or None (carried). READMEs stay documents."""
    path = root / rel
    if path.name.lower() == "readme.md" or path.is_symlink():
        return None
    if path.suffix.lower() not in TEXT_SUFFIXES:
        return None
    try:
        fmt = detect_format(path, path.read_bytes().decode("utf-8"))
    except (Unsupported, UnicodeDecodeError, OSError):
        return None
    kind = kind_of(fmt, path)
    stem = PurePosixPath(rel).name.split(".", 1)[0]
    if kind == "skill" and FORMATS[fmt].carries_resources:
        return None  # a SKILL.md outside a skills/<id>/ folder has no folder to stand for
    return PlannedPrompt(rel, kind, stem, "", fmt)


def _inside_other(rel: str, folder: str, skills: Mapping[str, str]) -> bool:
    """Whether `rel` belongs to a skill folder nested inside `folder`."""
    return any(
        other != folder and other.startswith(folder + "/") and rel.startswith(other + "/")
        for other in skills
    )


def convert_plan(plan: TreePlan) -> None:
    """Convert every planned prompt; one that cannot be modelled is carried instead."""
    taken: dict[tuple[str, str], set[str]] = {}
    for item in plan.prompts:
        path = plan.root / item.rel
        ids = taken.setdefault((item.plugin, item.kind), set())
        prompt_id = _unique(_valid_id(item.kind, item.prompt_id), ids)
        ids.add(prompt_id)
        try:
            if path.is_symlink():
                raise Unsupported("a symbolic link")
            if not is_valid_id(item.kind, prompt_id):
                raise Unsupported(f"{prompt_id!r} cannot be a {item.kind} id")
            agent = (
                _convert(plan, item, prompt_id)
                if item.part is not None
                else convert_file(
                    path,
                    path.read_bytes(),
                    format_name=item.format,
                    label=item.rel,
                    agent_id=prompt_id,
                    kind=item.kind,
                    plugin=item.plugin,
                    recorded=item.rel,
                )
            )
        except Unsupported as why:
            plan.notes.append(f"{item.rel}: carried byte for byte, not modelled: {why}")
            plan.carried.append((item.rel, item.plugin if item.kind != "rule" else ""))
            plan.carried += [
                (f"{PurePosixPath(item.rel).parent}/{r}", item.plugin) for r in item.resources
            ]
            continue
        plan.converted.append(agent)
    carried = []
    for rel, plugin in dict.fromkeys(plan.carried):
        if (plan.root / rel).is_symlink():
            plan.unsupported.append(
                (rel, "a symbolic link is not carried (it could lead out of the project)")
            )
        else:
            carried.append((rel, plugin))
    plan.carried = sorted(carried)


def _convert(plan: TreePlan, item: PlannedPrompt, prompt_id: str) -> ImportedAgent:
    """One agent of a file that holds several."""
    path = plan.root / item.rel
    return convert_part(
        path,
        path.read_bytes(),
        item.part or 0,
        fmt=item.format,
        agent_id=prompt_id,
        label=item.rel,
        recorded=item.rel,
    )


def _valid_id(kind: str, prompt_id: str) -> str:
    """The id as the bundle needs it: lowercase-hyphen parts for agents and skills."""
    if kind not in ("agent", "skill"):
        return "/".join(part.replace(" ", "-") for part in prompt_id.split("/"))
    parts = [part if ID_PATTERN.match(part) else slugify(part) for part in prompt_id.split("/")]
    return "/".join(parts) if kind == "agent" else parts[-1]


def _unique(prompt_id: str, taken: set[str]) -> str:
    candidate, number = prompt_id, 2
    while candidate in taken:
        candidate, number = f"{prompt_id}-{number}", number + 1
    return candidate


def write_tree(plan: TreePlan, into: Path, *, name: str, targets: list[str]) -> list[Path]:
    """Write the bundle: config (when there is none), plugins, sources, resources and
    carried files. Returns every file written."""
    written: list[Path] = []
    has_config = (into / "promptbundle.toml").exists() or (into / "pyproject.toml").exists()
    files = list(_bundle_files(plan, name=name, targets=targets, config=not has_config))
    check_paths_inside(into, [rel for rel, _ in files])
    for rel, data in files:
        path = into / rel
        atomic_write(path, data)
        written.append(path)
    return written


def _bundle_files(
    plan: TreePlan, *, name: str, targets: list[str], config: bool
) -> Iterator[tuple[str, bytes]]:
    """(path in the bundle, bytes) of every file the import writes."""
    if config:
        listed = ", ".join(f'"{t}"' for t in targets)
        yield (
            "promptbundle.toml",
            f'name = "{name}"\nversion = "0.0.0"\ntargets = [{listed}]\n'.encode(),
        )
    plugins = {a.plugin for a in plan.converted if a.plugin} | {p for _, p in plan.carried if p}
    for plugin in sorted(plugins):
        yield (
            f"plugins/{plugin}/plugin.toml",
            (f'name = "{plugin}"\npath = "{plan.plugins[plugin]}"\n'.encode()),
        )
    resources = {item.rel: item.resources for item in plan.prompts if item.kind == "skill"}
    for agent in plan.converted:
        yield agent.source_rel, agent.text.encode("utf-8")
        skill_dir = PurePosixPath(agent.source_rel).parent
        for resource in resources.get(agent.source.relative_to(plan.root).as_posix(), ()):
            yield f"{skill_dir}/{resource}", (agent.source.parent / resource).read_bytes()
    for rel, plugin in plan.carried:
        yield _carried_place(plan, rel, plugin), (plan.root / rel).read_bytes()


def _carried_place(plan: TreePlan, rel: str, plugin: str) -> str:
    """Where a carried file goes in the bundle: its plugin's folder, or files/."""
    if not plugin:
        return f"files/{rel}"
    folder = plan.plugins[plugin]
    return f"plugins/{plugin}/{rel if folder == '.' else rel[len(folder) + 1 :]}"


def tree_targets(plan: TreePlan) -> list[str]:
    """The targets that write the project's files back: every native format used."""
    return sorted(
        {agent.format for agent in plan.converted} | ({"claude-plugin"} if plan.plugins else set())
    )


@dataclass
class TreeImport:
    """What importing a project wrote, and how its files were taken."""

    written: list[Path] = field(default_factory=list)
    # Paths in the project of the files carried byte for byte.
    carried_paths: list[str] = field(default_factory=list)
    prompts: int = 0
    modelled: int = 0
    carried: int = 0
    unsupported: list[tuple[str, str]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    narrowed: int = 0

    @property
    def summary(self) -> str:
        return (
            f"imported {self.modelled} of {self.prompts} prompt file(s) as sources, carried "
            f"{self.carried} file(s) byte for byte, {len(self.unsupported)} unsupported"
            + (f"; {self.narrowed} prompt(s) narrowed" if self.narrowed else "")
        )


def import_tree(root: Path, into: Path, *, force: bool = False) -> TreeImport:
    """Import the project at `root` into the bundle folder `into` (created when needed)."""
    plan = plan_tree(root)
    convert_plan(plan)
    carry_rewritten(plan)
    config_exists = (into / "promptbundle.toml").exists() or (into / "pyproject.toml").exists()
    clashes = [p for p in _destinations(plan) if (into / p).exists()]
    if clashes and not force:
        raise UsageError(
            f"{len(clashes)} file(s) already exist in {into} (first: {clashes[0]}); "
            "import into an empty folder, or use --force to replace them"
        )
    result = TreeImport(
        prompts=len(plan.prompts),
        modelled=len(plan.converted),
        carried=len(plan.carried),
        carried_paths=[rel for rel, _ in plan.carried],
        unsupported=list(plan.unsupported),
        messages=list(plan.notes),
    )
    result.written = write_tree(
        plan, into, name=slugify(root.resolve().name), targets=tree_targets(plan)
    )
    if config_exists:
        result.messages.append(
            f"{into}: note: the bundle's own targets are kept; the project's files are written "
            f"back by {', '.join(tree_targets(plan))}"
        )
    result.narrowed = _narrow(plan, into)
    result.messages += [f"{rel}: unsupported: {why}" for rel, why in plan.unsupported]
    return result


def carry_rewritten(plan: TreePlan) -> None:
    """Carry instead the files modelled from their fields (TOML, JSON, `.roomodes`) that the
    import, built, would not write back byte for byte: laid out otherwise than promptbundle
    writes them, or (a `.roomodes`) joined by the project's other agents."""
    structured = [agent for agent in plan.converted if agent.structured]
    if not structured:
        return
    with tempfile.TemporaryDirectory(prefix="promptbundle-tree-") as folder:
        write_tree(plan, Path(folder), name="check", targets=tree_targets(plan))
        bundle = load(Path(folder))
        installed = _installed(bundle.config.targets, build_outputs(bundle).outputs)
    rels = {agent.source.relative_to(plan.root).as_posix() for agent in structured}
    rewritten = sorted(rel for rel in rels if installed.get(rel) != (plan.root / rel).read_bytes())
    for rel in rewritten:
        plan.notes.append(f"{rel}: carried byte for byte, not modelled: {LAID_OUT_OTHERWISE}")
        plan.carried.append((rel, ""))
    plan.converted = [
        agent
        for agent in plan.converted
        if agent.source.relative_to(plan.root).as_posix() not in rewritten
    ]
    plan.carried.sort()


def _destinations(plan: TreePlan) -> list[str]:
    return [agent.source_rel for agent in plan.converted] + [
        _carried_place(plan, rel, plugin) for rel, plugin in plan.carried
    ]


def _narrow(plan: TreePlan, into: Path) -> int:
    """Give each imported prompt whose output fails a target's rules `targets:` listing the
    targets that pass (its native target always does); the number narrowed."""
    result = build_outputs(load(into))
    by_label = {agent.label: agent for agent in plan.converted}
    found = narrowings(result, list(by_label))
    for label, narrowing in found.items():
        agent = with_targets(by_label[label], narrowing.kept)
        atomic_write(resolve_inside(into, agent.source_rel), agent.text.encode("utf-8"))
    return len(found)


@dataclass
class TreeCheck:
    """How many files of a project a rebuild reproduces at the same path, byte for byte."""

    files: int = 0
    reproduced: int = 0
    carried: int = 0
    unsupported: int = 0
    prompts: int = 0
    modelled: int = 0
    missing: list[tuple[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "files": self.files,
            "reproduced": self.reproduced,
            "carried": self.carried,
            "unsupported": self.unsupported,
            "prompts": self.prompts,
            "modelled": self.modelled,
            "not_reproduced": [{"path": p, "reason": r} for p, r in self.missing],
        }


def check_tree(root: Path) -> TreeCheck:
    """Import `root` into a throwaway bundle, build every target, install them all in memory
    and compare every file of the project with what the install would write."""
    with tempfile.TemporaryDirectory(prefix="promptbundle-tree-") as folder:
        bundle_dir = Path(folder)
        imported = import_tree(root, bundle_dir)
        bundle = load(bundle_dir)
        result = build_outputs(bundle)
        installed = _installed(bundle.config.targets, result.outputs)
    carried_paths = set(imported.carried_paths)
    check = TreeCheck(
        files=len(_files(root)),
        unsupported=len(imported.unsupported),
        prompts=imported.prompts,
        modelled=imported.modelled,
    )
    unsupported = dict(imported.unsupported)
    for rel in _files(root):
        if rel in unsupported:
            check.missing.append((rel, unsupported[rel]))
            continue
        data = installed.get(rel)
        if data is None:
            check.missing.append((rel, "not written by any target"))
        elif data != (root / rel).read_bytes():
            check.missing.append((rel, "written with other bytes"))
        else:
            check.reproduced += 1
            check.carried += rel in carried_paths
    return check


def _installed(targets: Sequence[TargetConfig], outputs: Sequence[OutputFile]) -> dict[str, bytes]:
    """Project path -> bytes, as installing every target (and the bundle's files) would write."""
    prefixes = {CARRIED_TARGET: ""}
    for target in targets:
        # A format that is not installed (a skill table) is compared as its output folder.
        prefixes[target.name] = FORMATS[target.format].install_prefix or ""
    found: dict[str, bytes] = {}
    for name, prefix in prefixes.items():
        files = {o.path: o.content for o in outputs if o.target == name}
        for rel, data in relocate(prefix, name, files).items():
            found.setdefault(rel, data)
    return found
