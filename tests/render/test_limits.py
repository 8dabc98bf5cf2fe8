"""Bounded rendering: every template that would take minutes or gigabytes is a located PB004.

Each hostile template is built by `promptbundle build` in a child process with its address
space capped at 512 MB and a 10-second timeout, so a check that stops working fails the test
(out of memory, or a timeout) instead of hanging the run or the machine.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import jinja2
import pytest
from jinja2.sandbox import SandboxedEnvironment

from promptbundle.build.pipeline import build_outputs, load
from promptbundle.core.errors import PromptBundleError
from promptbundle.render import limits
from promptbundle.render.environment import BundleEnvironment, compiled_code_tag
from promptbundle.review.check import run_checks
from tests.support import BundleFactory

MEMORY_CAP = 512 << 20

# `promptbundle build` in a child process that cannot use more than 512 MB.
BUILD_WITH_A_MEMORY_CAP = f"""
import atexit, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_CAP}, {MEMORY_CAP}))

def peak():
    # VmHWM: this process's own peak (ru_maxrss inherits the parent's across fork and exec);
    # the render processes it forked: their ru_maxrss, which starts at this process's size.
    own = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    kib = max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    with open("../maxrss", "w") as out:
        out.write(str(kib))

atexit.register(peak)
from promptbundle.cli import main
sys.argv = ["promptbundle", "build"]
main()
"""

HEADER = "---\nname: x\ndescription: X\n---\n"

SIZE = "render limit: a string or list of {} characters or items (limit 1,000,000)"
DEPTH = "render limit: macro calls or fragments nested deeper than 50"
LOOPS = "render limit: more than 100,000 loop iterations"
RANGE = "render limit: a range of {} numbers (limit 100,000)"

# A list holding one long string six times: 6,000,000 characters when printed.
HEAVY = "{% set l = [] %}{% for i in range(6) %}{{ l.append('x' * 10**6) }}{% endfor %}"
MADE = "render limit: more than 20,000,000 characters or items made in one render"

FAN_OUT = (
    "{% macro fan(n) %}{% if n %}{{ fan(n - 1) }}{{ fan(n - 1) }}{% endif %}{% endmacro %}"
    "{{ fan(DEPTH) }}"
)

# (template line, the error it must end in)
HOSTILE = {
    "repeat": ("{{ 'a'*2*10**9 }}", SIZE.format("2,000,000,000")),
    "center filter": ("{{ 'x'|center(2*10**9) }}", SIZE.format("2,000,000,000")),
    "center filter, literal": ("{{ 'x'|center(2000000000) }}", SIZE.format("2,000,000,000")),
    "indent filter": ("{{ 'x'|indent(10**9) }}", SIZE.format("1,000,000,000")),
    "format filter": ("{{ '%*s'|format(10**9, 'x') }}", SIZE.format("1,000,000,036")),
    "printf operator": ("{{ '%.*f' % (10**9, 1.5) }}", SIZE.format("1,000,000,060")),
    "bytes printf operator": (
        "{{ '%1000000000s'.encode() % ('x'.encode(),) }}",
        SIZE.format("1,000,000,048"),
    ),
    "str.format": ("{{ '{:>2000000000}'.format('x') }}", SIZE.format("2,000,000,001")),
    "str.format nested width": (
        "{{ '{:>{w}}'.format('x', w=10**9) }}",
        SIZE.format("1,000,000,011"),
    ),
    "str.format_map": (
        "{{ '{a:>2000000000}'.format_map({'a': 1}) }}",
        SIZE.format("2,000,000,002"),
    ),
    "str.ljust": ("{{ 'x'.ljust(10**9) }}", SIZE.format("1,000,000,000")),
    "str.rjust": ("{{ 'x'.rjust(10**9) }}", SIZE.format("1,000,000,000")),
    "str.center": ("{{ 'x'.center(10**9) }}", SIZE.format("1,000,000,000")),
    "str.zfill": ("{{ '1'.zfill(10**9) }}", SIZE.format("1,000,000,000")),
    "str.expandtabs": ("{{ 'a\\tb'.expandtabs(10**9) }}", SIZE.format("1,000,000,003")),
    "str.replace": ("{{ 'abc'.replace('', 'x' * 10**6) }}", SIZE.format("4,000,003")),
    "str.join": ("{{ ('-' * 200).join(['x' * 1000] * 900) }}", SIZE.format("1,000,800")),
    "str.translate": (
        "{{ ('a' * 1000).translate({97: 'x' * 10**5}) }}",
        SIZE.format("100,000,000"),
    ),
    "namespace doubling with ~": (
        "{% set ns = namespace(s='a') %}{% for i in range(40) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
        SIZE.format("1,048,576"),
    ),
    "namespace doubling with +": (
        "{% set ns = namespace(s='a') %}{% for i in range(40) %}"
        "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s|length }}",
        SIZE.format("1,048,576"),
    ),
    "list doubling with extend": (
        "{% set l = [0] %}{% for i in range(40) %}{{ l.extend(l) }}{% endfor %}{{ l|length }}",
        SIZE.format("1,048,576"),
    ),
    "macro fan-out 2**60": (FAN_OUT.replace("DEPTH", "60"), DEPTH),
    "macro fan-out 2**40": (
        FAN_OUT.replace("DEPTH", "40"),
        "render limit: more than 100,000 macro calls",
    ),
    "endless macro recursion": ("{% macro r(n) %}{{ r(n + 1) }}{% endmacro %}{{ r(0) }}", DEPTH),
    "power": (
        "{{ 10**(10**10) }}",
        "render limit: an integer of about 40,000,000,000 bits (limit 65,536)",
    ),
    "integer product": (
        "{% set n = 10**4000 %}{{ n * n * n * n * n * n }}",
        "render limit: an integer of about 66,439 bits (limit 65,536)",
    ),
    "nested loops": (
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        LOOPS,
    ),
    "loops over strings": (
        "{% for i in 'x' * 1000 %}{% for j in 'x' * 1000 %}{% endfor %}{% endfor %}",
        LOOPS,
    ),
    "lipsum": ("{{ lipsum(n=10**6) }}", SIZE.format("1,600,000,000")),
    "huge range": ("{{ range(10**12)|length }}", RANGE.format("1,000,000,000,000")),
    "join over a huge range": ("{{ range(10**12)|join }}", RANGE.format("1,000,000,000,000")),
    "dict.fromkeys over a huge range": (
        "{{ {}.fromkeys(range(10**9))|length }}",
        RANGE.format("1,000,000,000"),
    ),
    "join filter": ("{{ (['x' * 1000] * 900)|join('-' * 200) }}", SIZE.format("1,000,800")),
    "wordwrap with a long wrapstring": (
        "{{ ('a b' * 1000)|wordwrap(1, wrapstring='x' * 10**4) }}",
        SIZE.format("30,003,000"),
    ),
    "replace filter": ("{{ ('ab' * 500000)|replace('a', 'aaa') }}", SIZE.format("2,000,000")),
    "batch filter": ("{{ [1]|batch(10**10, 0)|list }}", SIZE.format("20,000,000,000")),
    "slice filter": ("{{ [1]|slice(10**9)|list }}", SIZE.format("1,000,000,000")),
    "sum filter": (
        (
            "{% set z = [0] * 1000 %}{% set l = [] %}{% for i in range(1100) %}"
            "{{ l.append(z) }}{% endfor %}{{ l|sum(start=[]) }}"
        ),
        SIZE.format("1,100,000"),
    ),
    "list repeat": ("{{ [0]*10**10 }}", SIZE.format("60,000,000,000")),
    "list repeat of a long string": (
        "{{ (['x' * 10**6] * 1000)|length }}",
        SIZE.format("1,000,007,000"),
    ),
    "a long string stored over and over": (
        "{% set l = [] %}{% for i in range(100000) %}{{ l.append('x' * 10**6) }}{% endfor %}",
        MADE,
    ),
    "dict.fromkeys with a long value": (
        "{{ {}.fromkeys(range(1000), 'x' * 10**6)|length }}",
        SIZE.format("1,000,000,000"),
    ),
    "batch filled with a long value": (
        "{{ [1]|batch(1000, 'x' * 10**6)|list|length }}",
        SIZE.format("1,000,000,000"),
    ),
    "unique over a long list": (HEAVY + "{{ l|unique|list|length }}", SIZE.format("1,000,017")),
    "sort over a long list": (HEAVY + "{{ l|sort|length }}", SIZE.format("1,000,017")),
    "wordwrap of a long word": (
        "{{ ('x' * 10**6)|wordwrap(1) }}",
        "render limit: wordwrap would copy about 1,000,000,000,000 characters to break"
        " a word of 1,000,000 into lines of 1 (limit 20,000,000)",
    ),
    "int.to_bytes": ("{{ (1).to_bytes(10**9, 'big') }}", SIZE.format("1,000,000,000")),
    "a list printed as text": (
        HEAVY + "{{ l }}",
        SIZE.format("1,000,017"),
    ),
    "a list in a string filter": (
        HEAVY + "{{ l|string|length }}",
        SIZE.format("1,000,017"),
    ),
    "a list in a text filter": (
        HEAVY + "{{ l|upper|length }}",
        SIZE.format("1,000,017"),
    ),
    "a list in the indent filter": (
        HEAVY + "{{ l|indent }}",
        SIZE.format("1,000,017"),
    ),
    "a value nested too deeply to print": (
        "{% set ns = namespace(l=[]) %}{% for i in range(1000) %}{% set ns.l = [ns.l] %}"
        "{% endfor %}{{ ns.l }}",
        "render limit: a value nested deeper than 50",
    ),
    "a list in a printf": (
        HEAVY + "{{ '%s' % (l,) }}",
        SIZE.format("1,000,051"),
    ),
    "repeated escaping": (
        "{{ ('&' * 300000)|forceescape|forceescape|length }}",
        SIZE.format("1,500,000"),
    ),
    "output": (
        "{% for i in range(2000) %}{{ 'x' * 1000 }}{% endfor %}",
        "render limit: output over 1,000,000 characters",
    ),
    "macro output": (
        "{% macro m() %}{% for i in range(2000) %}{{ 'x' * 1000 }}{% endfor %}{% endmacro %}"
        "{{ m() }}",
        "render limit: output over 1,000,000 characters",
    ),
    "~ with autoescaping on": (
        "{% autoescape true %}{{ ('x' * 600000) ~ ('x' * 600000) }}{% endautoescape %}",
        SIZE.format("1,200,000"),
    ),
    "urlize with a long target": (
        "{{ ('a.co ' * 1000)|urlize(target='x' * 10**4) }}",
        SIZE.format("10,074,000"),
    ),
    "large text kept in a block": (
        "{% set x %}{% for i in range(100000) %}{{ 'x'|center(10**6) }}{% endfor %}{% endset %}"
        "{{ x|length }}",
        MADE,
    ),
    "text made and thrown away": (
        "{% for i in range(1000) %}{{ ('x' * 10**6)|length }}{% endfor %}",
        MADE,
    ),
}

# Huge arguments that do no harm: the result is small, and the render succeeds.
HARMLESS = {
    "{{ 'x'|wordwrap(10**9) }}": "x",
    "{{ 'x'|truncate(10**9) }}": "x",
    "{{ 'x'|replace('x', 'y', 10**9) }}": "y",
    "{{ ('x' * 10**6)|length }}": "1000000",
    "{{ {}.fromkeys(range(100000))|length }}": "100000",
    "{{ range(100000)|join|length }}": "488890",
    "{{ 2**65535 > 0 }}": "True",
}


# What the acceptance asks of every hostile input: a located error, or a harmless result,
# within 10 s and under 200 MB of resident memory (the build and its render processes).
PEAK_KIB = 200 * 1024


def _build_capped(root: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-c", BUILD_WITH_A_MEMORY_CAP],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    peak = int((root.parent / "maxrss").read_text())
    assert peak < PEAK_KIB, f"the build's peak resident memory was {peak // 1024} MB"
    return result


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_template_is_a_pb004_error_at_its_line(
    make_bundle: BundleFactory, name: str
) -> None:
    line, message = HOSTILE[name]
    root = make_bundle({"agents/x.md": f"{HEADER}ok\n{line}\n"})
    result = _build_capped(root)
    assert (result.returncode, result.stderr) == (1, f"agents/x.md:6:1: error: {message} [PB004]\n")
    assert not (root / "dist").exists()


@pytest.mark.parametrize("line", sorted(HARMLESS))
def test_huge_arguments_that_make_small_results_render(
    make_bundle: BundleFactory, line: str
) -> None:
    root = make_bundle({"agents/x.md": f"{HEADER}{line}\n"})
    result = _build_capped(root)
    assert (result.returncode, result.stderr) == (0, "")
    built = (root / "dist/claude-code/agents/x.md").read_text(encoding="utf-8")
    assert built.endswith(f"---\n{HARMLESS[line]}\n")


def test_filters_are_not_run_while_compiling(make_bundle: BundleFactory) -> None:
    # Folded into constants, these would make a gigabyte of compiled code before any render.
    lines = "{{ 'x'|center(1000000) }}\n" * 1000
    root = make_bundle({"agents/x.md": f"{HEADER}{lines}"})
    result = _build_capped(root)
    # The first line's text is the whole million; its line break goes over.
    assert (result.returncode, result.stderr) == (
        1,
        "agents/x.md:5:1: error: render limit: output over 1,000,000 characters [PB004]\n",
    )


def test_running_out_of_memory_is_a_pb004_error_at_its_line(
    make_bundle: BundleFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_memory_left(size: int) -> None:
        raise MemoryError

    monkeypatch.setattr(limits, "made", no_memory_left)
    root = make_bundle({"agents/x.md": f"{HEADER}ok\n{{{{ [1, 2] }}}}\n"})
    with pytest.raises(PromptBundleError) as info:
        build_outputs(load(root))
    assert info.value.lines() == [
        f"{root / 'agents/x.md'}:6:1: error: render limit: out of memory [PB004]"
    ]


def test_a_limit_hit_in_a_render_process_is_reported_like_any_other(
    make_bundle: BundleFactory,
) -> None:
    files = {
        f"agents/a{i:02}.md": f"---\nname: a{i:02}\ndescription: A\n---\nok\n" for i in range(80)
    }
    files["agents/a57.md"] = "---\nname: a57\ndescription: A\n---\n{{ 'x'.ljust(10**9) }}\n"
    root = make_bundle(files)
    with pytest.raises(PromptBundleError) as info:
        build_outputs(load(root), jobs=2)
    assert info.value.lines() == [
        f"{root / 'agents/a57.md'}:5:1: error: {SIZE.format('1,000,000,000')} [PB004]"
    ]


def test_a_limit_hit_in_a_fragment_names_the_fragment_line_and_the_agent(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle(
        {
            "agents/x.md": f'{HEADER}{{{{ fragment("pad") }}}}\n',
            "fragments/pad.md": "# Pad\n\n{{ 'x'.ljust(10**9) }}\n",
        }
    )
    result = _build_capped(root)
    assert (result.returncode, result.stderr) == (
        1,
        "fragments/pad.md:3:1: error: render limit: a string or list of 1,000,000,000"
        " characters or items (limit 1,000,000)"
        " (while rendering agents/x.md for target claude-code) [PB004]\n",
    )


def test_a_fragment_that_renders_itself_stops_at_the_nesting_limit(
    make_bundle: BundleFactory,
) -> None:
    root = make_bundle(
        {
            "agents/x.md": f'{HEADER}{{{{ fragment("again") }}}}\n',
            "fragments/again.md": "Again\n{{ fragment('again') }}\n",
        }
    )
    with pytest.raises(PromptBundleError) as info:
        build_outputs(load(root))
    assert info.value.lines() == [
        f"{root / 'fragments/again.md'}:2:1: error: {DEPTH}"
        " (while rendering agents/x.md for target claude-code) [PB004]"
    ]


def test_a_template_that_includes_itself_is_an_include_cycle(make_bundle: BundleFactory) -> None:
    root = make_bundle(
        {
            "agents/x.md": f"{HEADER}{{% include 'self.md' %}}\n",
            "fragments/self.md": "Self\n{% include 'self.md' %}\n",
        }
    )
    with pytest.raises(PromptBundleError) as info:
        build_outputs(load(root))
    assert info.value.lines() == [
        f"{root / 'fragments/self.md'}:2:1: error: templates include each other without end"
        " (an include cycle) (while rendering agents/x.md for target claude-code) [PB003]"
    ]


def _ticking_clock() -> Iterator[float]:
    """A clock that moves one second each time it is read."""
    second = 0.0
    while True:
        second += 1.0
        yield second


@pytest.mark.parametrize(
    "loops",
    [
        "{% for i in range(5000)|map('abs') %}{% endfor %}",  # read every 64 steps
        "{% for i in range(5000) %}{% for j in [i] %}{% endfor %}{% endfor %}",  # at each start
    ],
)
def test_a_render_that_runs_out_of_time_stops_in_a_loop(
    make_bundle: BundleFactory, monkeypatch: pytest.MonkeyPatch, loops: str
) -> None:
    clock = _ticking_clock()
    monkeypatch.setattr(limits, "monotonic", lambda: next(clock))
    root = make_bundle({"agents/x.md": f"{HEADER}ok\n{loops}\n"})
    with pytest.raises(PromptBundleError) as info:
        build_outputs(load(root))
    assert info.value.lines() == [
        f"{root / 'agents/x.md'}:6:1: error: render limit: rendering took over 10 seconds [PB004]"
    ]


def test_a_render_that_runs_out_of_time_stops_at_a_macro_call(
    make_bundle: BundleFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _ticking_clock()
    monkeypatch.setattr(limits, "monotonic", lambda: next(clock))
    agent = f"{HEADER}{{% macro m() %}}{{% endmacro %}}\n" + "{{ m() }}\n" * 20
    root = make_bundle({"agents/x.md": agent})
    with pytest.raises(PromptBundleError) as info:
        build_outputs(load(root))
    # Read once when the render starts (deadline 11) and once per call: the 10th call is late.
    assert info.value.lines() == [
        f"{root / 'agents/x.md'}:15:1: error: render limit: rendering took over 10 seconds [PB004]"
    ]


def test_format_map_called_wrongly_is_jinjas_own_error(make_bundle: BundleFactory) -> None:
    root = make_bundle({"agents/x.md": f"{HEADER}{{{{ '{{a}}'.format_map() }}}}\n"})
    with pytest.raises(PromptBundleError) as info:
        build_outputs(load(root))
    assert info.value.lines() == [
        f"{root / 'agents/x.md'}:5:1: error: format_map() takes exactly one argument (0 given)"
        " [PB003]"
    ]


def test_check_reports_a_limit_hit_as_pb004(make_bundle: BundleFactory) -> None:
    root = make_bundle({"agents/x.md": f"{HEADER}{{{{ 'x'|center(10**9) }}}}\n"})
    found = [(str(d.location), d.code, d.message) for d in run_checks(root).diagnostics]
    assert found == [("agents/x.md:5:1", "PB004", SIZE.format("1,000,000,000"))]


# Ordinary templates render exactly as in Jinja's own sandbox.
ORDINARY = [
    "{% for x in [1, 2, 3] %}{{ loop.index }}/{{ loop.length }}/{{ loop.revindex }}"
    "{{ '.' if loop.last }}{{ loop.cycle('a', 'b') }}{% endfor %}",
    "{% for x in [] %}a{% else %}empty{% endfor %}",
    "{% for x in [1, 0, 2] if x %}{{ x }}{% endfor %}",
    "{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}",
    "{% for n in [{'c': [{'c': []}]}, {'c': []}] recursive %}[{{ loop.depth }}"
    "{{ loop(n.c) }}]{% endfor %}",
    "{% macro item(x, y=2) %}- {{ x }} {{ y }}{{ caller() }}{% endmacro %}"
    "{% call item(1) %}!{% endcall %}",
    "{% set ns = namespace(total=0) %}{% for i in range(100) %}{% set ns.total = ns.total + i %}"
    "{% endfor %}{{ ns.total }} {{ ns }}",
    "{{ '%05.1f|%-4s|%d%%' % (3.14159, 'x', 7) }} {{ '%(a)s!' % {'a': 'k'} }}",
    "{{ '{0:>5}|{a}|{b[0]}'.format('r', a=1, b=[2]) }} {{ '{x:.2f}'.format_map({'x': 2}) }}",
    "{{ range(5)|sum }} {{ [[1], [2]]|sum(start=[]) }} {{ 'a www.x.org b'|urlize }}",
    "{{ 'x\ny'|indent(2, true) }}|{{ 'abc'|center(7) }}|{{ [1, 2, 3]|batch(2, 0)|list }}"
    "|{{ [1, 2, 3]|slice(2)|list }}|{{ 'ab cd ef'|wordwrap(3) }}|{{ 'long text'|truncate(7) }}",
    "{{ 2**10 }} {{ 2 * 3 }} {{ 'ab' * 2 }} {{ [1] + [2] }} {{ 'a' + 'b' }} {{ 7 % 3 }}"
    " {{ 'a' ~ 1 ~ none }} {{ {'a': [1, 'x']} }} {{ (1, 2) * 2 }} {{ 2.5 ** 2 }}",
    "{{ 'a-b'.replace('-', '+') }} {{ ','.join(['a', 'b']) }} {{ 'x'.ljust(3) }}|"
    "{{ 'a\tb'.expandtabs(4) }} {{ '7'.zfill(3) }} {{ 'a'.translate({97: 'bc'}) }}",
    "{% autoescape true %}{{ '<' ~ 'b' }}{{ ('<x>'|e).format(1) }}{% endautoescape %}",
    "{{ [3, 1, 2]|sort|join(', ') }} {{ ['a', 'b']|map('upper')|list }} {{ 'x'|string }}"
    " {{ {'b': 1}|tojson }} {{ 'a&b'|e }} {{ 'Hello World'|wordcount }}",
    "{% set l = [] %}{% for i in range(3) %}{{ l.append(i) }}{% endfor %}{{ l }}"
    "{% set d = {} %}{{ d.update({'a': 1}) }}{{ d }}{{ d.fromkeys('ab', 0) }}",
    "{% set block %}one {{ 1 + 1 }}{% endset %}{{ block|upper }}",
]


def _render(env: jinja2.Environment, source: str) -> str:
    return env.from_string(source).render()


@pytest.mark.parametrize("source", ORDINARY)
def test_ordinary_templates_render_as_in_jinjas_sandbox(source: str) -> None:
    options = {"undefined": jinja2.StrictUndefined, "keep_trailing_newline": True}
    plain = SandboxedEnvironment(**options)
    bounded = BundleEnvironment(loader=jinja2.DictLoader({}), **options)
    assert _render(bounded, source) == _render(plain, source)


def test_templates_may_reach_each_limit_but_not_pass_it() -> None:
    env = BundleEnvironment(loader=jinja2.DictLoader({}), undefined=jinja2.StrictUndefined)
    at_the_limits = (
        "{{ ('x' * 1000000)|length }} {{ ('x'|center(1000000))|length }}"
        " {% for i in range(100000) %}{% endfor %}{{ range(100000)|length }}"
        "{% macro deep(n) %}{{ deep(n - 1) if n > 1 else 'bottom' }}{% endmacro %}"
        " {{ deep(49) }} {{ (2**65535).bit_length() }}"
    )
    # One level of nesting is the render itself, so 49 macro calls fit inside the 50.
    assert _render(env, at_the_limits) == "1000000 1000000 100000 bottom 65536"
    with pytest.raises(limits.RenderLimitError, match="nested deeper than 50"):
        _render(env, "{% macro deep(n) %}{{ deep(n - 1) if n > 1 }}{% endmacro %}{{ deep(50) }}")
    with pytest.raises(limits.RenderLimitError, match="more than 100,000 loop iterations"):
        _render(env, "{% for i in range(100000) %}{% endfor %}{% for i in range(1) %}{% endfor %}")
    with pytest.raises(limits.RenderLimitError, match="1,000,001 characters"):
        _render(env, "{{ 'x' * 1000001 }}")


def test_each_render_has_its_own_budget() -> None:
    env = BundleEnvironment(loader=jinja2.DictLoader({}), undefined=jinja2.StrictUndefined)
    template = env.from_string("{% for i in range(60000) %}{% endfor %}done")
    assert [template.render(), template.render()] == ["done", "done"]


def test_compiled_templates_are_cached_under_names_older_versions_never_wrote(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    root = make_bundle(
        {"agents/x.md": f"{HEADER}{{% for i in range(3) %}}{{{{ i }}}}{{% endfor %}}\n"}
    )
    cache = tmp_path / "cache"
    build_outputs(load(root), cache_dir=cache)
    names = [path.name for path in (cache / "templates").iterdir()]
    assert names
    assert all(name.startswith(f"__jinja2_{compiled_code_tag()}_") for name in names)


def test_the_compiled_code_tag_falls_back_to_the_jinja_version_without_sources(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unreadable(path: Path) -> bytes:
        raise OSError("no sources")

    monkeypatch.setattr(Path, "read_bytes", unreadable)
    assert compiled_code_tag.__wrapped__() == f"v{jinja2.__version__}"


def test_the_limits_are_documented_in_the_checks_page() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs/checks.md").read_text(encoding="utf-8")
    paragraph = textwrap.dedent(docs.split("## Limits", 1)[1].split("\n## ", 1)[0])
    for number in (
        limits.MAX_OUTPUT,
        limits.MAX_SIZE,
        limits.MAX_MADE,
        limits.MAX_LOOP_STEPS,
        limits.MAX_CALLS,
        limits.MAX_DEPTH,
        limits.MAX_INT_BITS,
    ):
        assert f"{number:,}" in paragraph
    assert f"{limits.MAX_SECONDS:g} seconds" in paragraph
