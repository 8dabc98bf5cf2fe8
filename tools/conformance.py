#!/usr/bin/env python3
"""Check a built dist/ with the real clients, offline.

    python tools/conformance.py install          # pinned clients into .clients/
    python tools/conformance.py check [DIST]     # every output with its client

Clients (pinned): npm opencode-ai, npm @anthropic-ai/claude-code, PyPI skills-ref
(`agentskills`), npm @google/gemini-cli-core (its agent and skill loaders, run with node), npm
@google/gemini-cli (its TOML command loader), npm @openai/codex (`codex debug prompt-input`
and `codex app-server`), npm @github/copilot (`copilot skill|instruction list --json`, and
`agents.discover` over `copilot --headless --stdio`), npm cline (@cline/core's agent, skill,
rule and workflow loaders) and npm @roo-code/types (Roo Code's `.roomodes` schema). Each run gets a
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
    "cline_check",
    "codex_check",
    "copilot_check",
    "gemini_check",
    "gemini_commands_check",
    "install",
    "opencode_agent",
    "roo_check",
    "skill_validate",
]

ROOT = Path(__file__).resolve().parent.parent
CLIENTS_DIR = Path(os.environ.get("PROMPTBUNDLE_CLIENTS", ROOT / ".clients"))
OPENCODE = ("opencode-ai", "1.18.33")
CLAUDE = ("@anthropic-ai/claude-code", "2.1.330")
SKILLS_REF = ("skills-ref", "0.1.1")
GEMINI_CORE = ("@google/gemini-cli-core", "0.61.0")
CODEX = ("@openai/codex", "0.169.0")
# Gemini CLI itself, for its TOML command loader (the core package has none).
GEMINI_CLI = ("@google/gemini-cli", "0.61.0")
COPILOT = ("@github/copilot", "1.0.102")
CLINE = ("cline", "3.0.65")
ROO_TYPES = ("@roo-code/types", "1.115.0")
# The YAML parser Roo Code reads `.roomodes` with.
YAML_JS = ("yaml", "2.8.1")
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


def _npm_install(folder: str, package: str, version: str, *more: tuple[str, str]) -> None:
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
            *(f"{p}@{v}" for p, v in more),
        ],
        check=True,
    )


def _node_package(folder: str, package: str) -> Path:
    return CLIENTS_DIR / folder / "node_modules" / package


def copilot_bin() -> Path:
    return CLIENTS_DIR / "copilot" / "node_modules" / ".bin" / "copilot"


def copilot_cache() -> Path:
    """Where the Copilot CLI unpacks itself on its first run (its XDG_CACHE_HOME), kept so
    that every check runs the same unpacked client, offline."""
    return CLIENTS_DIR / "copilot" / "cache"


def _install_more() -> None:
    """Gemini CLI, Copilot CLI, Cline and Roo Code's types (each skipped when present)."""
    for folder, pinned, extra in (
        ("gemini-cli", GEMINI_CLI, ()),
        ("copilot", COPILOT, ()),
        ("cline", CLINE, ()),
        ("roo", ROO_TYPES, (YAML_JS,)),
    ):
        wanted = [pinned, *extra]
        if any(_package_version(_node_package(folder, p)) != v for p, v in wanted):
            _npm_install(folder, *pinned, *extra)
    if not any(copilot_cache().glob(f"copilot/pkg/*/{COPILOT[1]}")):
        # The first run unpacks the client from its platform package: no network.
        with tempfile.TemporaryDirectory(prefix="pb-copilot-") as tmp:
            subprocess.run(
                [str(copilot_bin()), "--version"],
                check=True,
                capture_output=True,
                timeout=TIMEOUT,
                cwd=tmp,
                env={**_copilot_env(Path(tmp)), "HOME": tmp},
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
    _install_more()
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
    load under the name it declares, every skill must be loaded. Commands are checked by
    gemini_commands_check: their loader is in the CLI, not in gemini-cli-core."""
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


# Gemini CLI's own TOML command loader (FileCommandLoader, bundled in @google/gemini-cli, in
# the chunk that exports it), on the project in the working folder. Prints the commands it
# loaded, as JSON; it skips a file it cannot parse or validate (naming it only in a log).
_GEMINI_COMMANDS = """
import fs from 'node:fs';
const bundle = process.argv.at(-1);
const chunk = fs.readdirSync(bundle).filter((f) => f.endsWith('.js')).find((f) =>
  fs.readFileSync(bundle + '/' + f, 'utf8').includes('var FileCommandLoader = class'));
const { FileCommandLoader } = await import(bundle + '/' + chunk);
const loaded = await new FileCommandLoader(null).loadCommands(new AbortController().signal);
console.log(JSON.stringify(loaded.map((c) => ({ name: c.name, description: c.description }))));
process.exit(0);
"""


def gemini_cli_bundle() -> Path:
    return _node_package("gemini-cli", GEMINI_CLI[0]) / "bundle"


def gemini_commands_check(root: Path) -> list[Result]:
    """Gemini CLI's command loader on a gemini target's `commands/`: every TOML file must be
    loaded under its name (its path below `commands/`, `/` written `:`)."""
    root = root.resolve()
    commands = sorted((root / "commands").rglob("*.toml")) if (root / "commands").is_dir() else []
    if not commands:
        return []
    with tempfile.TemporaryDirectory(prefix="pb-gemini-") as tmp:
        project = Path(tmp).resolve()
        shutil.copytree(root / "commands", project / ".gemini" / "commands")
        done = _run(
            ["node", "--input-type=module", "-e", _GEMINI_COMMANDS, str(gemini_cli_bundle())],
            {"NO_COLOR": "1"},
            project,
        )
    loaded, detail = _json_line(done)
    if not isinstance(loaded, list):
        return [Result("gemini", str(p), False, detail) for p in commands]
    names = {str(c.get("name")) for c in loaded if isinstance(c, dict)}
    results = []
    for path in commands:
        name = path.relative_to(root / "commands").with_suffix("").as_posix().replace("/", ":")
        ok = name in names
        why = (
            ""
            if ok
            else (
                f"command {name!r} was not loaded (Gemini CLI skips a command file that is not "
                f"TOML or has no string `prompt`; loaded: {', '.join(sorted(names))})"
            )
        )
        results.append(Result("gemini", str(path), ok, why))
    return results


def _json_line(done: subprocess.CompletedProcess[str]) -> tuple[Any, str]:
    """The JSON on a node script's last line of output, and all it printed (for a report)."""
    output = _ANSI.sub("", done.stderr + done.stdout).strip()
    try:
        return json.loads(done.stdout.strip().splitlines()[-1]), output
    except (json.JSONDecodeError, IndexError):
        return None, f"exit {done.returncode}, no JSON\n{output}"


# Cline's own loaders (@cline/core, as the cline CLI runs them) on a workspace: the agents it
# loads from its search paths (and the files it could not read), each other file through its
# parser, and the folders Cline searches for each kind.
_CLINE_LOAD = """
import * as core from '@cline/core';
const [workspace, files] = [process.argv.at(-2), JSON.parse(process.argv.at(-1))];
const agents = core.loadConfiguredAgentConfigs({ workspaceRoot: workspace });
const parsers = {
  skill: core.parseSkillConfigFromMarkdown,
  rule: core.parseRuleConfigFromMarkdown,
  command: core.parseWorkflowConfigFromMarkdown,
};
const parsed = {};
for (const [kind, path, fallback] of files) {
  try {
    const config = parsers[kind](fs.readFileSync(path, 'utf8'), fallback);
    parsed[path] = { name: config.name, body: config.instructions };
  } catch (error) {
    parsed[path] = { error: String(error.message ?? error) };
  }
}
console.log(JSON.stringify({
  agents: agents.configs.map((a) => ({ name: a.name, path: a.path })),
  errors: agents.errors.map((e) => ({
    path: e.path, message: String(e.error?.message ?? e.error),
  })),
  parsed,
  searched: {
    skill: core.resolveSkillsConfigSearchPaths(workspace),
    rule: core.resolveRulesConfigSearchPaths(workspace),
    command: core.resolveWorkflowsConfigSearchPaths(workspace),
  },
}));
"""


def _cline_files(root: Path, workspace: Path) -> list[tuple[str, Path, Path]]:
    """(kind, path in the target, path in the workspace) of every cline output but agents."""
    files = []
    for path in sorted(root.rglob("*.md")):
        rel = path.relative_to(root)
        if rel.parts[0] == "@project":
            where = workspace.joinpath(*rel.parts[1:])
            kind = "command" if "workflows" in rel.parts else "rule"
        elif rel.parts[0] == "skills" and path.name == "SKILL.md":
            where, kind = workspace / ".cline" / rel, "skill"
        else:
            continue
        files.append((kind, path, where))
    return files


def cline_check(root: Path) -> list[Result]:
    """Cline's loaders on a cline target's folder laid out as a workspace (`agents/` and
    `skills/` in `.cline/`, `@project/` at its root): every agent must be loaded under its
    name (Cline drops an agent it cannot read), every skill, rule and workflow must parse, in
    a folder Cline searches."""
    root = root.resolve()
    agents = sorted(p for p in root.glob("agents/*") if p.suffix in (".md", ".yaml", ".yml"))
    with tempfile.TemporaryDirectory(prefix="pb-cline-") as tmp:
        workspace = Path(tmp).resolve() / "workspace"
        workspace.mkdir()
        for folder in ("agents", "skills"):
            if (root / folder).is_dir():
                shutil.copytree(root / folder, workspace / ".cline" / folder)
        if (root / "@project").is_dir():
            shutil.copytree(root / "@project", workspace, dirs_exist_ok=True)
        files = _cline_files(root, workspace)
        if not agents and not files:
            return []
        listing = [[k, str(w), w.parent.name if k == "skill" else w.stem] for k, _, w in files]
        done = _run(
            [
                "node",
                "--input-type=module",
                "-e",
                "import fs from 'node:fs';\n" + _CLINE_LOAD,
                str(workspace),
                json.dumps(listing),
            ],
            {"NO_COLOR": "1"},
            CLIENTS_DIR / "cline",
        )
    data, detail = _json_line(done)
    if not isinstance(data, dict):
        return [
            Result("cline", str(p), False, detail) for p in [*agents, *(f for _, f, _ in files)]
        ]
    results = [_cline_agent(path, workspace, data) for path in agents]
    for kind, path, where in files:
        results.append(_cline_file(kind, path, where, data))
    return results


def _cline_agent(path: Path, workspace: Path, data: dict[str, Any]) -> Result:
    where = str(workspace / ".cline" / "agents" / path.name)
    problems = [str(e.get("message")) for e in data.get("errors", []) if e.get("path") == where]
    loaded = [a for a in data.get("agents", []) if a.get("path") == where]
    name = _frontmatter_value(path, "name")
    if not problems and [a.get("name") for a in loaded] != [name]:
        found = ", ".join(str(a.get("name")) for a in data.get("agents", []))
        why = " (Cline reads agents from .yaml and .yml files only)" if path.suffix == ".md" else ""
        problems.append(f"agent {name!r} was not loaded{why} (loaded: {found})")
    return Result("cline", str(path), not problems, "\n".join(problems))


def _cline_file(kind: str, path: Path, where: Path, data: dict[str, Any]) -> Result:
    parsed = data.get("parsed", {}).get(str(where), {})
    problems = [str(parsed["error"])] if "error" in parsed else []
    folder = where.parent.parent if kind == "skill" else where.parent
    searched = [str(s) for s in data.get("searched", {}).get(kind, [])]
    if str(folder) not in searched:
        problems.append(f"Cline does not read {kind}s from {folder.name}/")
    if kind == "skill" and not problems and parsed.get("name") != where.parent.name:
        problems.append(f"skill is loaded as {parsed.get('name')!r}")
    if not problems and not str(parsed.get("body", "")).strip():
        problems.append(f"the {kind} has no text after parsing")
    return Result("cline", str(path), not problems, "\n".join(problems))


# Roo Code's schema for `.roomodes` (customModesSettingsSchema from @roo-code/types), on the
# file as Roo Code reads it (YAML, or JSON when it parses as JSON).
_ROO_VALIDATE = """
import { customModesSettingsSchema } from '@roo-code/types';
import YAML from 'yaml';
import fs from 'node:fs';
const raw = fs.readFileSync(process.argv.at(-1), 'utf8');
let data;
try { data = YAML.parse(raw); } catch (error) {
  console.log(JSON.stringify({ issues: ['YAML: ' + error.message] }));
  process.exit(0);
}
const result = customModesSettingsSchema.safeParse(data);
console.log(JSON.stringify(result.success
  ? { slugs: result.data.customModes.map((m) => m.slug) }
  : { issues: result.error.issues.map((i) => i.path.join('.') + ': ' + i.message) }));
"""


def roo_check(root: Path) -> list[Result]:
    """Roo Code's own schema on a roo target's `.roomodes`: it must pass and hold every mode
    written (Roo Code ignores a modes file that fails the schema)."""
    modes = root.resolve() / "@project" / ".roomodes"
    if not modes.is_file():
        return []
    done = _run(
        ["node", "--input-type=module", "-e", _ROO_VALIDATE, str(modes)],
        {"NO_COLOR": "1"},
        CLIENTS_DIR / "roo",
    )
    data, detail = _json_line(done)
    if not isinstance(data, dict):
        return [Result("roo", str(modes), False, detail)]
    problems = [str(i) for i in data.get("issues", [])]
    written = re.findall(r"^  - slug: (\S+)$", modes.read_text(encoding="utf-8"), re.M)
    if not problems and data.get("slugs") != [s.strip("\"'") for s in written]:
        problems.append(f"modes read: {data.get('slugs')}, written: {written}")
    return [Result("roo", str(modes), not problems, "\n".join(problems))]


def _copilot_env(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CACHE_HOME": str(copilot_cache()),
        "NO_COLOR": "1",
    }


def _copilot_list(what: str, env: dict[str, str], project: Path) -> tuple[list[Any], str]:
    """`copilot skill list --json` or `copilot instruction list --json`: the list, and what
    it printed on stderr (it names the skills that failed to load there)."""
    done = subprocess.run(
        [str(copilot_bin()), what, "list", "--json"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
        cwd=project,
    )
    try:
        listed = json.loads(done.stdout)
    except json.JSONDecodeError:
        listed = None
    stderr = _ANSI.sub("", done.stderr)
    if not isinstance(listed, list):
        return [], f"`copilot {what} list --json` exited {done.returncode}\n{stderr}{done.stdout}"
    return listed, stderr


def _rpc_frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _rpc_read(stream: Any) -> dict[str, Any] | None:
    """One Content-Length framed JSON-RPC message (None at the end of the stream)."""
    length = 0
    while True:
        line = stream.readline()
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode("ascii", "replace").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    data = json.loads(stream.read(length))
    return data if isinstance(data, dict) else {}


def copilot_agents(env: dict[str, str], project: Path) -> Any:
    """The agents Copilot CLI discovers for `project` (`copilot --headless --stdio`,
    JSON-RPC `agents.discover`); requests from the server are answered with null."""
    process = subprocess.Popen(
        [str(copilot_bin()), "--headless", "--no-auto-update", "--stdio", "--no-auto-login"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=project,
    )
    watchdog = threading.Timer(TIMEOUT, process.kill)
    watchdog.start()
    try:
        assert process.stdin is not None and process.stdout is not None
        params = {"projectPaths": [str(project)]}
        request = {"jsonrpc": "2.0", "id": 1, "method": "agents.discover", "params": params}
        process.stdin.write(_rpc_frame(request))
        process.stdin.flush()
        while (message := _rpc_read(process.stdout)) is not None:
            if message.get("id") == 1 and "method" not in message:
                return message.get("result", {"error": message.get("error")})
            if "method" in message and "id" in message:
                reply = {"jsonrpc": "2.0", "id": message["id"], "result": None}
                process.stdin.write(_rpc_frame(reply))
                process.stdin.flush()
        return {"error": "copilot --headless closed its output without an answer"}
    finally:
        watchdog.cancel()
        process.kill()
        process.wait()


def copilot_check(root: Path) -> list[Result]:
    """Copilot CLI on a copilot target's folder as a project's `.github/`: every agent must be
    discovered under its name (Copilot drops an agent without a description silently), every
    skill and instructions file listed. Prompt files are VS Code's: the CLI does not read
    them."""
    root = root.resolve()
    agents = sorted(root.glob("agents/**/*.agent.md"))
    skills = sorted(root.glob("skills/*/SKILL.md"))
    instructions = sorted(root.glob("instructions/**/*.instructions.md"))
    instructions += [p for p in [root / "copilot-instructions.md"] if p.is_file()]
    if not agents and not skills and not instructions:
        return []
    with tempfile.TemporaryDirectory(prefix="pb-copilot-") as tmp:
        home, project = Path(tmp).resolve() / "home", Path(tmp).resolve() / "project"
        home.mkdir()
        shutil.copytree(root, project / ".github")
        env = _copilot_env(home)
        discovered = copilot_agents(env, project) if agents else {}
        listed_skills, skill_log = _copilot_list("skill", env, project) if skills else ([], "")
        listed_rules, rule_log = (
            _copilot_list("instruction", env, project) if instructions else ([], "")
        )
    return [
        *(_copilot_agent(p, root, project, discovered) for p in agents),
        *_copilot_skills(skills, root, project, listed_skills, skill_log),
        *_copilot_instructions(instructions, root, listed_rules, rule_log),
    ]


def _copilot_skills(
    skills: list[Path], root: Path, project: Path, listed: list[Any], log: str
) -> Iterator[Result]:
    """Each skill must be listed from its folder; the failures Copilot names are on stderr."""
    paths = {str(s.get("path")) for s in listed if isinstance(s, dict)}
    for path in skills:
        where = project / ".github" / path.parent.relative_to(root)
        mine = [line.strip() for line in log.splitlines() if f"{path.parent.name}/" in line]
        ok = str(where) in paths
        detail = "" if ok else "\n".join(mine or ["skill was not listed", log])
        yield Result("copilot", str(path), ok, detail)


def _copilot_instructions(
    instructions: list[Path], root: Path, listed: list[Any], log: str
) -> Iterator[Result]:
    sources = {str(i.get("sourcePath")) for i in listed if isinstance(i, dict)}
    for path in instructions:
        ok = f".github/{path.relative_to(root).as_posix()}" in sources
        detail = "" if ok else f"instructions file was not listed\n{log}"
        yield Result("copilot", str(path), ok, detail)


def _copilot_agent(path: Path, root: Path, project: Path, discovered: Any) -> Result:
    where = str(project / ".github" / path.relative_to(root))
    found = discovered.get("agents", []) if isinstance(discovered, dict) else []
    mine = [a for a in found if isinstance(a, dict) and a.get("path") == where]
    name = _frontmatter_value(path, "name") or path.name.removesuffix(".agent.md")
    if "error" in discovered:
        problems = [f"agents.discover failed: {discovered['error']}"]
    elif not mine:
        loaded = ", ".join(str(a.get("name")) for a in found if isinstance(a, dict))
        problems = [
            f"agent {name!r} was not loaded (Copilot drops an agent without a description "
            f"or with unreadable frontmatter silently; loaded: {loaded})"
        ]
    elif mine[0].get("name") != name:
        problems = [f"agent is loaded as {mine[0].get('name')!r}"]
    else:
        problems = []
    return Result("copilot", str(path), not problems, "\n".join(problems))


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


def _opencode_outputs(dist: Path, target: str, mine: dict[str, str]) -> Iterator[Result]:
    for rel, kind in mine.items():
        if kind == "agent":
            yield opencode_agent(dist / rel)
        elif kind == "command":
            name = rel.removeprefix(f"{target}/command/").removesuffix(".md")
            yield opencode_command(dist / rel, name)


def _skill_outputs(dist: Path, target: str, mine: dict[str, str]) -> Iterator[Result]:
    for rel in mine:
        if rel.endswith("/SKILL.md"):
            yield skill_validate((dist / rel).parent)


def _plugin_outputs(dist: Path, target: str, mine: dict[str, str]) -> Iterator[Result]:
    root = dist / target
    if (root / ".claude-plugin" / "marketplace.json").is_file():
        yield claude_validate(root)
    for manifest in sorted(root.glob("plugins/*/.claude-plugin/plugin.json")):
        yield claude_validate(manifest.parent.parent)


def _claude_code_outputs(dist: Path, target: str, mine: dict[str, str]) -> Iterator[Result]:
    agents = [dist / rel for rel, kind in mine.items() if kind == "agent"]
    if agents:
        yield _claude_agents(agents)


def _gemini_outputs(dist: Path, target: str, mine: dict[str, str]) -> Iterator[Result]:
    yield from gemini_check(dist / target)
    yield from gemini_commands_check(dist / target)


def _folder_check(check: Any) -> Any:
    """A check of a target's whole folder, as a check of its outputs."""

    def outputs(dist: Path, target: str, mine: dict[str, str]) -> Iterator[Result]:
        yield from check(dist / target)

    return outputs


# Format -> the checks of a target of that format (formats without a client are absent).
_CHECKS_BY_FORMAT = {
    "opencode": _opencode_outputs,
    "agent-skill": _skill_outputs,
    "claude-plugin": _plugin_outputs,
    "claude-code": _claude_code_outputs,
    "gemini": _gemini_outputs,
    "codex": _folder_check(codex_check),
    "copilot": _folder_check(copilot_check),
    "cline": _folder_check(cline_check),
    "roo": _folder_check(roo_check),
}


def check_dist(dist: Path) -> Iterator[Result]:
    """Every output of a build in `dist` with the client that reads it."""
    dist = dist.resolve()
    entries = _manifest(dist)
    formats = _targets_by_format(dist)
    kinds = {str(e["path"]): str(e.get("kind", "agent")) for e in entries}
    for target in sorted({str(e["target"]) for e in entries}):
        check = _CHECKS_BY_FORMAT.get(formats.get(target, target))
        if check is not None:
            mine = {p: kinds[p] for p in sorted(kinds) if p.startswith(f"{target}/")}
            yield from check(dist, target, mine)


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
