"""Workload generator: N agents composed from 12 shared fragments, for promptbundle and rulesync.

Every agent includes the `core` fragment plus 2 to 4 others, with per-agent variables and
loops, and renders to about 150 lines. The same agents are written twice:

- as a promptbundle bundle (promptbundle.toml, fragments/*.md, agents/*.md with Jinja), and
- as rulesync sources (.rulesync/subagents/*.md and .rulesync/skills/*/SKILL.md) whose bodies
  are the fully expanded text, which is what a rulesync user keeps in every file.

The expansion here uses Jinja2 with the same settings promptbundle uses, so both tools
produce the same bodies (tests/test_bench_generate.py checks that against a real build).

    python bench/generate.py --agents 100 --targets 4 --out bench/work/sample
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

__all__ = [
    "FRAGMENT_NAMES",
    "PROMPTBUNDLE_TARGETS",
    "RULESYNC_TARGETS",
    "WORKLOADS",
    "AgentSpec",
    "agent_specs",
    "expand_body",
    "fragment_sources",
    "write_promptbundle",
    "write_rulesync",
]

# The same four outputs in both tools, in the order the bench adds them.
PROMPTBUNDLE_TARGETS = ("claude-code", "opencode", "claude-plugin", "agent-skill")
RULESYNC_TARGETS = ("claudecode", "opencode", "claudecode-plugin", "agentsskills")
RULESYNC_PLUGIN_ROOT = "plugin"

FRAGMENT_NAMES = (
    "core",
    "testing",
    "git",
    "security",
    "review",
    "reporting",
    "python",
    "docs",
    "performance",
    "errors",
    "dependencies",
    "ci",
)

_TEXT = """
    change small diffs before broad rewrites and keep every public name stable across
    releases read the surrounding module first prefer the standard library measure before
    optimising write the failing test first name things for what they do keep functions
    short log at the boundary never swallow an exception document why not what pin every
    dependency and review the lock file treat warnings as errors in continuous integration
