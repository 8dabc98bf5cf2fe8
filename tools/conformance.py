#!/usr/bin/env python3
"""Check a built dist/ with the real clients, offline.

    python tools/conformance.py install          # pinned clients into .clients/
    python tools/conformance.py check [DIST]     # every output with its client

Clients (pinned): npm opencode-ai, npm @anthropic-ai/claude-code, PyPI skills-ref
(`agentskills`), npm @google/gemini-cli-core (its agent and skill loaders, run with node) and
npm @openai/codex (`codex debug prompt-input` and `codex app-server`). Each run gets a
temporary HOME and the no-network settings. Exit 1 when any output fails. Standard library
only, so it runs before the project is installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "CLIENTS_DIR",
    "Result",
    "check_dist",
    "claude_validate",
    "codex_check",
    "gemini_check",
    "install",
    "opencode_agent",
    "skill_validate",
]

ROOT = Path(__file__).resolve().parent.parent
CLIENTS_DIR = Path(os.environ.get("PROMPTBUNDLE_CLIENTS", ROOT / ".clients"))
OPENCODE = ("opencode-ai", "1.18.33")
CLAUDE = ("@anthropic-ai/claude-code", "2.1.330")
SKILLS_REF = ("skills-ref", "0.1.1")
GEMINI_CORE = ("@google/gemini-cli-core", "0.61.0")
CODEX = ("@openai/codex", "0.169.0")
TIMEOUT = 120
_ANSI = re.compile(r"\x1b\[[0-9;]*m")

OPENCODE_ENV = {
    "NO_COLOR": "1",
    "OPENCODE_DISABLE_AUTOUPDATE": "1",
    "OPENCODE_DISABLE_MODELS_FETCH": "1",
    "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
    "OPENCODE_DISABLE_PROJECT_CONFIG": "1",
    "OPENCODE_DISABLE_CLAUDE_CODE": "1",
    "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1",
}
CLAUDE_ENV = {
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "DISABLE_AUTOUPDATER": "1",
    "NO_COLOR": "1",
}


@dataclass(frozen=True)
class Result:
    """One client's verdict on one output."""

    client: str
    subject: str
    ok: bool
    detail: str = ""

    def line(self) -> str:
        head = f"{'ok  ' if self.ok else 'FAIL'} {self.client}: {self.subject}"
        if self.ok or not self.detail:
            return head
        return head + "\n" + "\n".join("    " + x for x in self.detail.strip().splitlines())


def opencode_bin() -> Path:
    return CLIENTS_DIR / "opencode" / "node_modules" / ".bin" / "opencode"


def claude_bin() -> Path:
    return CLIENTS_DIR / "claude" / "node_modules" / ".bin" / "claude"


def agentskills_bin() -> Path:
    return CLIENTS_DIR / "skills-ref" / "bin" / "agentskills"


def gemini_core_dir() -> Path:
    return CLIENTS_DIR / "gemini" / "node_modules" / "@google" / "gemini-cli-core"


def codex_bin() -> Path:
    return CLIENTS_DIR / "codex" / "node_modules" / ".bin" / "codex"


def _package_version(folder: Path) -> str:
    """The version in an installed npm package's package.json ("" when absent)."""
    try:
        data = json.loads((folder / "package.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return ""
    return str(data.get("version", ""))


def _npm_install(folder: str, package: str, version: str) -> None:
    subprocess.run(
        [
            "npm",
            "install",
            "--prefix",
            str(CLIENTS_DIR / folder),
            "--no-audit",
            "--no-fund",
            "--no-save",
            f"{package}@{version}",
        ],
        check=True,
    )


def _works(command: list[str]) -> bool:
    try:
        env = {**os.environ, **OPENCODE_ENV, **CLAUDE_ENV}
        return subprocess.run(command, capture_output=True, timeout=60, env=env).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def install() -> None:
    """Install the pinned clients under CLIENTS_DIR (skips the ones already there)."""
    CLIENTS_DIR.mkdir(parents=True, exist_ok=True)
    for folder, (package, version), binary in (
        ("opencode", OPENCODE, opencode_bin()),
        ("claude", CLAUDE, claude_bin()),
    ):
        if binary.exists() and version in _version(binary):
            continue
        _npm_install(folder, package, version)
    # Gemini CLI: only its core library (the loaders), which has no binary of its own.
    if _package_version(gemini_core_dir()) != GEMINI_CORE[1]:
        _npm_install("gemini", *GEMINI_CORE)
    codex_package = CLIENTS_DIR / "codex" / "node_modules" / "@openai" / "codex"
    if not codex_bin().exists() or _package_version(codex_package) != CODEX[1]:
        _npm_install("codex", *CODEX)
    if not _works([str(agentskills_bin()), "--help"]):
        venv = CLIENTS_DIR / "skills-ref"
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                f"{SKILLS_REF[0]}=={SKILLS_REF[1]}",
            ],
            check=True,
        )


