"""Source lints: problems in agents and fragments found statically, before any user hits them.

Each lint returns Diagnostics with a stable code (docs/checks.md lists them all).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from jinja2 import meta, nodes

from promptbundle.core.diagnostics import Diagnostic
from promptbundle.core.errors import Location
from promptbundle.core.markdown import fences, heading_levels
from promptbundle.core.model import Bundle, Prompt
from promptbundle.render.environment import (
    FRAGMENT_DIR,
    BundleEnvironment,
    BundleLoader,
    make_env,
    not_found_message,
)
from promptbundle.render.repeats import MIN_PARAGRAPH_CHARS, find_repeats
from promptbundle.sources.prompts import read_source

__all__ = [
    "MIN_PARAGRAPH_CHARS",
    "TemplateGraph",
    "duplicate_paragraphs",
    "heading_jumps",
    "lint_templates",
    "unclosed_fences",
]

# Other prompts named in a PB209 warning before "and N more".
_LISTED = 3
CONTEXT_NAMES = frozenset({"agent", "command", "skill", "rule", "prompt", "target", "bundle"})
_JINJA_TAG = re.compile(r"\{%-?[^\n]*?-?%\}|\{#[^\n]*?#\}")
_FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*$")


@dataclass
class Template:
    """A parsed agent body or fragment: its name under the root and where its text starts."""

    rel: str
    path: Path
    first_line: int
    source: str
    ast: nodes.Template | None = None
    # (referenced template rel, line in this template, keyword names passed to it)
    refs: list[tuple[str, int, frozenset[str]]] = field(default_factory=list)


@dataclass
class TemplateGraph:
    """Every template reachable from the agents, parsed once, with the lints it produced."""

    templates: dict[str, Template] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def reachable(self, start: Iterable[str]) -> set[str]:
        """Templates reachable from `start` (included)."""
        seen: set[str] = set()
        stack = list(start)
        while stack:
            rel = stack.pop()
            if rel in seen or rel not in self.templates:
                continue
            seen.add(rel)
            stack.extend(ref for ref, _, _ in self.templates[rel].refs)
        return seen


def _location(template: Template, line: int) -> Location:
    return Location(template.path, template.first_line + max(line, 1) - 1, 1)


def _const_names(expr: nodes.Expr) -> list[str]:
    if isinstance(expr, nodes.Const) and isinstance(expr.value, str):
        return [expr.value]
    if isinstance(expr, nodes.List | nodes.Tuple):
        return [i.value for i in expr.items if isinstance(i, nodes.Const)][:1]
    return []


def _references(ast: nodes.Template) -> Iterator[tuple[str, int, frozenset[str]]]:
    """(template name, line, keyword names) for each include/import/fragment() call."""
    for node in ast.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
        assert isinstance(node, nodes.Include | nodes.Import | nodes.FromImport | nodes.Extends)
        for name in _const_names(node.template):
            yield name, node.lineno, frozenset()
    for call in ast.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name == "fragment" and call.args:
            for name in _const_names(call.args[0]):
                full = name if name.endswith(".md") else f"{name}.md"
                yield full, call.lineno, frozenset(k.key for k in call.kwargs)


def _parse(env: BundleEnvironment, template: Template, graph: TemplateGraph) -> None:
    try:
        template.ast = env.parse(template.source, template.rel, str(template.path))
    except jinja2.TemplateSyntaxError as err:
        graph.diagnostics.append(
            Diagnostic(
                "error",
                "PB002",
                f"template syntax error: {err.message}",
                _location(template, err.lineno),
            )
        )
        return
    loader = env.loader
    assert isinstance(loader, BundleLoader)
    for name, line, kwargs in _references(template.ast):
        try:
            rel, _ = loader.resolve(name)
        except jinja2.TemplateNotFound:
            graph.diagnostics.append(
                Diagnostic(
                    "error",
                    "PB210",
                    not_found_message(name, loader.fragments),
                    _location(template, line),
                )
            )
            continue
        template.refs.append((rel, line, kwargs))


def _load_graph(env: BundleEnvironment, bundle: Bundle) -> TemplateGraph:
    graph = TemplateGraph()
    loader = env.loader
    assert isinstance(loader, BundleLoader)
    pending: list[Template] = [
        Template(a.rel, a.path, a.body_line, a.body) for a in bundle.prompts
    ] + [
        Template(f"{FRAGMENT_DIR}/{name}", bundle.root / FRAGMENT_DIR / name, 1, "")
        for name in bundle.fragments
    ]
    while pending:
        template = pending.pop(0)
        if template.rel in graph.templates:
            continue
        if not template.source and template.path.is_file():
            template.source = read_source(template.path)
        graph.templates[template.rel] = template
        _parse(env, template, graph)
        for rel, _, _ in template.refs:
            if rel not in graph.templates:
                pending.append(Template(rel, bundle.root / rel, 1, ""))
    return graph


def _cycles(graph: TemplateGraph) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    reported: set[frozenset[str]] = set()

    def visit(rel: str, trail: list[str]) -> None:
        for ref, line, _ in graph.templates[rel].refs:
            if ref not in graph.templates:
                continue
            if ref in trail:
                cycle = [*trail[trail.index(ref) :], ref]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    found.append(
                        Diagnostic(
                            "error",
                            "PB203",
                            "include cycle: " + " -> ".join(cycle),
                            _location(graph.templates[rel], line),
                        )
                    )
                continue
            visit(ref, [*trail, ref])

    for rel in sorted(graph.templates):
        visit(rel, [rel])
    return found


def _guarded_names(ast: nodes.Template) -> set[str]:
    """Names tested with `is defined`, or read only through `| default(...)`: absent on
    purpose."""
    tested = {
        test.node.name
        for test in ast.find_all(nodes.Test)
        if test.name in ("defined", "undefined") and isinstance(test.node, nodes.Name)
    }
    guarded: set[int] = set()
    for flt in ast.find_all(nodes.Filter):
        if flt.name in ("default", "d") and isinstance(flt.node, nodes.Name):
            guarded.add(id(flt.node))
    uses: dict[str, list[bool]] = defaultdict(list)
    for name in ast.find_all(nodes.Name):
        if name.ctx == "load":
            uses[name.name].append(id(name) in guarded)
    return tested | {name for name, flags in uses.items() if all(flags)}


def _assigned_names(ast: nodes.Template) -> set[str]:
    names = {n.name for n in ast.find_all(nodes.Name) if n.ctx in ("store", "param")}
    names |= {m.name for m in ast.find_all(nodes.Macro)}
    return names


def _undeclared(ast: nodes.Template) -> set[str]:
    """Names a template reads without defining; a rough walk when Jinja's own analysis
    refuses the template (an unknown filter, reported on its own)."""
    try:
        return meta.find_undeclared_variables(ast)
    except jinja2.TemplateAssertionError:
        loads = {n.name for n in ast.find_all(nodes.Name) if n.ctx == "load"}
        return loads - _assigned_names(ast) - {"loop", "caller", "varargs", "kwargs"}


def _first_use(ast: nodes.Template, name: str) -> int:
    lines = [n.lineno for n in ast.find_all(nodes.Name) if n.name == name and n.ctx == "load"]
    return min(lines) if lines else 1


def _undefined(env: BundleEnvironment, bundle: Bundle, graph: TemplateGraph) -> list[Diagnostic]:
    """Variables a template reads that neither the context nor its includer provides."""
    missing: dict[tuple[str, str], set[str]] = defaultdict(set)
    base = set(env.globals) | CONTEXT_NAMES | set(bundle.config.vars)

    def visit(rel: str, available: frozenset[str], agent: Prompt, seen: set[str]) -> None:
        template = graph.templates.get(rel)
        if template is None or template.ast is None or rel in seen:
            return
        undeclared = _undeclared(template.ast)
        for name in undeclared - available - _guarded_names(template.ast):
            missing[(rel, name)].add(agent.rel)
        inner = available | _assigned_names(template.ast)
        for ref, _, kwargs in template.refs:
            visit(ref, frozenset(inner | kwargs), agent, {*seen, rel})

    for agent in bundle.prompts:
        visit(agent.rel, frozenset(base | set(agent.vars)), agent, set())
    found = []
    for (rel, name), agents in sorted(missing.items()):
        template = graph.templates[rel]
        assert template.ast is not None
        users = sorted(agents)
        via = "" if users == [rel] else f" (included by {', '.join(users)})"
        found.append(
            Diagnostic(
                "error",
                "PB201",
                f"undefined variable {name!r}{via}; define it in the agent's or the bundle's "
                "vars, or pass it to fragment()",
                _location(template, _first_use(template.ast, name)),
            )
        )
    return found


def _unknown_filters(env: BundleEnvironment, graph: TemplateGraph) -> list[Diagnostic]:
    found = []
    for rel in sorted(graph.templates):
        template = graph.templates[rel]
        if template.ast is None:
            continue
        for kind, node_type, known in (
            ("filter", nodes.Filter, env.filters),
            ("test", nodes.Test, env.tests),
        ):
            for node in template.ast.find_all(node_type):
                if node.name not in known:
                    found.append(
                        Diagnostic(
                            "error",
                            "PB202",
                            f"unknown {kind} {node.name!r}",
                            _location(template, node.lineno),
                        )
                    )
    return found


def _unused(bundle: Bundle, graph: TemplateGraph, used: set[str]) -> list[Diagnostic]:
    reached = graph.reachable(a.rel for a in bundle.prompts) | used
    return [
        Diagnostic(
            "warning",
            "PB204",
            "fragment is not used by any agent",
            Location(bundle.root / FRAGMENT_DIR / name, 1, 1),
        )
        for name in bundle.fragments
        if f"{FRAGMENT_DIR}/{name}" not in reached
    ]


def lint_templates(bundle: Bundle, *, used_sources: Iterable[str] = ()) -> list[Diagnostic]:
    """Template lints: syntax, missing templates, cycles, undefined names, unknown filters,
    unused fragments (`used_sources`: sources a build actually loaded), unclosed fences."""
    env = make_env(bundle)
    graph = _load_graph(env, bundle)
    found = list(graph.diagnostics)
    found += _cycles(graph)
    found += _undefined(env, bundle, graph)
    found += _unknown_filters(env, graph)
    found += _unused(bundle, graph, set(used_sources))
    for rel in sorted(graph.templates):
        template = graph.templates[rel]
        found += unclosed_fences(template.source, template.path, template.first_line)
    return found


def unclosed_fences(text: str, path: Path | str, first_line: int = 1) -> list[Diagnostic]:
    """A ``` or ~~~ fence that is never closed swallows the rest of the prompt as code."""
    text = _JINJA_TAG.sub("", text)  # `{% endraw %}` after a closing fence is not content
    lines = text.splitlines()
    found = []
    for start, end, markup in fences(text):
        last = lines[end - 1] if end - 1 < len(lines) else ""
        match = _FENCE_LINE.match(last)
        closed = (
            end - 1 > start
            and match is not None
            and match.group(1)[0] == markup[0]
            and len(match.group(1)) >= len(markup)
        )
        if not closed:
            found.append(
                Diagnostic(
                    "error",
                    "PB208",
                    f"code fence {markup!r} is never closed; the rest of the prompt becomes code",
                    Location(path, first_line + start, 1),
                )
            )
    return found


def heading_jumps(body: str, path: Path | str, first_line: int) -> list[Diagnostic]:
    """Headings that skip a level after composition (## then ####)."""
    found = []
    previous = 0
    for line, level in heading_levels(body):
        if previous and level > previous + 1:
            found.append(
                Diagnostic(
                    "warning",
                    "PB207",
                    f"heading level jumps from {previous} to {level} after composition; "
                    "use fragment(..., level=N) to place included headings",
                    Location(path, first_line + line - 1, 1),
                )
            )
        previous = level
    return found


def duplicate_paragraphs(
    agents: Iterable[Prompt], fragments: Iterable[str] = ()
) -> list[Diagnostic]:
    """Text written into several prompts' sources (exactly, or as one skeleton with varying
    slots): what `promptbundle extract` proposes, one warning where each copy stands.
    Imported bodies are read through their `{% raw %}` blocks."""
    taken = {name.removesuffix(".md") for name in fragments} | {"readme"}
    found = []
    for proposal in find_repeats(agents, taken=taken):
        if proposal.kind == "near":
            continue
        how = "is also" if proposal.kind == "exact" else "repeats, with other slot values,"
        for occurrence in proposal.occurrences:
            others = sorted({o.prompt.rel for o in proposal.occurrences} - {occurrence.prompt.rel})
            more = len(others) - _LISTED
            where = ", ".join(others[:_LISTED]) + (f" and {more} more" if more > 0 else "")
            found.append(
                Diagnostic(
                    "warning",
                    "PB209",
                    f"paragraph {' '.join(occurrence.text.split())[:40]!r}... {how} in {where};"
                    f" move it into a fragment: promptbundle extract --apply --only {proposal.id}",
                    Location(occurrence.prompt.path, occurrence.line, 1),
                )
            )
    return found
