#!/usr/bin/env python3
"""Check a built dist/ with the real clients, offline.

    python tools/conformance.py install          # pinned clients into .clients/
    python tools/conformance.py check [DIST]     # every output with its client

Clients (pinned): npm opencode-ai, npm @anthropic-ai/claude-code, PyPI skills-ref
(`agentskills`). Each run gets a temporary HOME and the no-network settings. Exit 1 when
any output fails. Standard library only, so it runs before the project is installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CLIENTS_DIR",
    "Result",
    "check_dist",
    "claude_validate",
    "install",
    "opencode_agent",
    "skill_validate",
]

ROOT = Path(__file__).resolve().parent.parent
CLIENTS_DIR = Path(os.environ.get("PROMPTBUNDLE_CLIENTS", ROOT / ".clients"))
OPENCODE = ("opencode-ai", "1.18.33")
CLAUDE = ("@anthropic-ai/claude-code", "2.1.330")
SKILLS_REF = ("skills-ref", "0.1.1")
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


def _manifest(dist: Path) -> list[dict[str, object]]:
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