def _version(binary: Path) -> str:
    try:
        done = subprocess.run(
            [str(binary), "--version"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **OPENCODE_ENV, **CLAUDE_ENV},
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout


def _run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    home = Path(tempfile.mkdtemp(prefix="pb-home-"))
    try:
        full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), **env}
        return subprocess.run(
            command, capture_output=True, text=True, timeout=TIMEOUT, env=full, cwd=cwd
        )
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _declared_name(path: Path) -> str:
    """The agent's name in opencode: a frontmatter `name` replaces the file name."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if lines and lines[0].strip() == "---":
        for line in lines[1:]:
            if line.strip() == "---":
                break
            match = re.match(r"^name:\s*(.*?)\s*$", line)
            if match:
                return match.group(1).strip("\"'") or path.stem
    return path.stem


def opencode_agent(path: Path) -> Result:
    """`opencode debug agent <name>` on one agent file; the parse must keep the frontmatter."""
    path = path.resolve()
    name = _declared_name(path)
    with tempfile.TemporaryDirectory(prefix="pb-oc-") as tmp:
        config = Path(tmp) / "config"
        (config / "agents").mkdir(parents=True)
        shutil.copyfile(path, config / "agents" / path.name)
        cwd = Path(tmp) / "cwd"
        cwd.mkdir()
        done = _run(
            [str(opencode_bin()), "debug", "agent", name],
            {**OPENCODE_ENV, "OPENCODE_CONFIG_DIR": str(config)},
            cwd,
        )
    output = _ANSI.sub("", done.stderr + done.stdout)
    if done.returncode != 0:
        return Result("opencode", str(path), False, output)
    try:
        data = json.loads(done.stdout)
    except json.JSONDecodeError:
        return Result("opencode", str(path), False, "debug agent did not print JSON\n" + output)
    problems = []
    if str(data.get("prompt", "")).lstrip().startswith("---"):
        problems.append("frontmatter was not parsed (YAML error): the whole file is the prompt")
    if not data.get("description"):
        problems.append("no description after parsing")
    if data.get("name") != name:
        problems.append(f"agent is named {data.get('name')!r}, not {name!r}")
    return Result("opencode", str(path), not problems, "\n".join(problems))


def opencode_command(path: Path, name: str) -> Result:
    """`opencode debug config` with one command file: it must be loaded under its name, with
    the file's body as its template."""
    path = path.resolve()
    with tempfile.TemporaryDirectory(prefix="pb-oc-") as tmp:
        config = Path(tmp) / "config"
        target = config / "command" / f"{name}.md"
        target.parent.mkdir(parents=True)
        shutil.copyfile(path, target)
        cwd = Path(tmp) / "cwd"
        cwd.mkdir()
        done = _run(
            [str(opencode_bin()), "debug", "config"],
            {**OPENCODE_ENV, "OPENCODE_CONFIG_DIR": str(config)},
            cwd,
        )
    output = _ANSI.sub("", done.stderr + done.stdout)
    if done.returncode != 0:
        return Result("opencode", str(path), False, output)
    try:
        loaded = json.loads(done.stdout).get("command", {}).get(name)
    except (json.JSONDecodeError, AttributeError):
        return Result("opencode", str(path), False, "debug config did not print JSON\n" + output)
    if not isinstance(loaded, dict):
        return Result("opencode", str(path), False, f"command {name!r} was not loaded")
    text = path.read_text(encoding="utf-8")
    body = text.split("\n---\n", 1)[1] if text.startswith("---\n") else text
    if str(loaded.get("template", "")).strip() != body.strip():
        return Result("opencode", str(path), False, "the loaded template is not the file's body")
    return Result("opencode", str(path), True, "")


def claude_validate(folder: Path) -> Result:
    """`claude plugin validate --strict` on a plugin, a marketplace or a .claude folder."""
    folder = folder.resolve()
    done = _run(
        [str(claude_bin()), "plugin", "validate", "--strict", str(folder)],
        CLAUDE_ENV,
        folder,
    )
    detail = _ANSI.sub("", done.stdout + done.stderr)
    return Result("claude", str(folder), done.returncode == 0, detail)