"""
_WORDS = tuple(_TEXT.split())

_STACKS = ("flask", "fastapi", "django", "sqlalchemy", "pytest", "boto3", "celery", "pydantic")
_CHECKS = (
    "tests pass locally",
    "lint is clean",
    "types check under strict mode",
    "no new dependency without review",
    "docs updated with the change",
    "changelog entry added",
    "migrations are reversible",
    "secrets stay out of the diff",
    "error messages name the file and line",
    "benchmarks unchanged",
)
_TOOLS = ("Read", "Write", "Edit", "Bash", "Grep", "Glob")


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(_WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def fragment_sources(variant: int = 0) -> dict[str, str]:
    """Each fragment's Jinja source; `variant` changes the `core` fragment's wording only."""
    sources = {}
    for index, name in enumerate(FRAGMENT_NAMES):
        rng = random.Random(f"fragment-{name}")
        title = name.capitalize()
        lines = [f"## {title} rules for {{{{ agent.name }}}} ({{{{ stack }}}})", ""]
        if name == "core" and variant:
            lines += [f"Revision {variant} of the shared core rules.", ""]
        for _ in range(4):
            lines.append(_sentence(rng, 14))
            lines.append(_sentence(rng, 12) + " This applies to {{ stack }} code too.")
            lines.append("")
        lines += [f"### {title} checklist", ""]
        lines.append(
            "{% for item in checks %}- [ ] {{ item }} "
            f"({name} rule {index + 1}.{{{{ loop.index }}}})\n{{% endfor %}}"
        )
        lines += [f"### {title} practice", ""]
        for step in range(1, 7):
            lines.append(f"{step}. {_sentence(rng, 10)}")
        lines.append("")
        lines.append("{% if strict %}")
        lines.append(f"Strict mode: every {name} rule above is a hard requirement.")
        lines.append("{% else %}")
        lines.append(f"Use judgement: the {name} rules above are defaults, not laws.")
        lines.append("{% endif %}")
        lines.append("")
        lines.append("{% for tool in agent.tools %}{{ tool }}{% if not loop.last %}, {% endif %}")
        lines.append("{%- endfor %} are the tools this applies to.")
        sources[f"{name}.md"] = "\n".join(lines) + "\n"
    return sources


@dataclass(frozen=True)
class AgentSpec:
    """One generated agent: its id, metadata, variables and the fragments it includes."""

    id: str
    description: str
    tools: tuple[str, ...]
    fragments: tuple[str, ...]
    vars: dict[str, Any] = field(default_factory=dict)

    def template(self) -> str:
        """The promptbundle agent body: a short intro, then one fragment() call per fragment."""
        lines = [
            "# {{ agent.name }}",
            "",
            "You are {{ agent.name }}, working on {{ team }}'s {{ stack }} services.",
            "",
        ]
        calls = [f'{{{{ fragment("{name}", level=2) }}}}' for name in self.fragments]
        return "\n".join(lines) + "\n\n".join(calls) + "\n"


# The workloads: "bench" (every agent includes `core` and 2 to 4 of the 11 others) and
# "issue" (every agent includes 3 to 5 of the 12, `core` among them for about a third).
WORKLOADS = ("bench", "issue")


def _picked(rng: random.Random, workload: str) -> tuple[str, ...]:
    if workload == "issue":
        return tuple(
            sorted(rng.sample(FRAGMENT_NAMES, rng.randint(3, 5)), key=FRAGMENT_NAMES.index)
        )
    others = FRAGMENT_NAMES[1:]
    return ("core", *sorted(rng.sample(others, rng.randint(2, 4)), key=others.index))


def agent_specs(count: int, workload: str = "bench") -> list[AgentSpec]:
    """`count` agents of a workload (see WORKLOADS)."""
    specs = []
    for index in range(count):
        rng = random.Random(f"agent-{index}")
        fragments = _picked(rng, workload)
        picked = [name for name in fragments if name != "core"]
        specs.append(
            AgentSpec(
                id=f"agent-{index:04d}",
                description=f"Generated agent {index}: {', '.join(picked)} specialist",
                tools=tuple(rng.sample(_TOOLS, rng.randint(3, 6))),
                fragments=fragments,
                vars={
                    "stack": rng.choice(_STACKS),
                    "team": f"team-{index % 17}",
                    "strict": rng.random() < 0.5,
                    "checks": rng.sample(_CHECKS, rng.randint(4, 7)),
                },
            )
        )
    return specs


def _fragment_global(env: jinja2.Environment) -> Any:
    @jinja2.pass_context
    def fragment(context: Any, name: str, level: int | None = None, **kw: Any) -> str:
        # Fragments start at level 2 and are included at level 2: no heading shift needed.
        text = env.get_template(f"{name}.md").render({**context.get_all(), **kw})
        return text.rstrip("\r\n")  # the caller's line break ends the fragment's last line

    return fragment


def expand_body(spec: AgentSpec, fragments: Mapping[str, str]) -> str:
    """The agent's fully rendered body, as promptbundle renders it."""
    env = jinja2.Environment(
        loader=jinja2.DictLoader({**fragments, "__agent__": spec.template()}),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.globals["fragment"] = _fragment_global(env)
    agent = {"id": spec.id, "name": spec.id, "description": spec.description}
    agent |= {"tools": list(spec.tools), "model": "sonnet", "vars": dict(spec.vars)}
    return env.get_template("__agent__").render({**spec.vars, "agent": agent})


def _yaml_list(items: Sequence[str], indent: str = "") -> str:
    return "".join(f"{indent}  - {item}\n" for item in items)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    if not path.is_file() or path.read_bytes() != data:
        path.write_bytes(data)


def write_promptbundle(
    root: Path, specs: Sequence[AgentSpec], targets: Sequence[str], *, variant: int = 0
) -> None:
    """A promptbundle bundle at `root` for `specs`, building `targets`."""
    _write(
        root / "promptbundle.toml",
        'name = "bench"\nversion = "1.0.0"\ndescription = "Generated benchmark agents"\n'
        f"targets = {json.dumps(list(targets))}\n",
    )
    if "agent-skill" in targets:  # rulesync writes every agent as a skill too: so do we
        _write(root / "targets" / "agent-skill.toml", 'convert = ["agent"]\n')
    for name, text in fragment_sources(variant).items():
        _write(root / "fragments" / name, text)
    for spec in specs:
        frontmatter = (
            f"---\nname: {spec.id}\ndescription: {json.dumps(spec.description)}\nmodel: sonnet\n"
            f"tools:\n{_yaml_list(spec.tools)}opencode:\n  mode: subagent\n"
            f"vars:\n  stack: {spec.vars['stack']}\n  team: {spec.vars['team']}\n"
            f"  strict: {str(spec.vars['strict']).lower()}\n"
            f"  checks:\n{_yaml_list(spec.vars['checks'], '  ')}---\n"
        )
        _write(root / "agents" / f"{spec.id}.md", frontmatter + spec.template())


def write_rulesync(
    root: Path, specs: Sequence[AgentSpec], targets: Sequence[str], *, variant: int = 0
) -> None:
    """rulesync sources at `root` with the expanded bodies, generating `targets`."""
    fragments = fragment_sources(variant)
    features = {t: ["skills"] if t == "agentsskills" else ["subagents"] for t in targets}
    roots = {t: RULESYNC_PLUGIN_ROOT if t == "claudecode-plugin" else "." for t in targets}
    _write(
        root / "rulesync.jsonc",
        json.dumps({"targets": features, "outputRoots": roots}, indent=2) + "\n",
    )
    if "claudecode-plugin" in targets:
        (root / RULESYNC_PLUGIN_ROOT).mkdir(parents=True, exist_ok=True)
    for spec in specs:
        body = expand_body(spec, fragments)
        description = json.dumps(spec.description)
        _write(
            root / ".rulesync" / "subagents" / f"{spec.id}.md",
            f'---\nname: {spec.id}\ntargets: ["*"]\ndescription: {description}\n'
            f"claudecode:\n  model: sonnet\n  tools:\n{_yaml_list(spec.tools, '  ')}"
            f"opencode:\n  mode: subagent\n---\n{body}",
        )
        if "agentsskills" in targets:
            _write(
                root / ".rulesync" / "skills" / spec.id / "SKILL.md",
                f'---\nname: {spec.id}\ndescription: {description}\ntargets: ["*"]\n---\n{body}',
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=100, help="number of agents")
    parser.add_argument("--targets", type=int, choices=range(1, 5), default=4)
    parser.add_argument("--variant", type=int, default=0, help="wording of the core fragment")
    parser.add_argument("--workload", choices=WORKLOADS, default="bench")
    parser.add_argument("--out", type=Path, required=True, help="folder to (re)create")
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    specs = agent_specs(args.agents, args.workload)
    write_promptbundle(
        args.out / "promptbundle",
        specs,
        PROMPTBUNDLE_TARGETS[: args.targets],
        variant=args.variant,
    )
    write_rulesync(
        args.out / "rulesync", specs, RULESYNC_TARGETS[: args.targets], variant=args.variant
    )
    print(f"wrote {args.agents} agents for {args.targets} target(s) under {args.out}")


if __name__ == "__main__":
    main()