def skill_validate(folder: Path) -> Result:
    """`agentskills validate` on one skill folder."""
    folder = folder.resolve()
    done = _run([str(agentskills_bin()), "validate", str(folder)], {}, folder.parent)
    return Result("agentskills", str(folder), done.returncode == 0, done.stdout + done.stderr)


# Gemini CLI's own loaders (from @google/gemini-cli-core), on a folder laid out like
# `.gemini/`: agents from `agents/` (top level only, as the CLI reads them), skills from
# `skills/`. Prints what they loaded and the errors they reported, as JSON.
_GEMINI_LOAD = """
import { loadAgentsFromDirectory, loadSkillsFromDir } from '@google/gemini-cli-core';
const root = process.argv.at(-1);
const agents = await loadAgentsFromDirectory(root + '/agents');
const skills = await loadSkillsFromDir(root + '/skills');
console.log(JSON.stringify({
  agents: agents.agents.map((a) => ({ name: a.name, description: a.description })),
  errors: agents.errors.map((e) => String(e.message ?? e)),
  skills: skills.map((s) => ({ name: s.name, description: s.description, path: s.location })),
}));
"""


def _frontmatter_value(path: Path, key: str) -> str:
    """A plain `key: value` of a Markdown file's frontmatter ("" when absent)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if lines and lines[0].strip() == "---":
        for line in lines[1:]:
            if line.strip() == "---":
                break
            match = re.match(rf"^{re.escape(key)}:\s*(.*?)\s*$", line)
            if match:
                return match.group(1).strip("\"'")
    return ""


def gemini_check(root: Path) -> list[Result]:
    """Gemini CLI's loaders on a gemini target's folder (`.gemini/`): every agent file must
    load under the name it declares, every skill must be loaded. Commands are not checked:
    their loader is in the CLI, not in gemini-cli-core."""
    root = root.resolve()
    agents = sorted((root / "agents").rglob("*.md")) if (root / "agents").is_dir() else []
    skills = sorted((root / "skills").glob("*/SKILL.md"))
    if not agents and not skills:
        return []
    done = _run(
        ["node", "--input-type=module", "-e", _GEMINI_LOAD, str(root)],
        {"NO_COLOR": "1"},
        CLIENTS_DIR / "gemini",
    )
    output = _ANSI.sub("", done.stderr + done.stdout).strip()
    try:
        data = json.loads(done.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        data = None
    if done.returncode != 0 or not isinstance(data, dict):
        return [Result("gemini", str(p), False, output) for p in [*agents, *skills]]
    # What the loaders logged besides the JSON line (e.g. why no skill was found).
    chatter = "\n".join([*done.stdout.strip().splitlines()[:-1], done.stderr.strip()]).strip()
    loaded = [str(a.get("name")) for a in data.get("agents", [])]
    errors = [str(e) for e in data.get("errors", [])]
    results = []
    for path in agents:
        mine = [e for e in errors if str(path) in e]
        problems = list(mine)
        name = _frontmatter_value(path, "name")
        if path.parent != root / "agents":
            problems.append("Gemini CLI reads agents from the top of agents/ only")
        elif path.name.startswith("_"):
            problems.append("Gemini CLI skips agent files whose name starts with `_`")
        elif not mine and loaded.count(name) != 1:
            problems.append(f"agent {name!r} was not loaded (loaded: {', '.join(loaded)})")
        results.append(Result("gemini", str(path), not problems, "\n".join(problems)))
    by_path = {str(s.get("path")): s for s in data.get("skills", [])}
    for path in skills:
        skill = by_path.get(str(path))
        if skill is None:
            detail = (
                "skill was not loaded (Gemini CLI skips a skill without a string `name` "
                "and `description`)\n" + chatter
            )
            results.append(Result("gemini", str(path), False, _ANSI.sub("", detail)))
        elif skill.get("name") != (_frontmatter_value(path, "name") or path.parent.name):
            detail = f"skill is loaded as {skill.get('name')!r}"
            results.append(Result("gemini", str(path), False, detail))
        else:
            results.append(Result("gemini", str(path), True, ""))
    return results


def _codex_app_server(codex_env: dict[str, str], project: Path) -> tuple[list[str], dict[str, Any]]:
    """`codex app-server` (JSON-RPC, one message a line): the configWarning notifications it
    sends at start (malformed agent roles are reported there) and its `skills/list` for the
    project."""
    requests = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"clientInfo": {"name": "promptbundle", "version": "0"}},
        },
        {"jsonrpc": "2.0", "method": "initialized"},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "skills/list",
            "params": {"cwds": [str(project)], "forceReload": True},
        },
    ]
    process = subprocess.Popen(
        [str(codex_bin()), "app-server"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=codex_env,
        cwd=project,
    )
    warnings: list[str] = []
    skills: dict[str, Any] = {}
    deadline = time.monotonic() + TIMEOUT
    watchdog = threading.Timer(TIMEOUT, process.kill)
    watchdog.start()
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write("".join(json.dumps(r) + "\n" for r in requests))
        process.stdin.flush()
        for line in process.stdout:
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue
            if message.get("method") == "configWarning":
                warnings.append(str(message.get("params", {}).get("summary", "")).strip())
            elif message.get("id") == 2:
                skills = message.get("result") or {"error": message.get("error")}
                break
            if time.monotonic() > deadline:
                break
    finally:
        watchdog.cancel()
        process.kill()
        process.wait()
    return warnings, skills


def _codex_roles(prompt_input: Any) -> dict[str, str]:
    """The agent roles in `codex debug prompt-input` (spawn_agent's `agent_type`): name ->
    the text codex shows for it."""
    roles: dict[str, str] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str) and "Available roles:\n" in node:
            text = node.split("Available roles:\n", 1)[1]
            for match in re.finditer(r"^(\S+): \{\n(.*?)^\}$", text, re.M | re.S):
                roles[match.group(1)] = match.group(2)

    walk(prompt_input)
    return roles


def _codex_agents_md(prompt_input: Any, project: Path) -> str | None:
    """The AGENTS.md text codex gives the model for `project` (None when there is none)."""
    head = f"# AGENTS.md instructions for {project}"
    for item in prompt_input if isinstance(prompt_input, list) else []:
        for part in item.get("content") or [] if isinstance(item, dict) else []:
            text = str(part.get("text", "")) if isinstance(part, dict) else ""
            if text.startswith(head):
                match = re.search(r"<INSTRUCTIONS>\n(.*)</INSTRUCTIONS>", text, re.S)
                return match.group(1) if match else text
    return None


def codex_check(root: Path) -> list[Result]:
    """Codex on a codex target's folder, installed into a trusted temp project (`agents/` as
    `.codex/agents/`, `@project/` at its root): `codex debug prompt-input` must list every
    agent under its name and the AGENTS.md, `codex app-server` must report no warning for an
    agent file and list every skill without an error."""
    root = root.resolve()
    agents = sorted((root / "agents").rglob("*.toml")) if (root / "agents").is_dir() else []
    project_files = root / "@project"
    skills = sorted(project_files.rglob("SKILL.md")) if project_files.is_dir() else []
    agents_md = project_files / "AGENTS.md"
    if not agents and not skills and not agents_md.is_file():
        return []
    with tempfile.TemporaryDirectory(prefix="pb-codex-") as tmp:
        base = Path(tmp).resolve()
        home, project = base / "home", base / "project"
        (home / ".codex").mkdir(parents=True)
        (home / ".codex" / "config.toml").write_text(
            f'[projects.{json.dumps(str(project))}]\ntrust_level = "trusted"\n', encoding="utf-8"
        )
        project.mkdir()
        if agents:
            shutil.copytree(root / "agents", project / ".codex" / "agents")
        if project_files.is_dir():
            shutil.copytree(project_files, project, dirs_exist_ok=True)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "CODEX_HOME": str(home / ".codex"),
            "NO_COLOR": "1",
        }
        done = subprocess.run(
            [str(codex_bin()), "debug", "prompt-input"],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=env,
            cwd=project,
        )
        warnings, listed = _codex_app_server(env, project)

        def where(path: Path) -> Path:
            if path.is_relative_to(project_files):
                return project / path.relative_to(project_files)
            return project / ".codex" / "agents" / path.relative_to(root / "agents")

        try:
            prompt_input = json.loads(done.stdout)
        except json.JSONDecodeError:
            output = _ANSI.sub("", done.stderr + done.stdout)
            detail = "codex debug prompt-input did not print JSON\n" + output
            return [Result("codex", str(p), False, detail) for p in [*agents, *skills]]
        roles = _codex_roles(prompt_input)
        results = []
        for path in agents:
            problems = [w for w in warnings if str(where(path)) in w]
            if not problems:
                try:
                    agent = tomllib.loads(path.read_text(encoding="utf-8"))
                except tomllib.TOMLDecodeError as error:
                    agent = {}
                    problems.append(f"not TOML: {error}")
                name = str(agent.get("name", ""))
                if name not in roles:
                    loaded = ", ".join(roles)
                    problems.append(f"agent {name!r} is not among codex's roles ({loaded})")
                elif str(agent.get("description", "")).strip() not in roles[name]:
                    problems.append(f"agent {name!r} is listed without its description")
            results.append(Result("codex", str(path), not problems, "\n".join(problems)))
        entries = listed.get("data") or []
        found = {str(s.get("path")): s for e in entries for s in e.get("skills", [])}
        errors = [e for entry in entries for e in entry.get("errors", [])]
        for path in skills:
            target = str(where(path))
            problems = [str(e.get("message")) for e in errors if str(e.get("path")) == target]
            if not problems and target not in found:
                problems.append(f"skill was not listed by skills/list: {json.dumps(listed)[:500]}")
            results.append(Result("codex", str(path), not problems, "\n".join(problems)))
        if agents_md.is_file():
            text = _codex_agents_md(prompt_input, project)
            written = agents_md.read_text(encoding="utf-8").strip()
            ok = text is not None and text.strip() == written
            detail = "" if ok else "codex does not give the model this AGENTS.md as written"
            results.append(Result("codex", str(agents_md), ok, detail))
    return results


def _manifest(dist: Path) -> list[dict[str, object]]:
    marker = dist / ".promptbundle-incomplete"  # promptbundle.core.writes.INCOMPLETE
    if os.path.lexists(marker):
        raise SystemExit(
            f"{marker}:1:1: error: {dist} is incomplete: a build was interrupted while "
            "writing it; run promptbundle build [PB311]"
        )
    path = dist / "manifest.json"
    if not path.is_file():
        raise SystemExit(f"{path} not found: run `promptbundle build` first")
    data = json.loads(path.read_text(encoding="utf-8"))
    outputs = data.get("outputs", data.get("files", []))
    return [o for o in outputs if isinstance(o, dict)]


def _targets_by_format(dist: Path) -> dict[str, str]:
    """target name -> format, from the bundle's configuration when promptbundle is
    importable; otherwise a target is taken to be named for its format."""
    try:
        from promptbundle.build.pipeline import read_config
        from promptbundle.sources.config import find_root

        config = read_config(find_root(dist.resolve().parent))
    except Exception:  # no bundle, or promptbundle absent: use folder names
        return {}
    return {t.name: t.format for t in config.targets}


def check_dist(dist: Path) -> Iterator[Result]:
    """Every output of a build in `dist` with the client that reads it."""
    dist = dist.resolve()
    entries = _manifest(dist)
    formats = _targets_by_format(dist)

    def fmt(target: str) -> str:
        return formats.get(target, target)

    paths = sorted(str(e["path"]) for e in entries)
    kinds = {str(e["path"]): e.get("kind", "agent") for e in entries}
    targets = {str(e["target"]) for e in entries}
    for target in sorted(targets):
        kind = fmt(target)
        mine = [p for p in paths if p.startswith(f"{target}/")]
        if kind == "opencode":
            for rel in mine:
                if kinds[rel] == "agent":
                    yield opencode_agent(dist / rel)
                elif kinds[rel] == "command":
                    name = rel.removeprefix(f"{target}/command/").removesuffix(".md")
                    yield opencode_command(dist / rel, name)
        elif kind == "agent-skill":
            for rel in mine:
                if rel.endswith("/SKILL.md"):
                    yield skill_validate((dist / rel).parent)
        elif kind == "claude-plugin":
            root = dist / target
            if (root / ".claude-plugin" / "marketplace.json").is_file():
                yield claude_validate(root)
            for manifest in sorted(root.glob("plugins/*/.claude-plugin/plugin.json")):
                yield claude_validate(manifest.parent.parent)
        elif kind == "gemini":
            yield from gemini_check(dist / target)
        elif kind == "codex":
            yield from codex_check(dist / target)
        elif kind == "claude-code":
            agents = [dist / p for p in mine if kinds[p] == "agent"]
            if agents:
                yield _claude_agents(agents)


def _claude_agents(agents: list[Path]) -> Result:
    """claude-code agents, validated as a project's .claude/agents/ folder."""
    with tempfile.TemporaryDirectory(prefix="pb-cc-") as tmp:
        folder = Path(tmp) / ".claude" / "agents"
        folder.mkdir(parents=True)
        for agent in agents:
            shutil.copyfile(agent, folder / agent.name)
        result = claude_validate(Path(tmp))
    names = ", ".join(a.name for a in agents)
    return Result("claude", f"claude-code agents ({names})", result.ok, result.detail)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("install", "check"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    if argv[0] == "install":
        install()
        return 0
    dist = Path(argv[1]) if len(argv) > 1 else ROOT / "dist"
    results = list(check_dist(dist))
    for result in results:
        print(result.line())
    failed = sum(not r.ok for r in results)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
