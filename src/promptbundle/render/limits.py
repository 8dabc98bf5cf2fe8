"""The resource limits of one render, and the checks the sandbox runs to keep within them.

A template can ask for a string of two billion characters (`'x'|center(2*10**9)`), an integer
of ten billion digits (`10**(10**10)`) or a loop of 10**10 steps in one line. Every way a
template makes a value that can grow beyond its inputs is checked *before* the value is made:
the operators `*`, `**`, `+`, `%` and `~`, string formatting, the string methods and filters
that pad, repeat, wrap or join, `range` and `lipsum`. A list is measured by the text it would
print, so a million references to one long string are as large as that text. Loops, macro
calls, the text made and time are counted per render. A limit hit raises `RenderLimitError`;
the render reports it at the template line. The limits are far above what a prompt needs;
docs/checks.md lists them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sized
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from time import monotonic
from typing import Any

from jinja2.runtime import Context, markup_join
from jinja2.utils import Namespace, generate_lorem_ipsum, pass_context

__all__ = [
    "MAX_CALLS",
    "MAX_DEPTH",
    "MAX_INT_BITS",
    "MAX_LOOP_STEPS",
    "MAX_MADE",
    "MAX_OUTPUT",
    "MAX_SECONDS",
    "MAX_SIZE",
    "RenderLimitError",
    "account",
    "check_binop",
    "check_call",
    "checked_filter",
    "checked_lipsum",
    "checked_markup_join",
    "checked_range",
    "checked_str_join",
    "enter_call",
    "finalize",
    "guard_loop",
    "join_output",
    "leave_call",
    "render_scope",
    "text_size",
]

# Characters one render may output: an agent body, a fragment, a macro's or a block's text.
MAX_OUTPUT = 1_000_000
# Characters of one string, or of the text of one list or dict, that one operation may make.
MAX_SIZE = 1_000_000
# Characters that all operations of one render may make (kept or thrown away) or store into
# lists and dicts, together.
MAX_MADE = 20_000_000
# Loop iterations in one render (every `{% for %}`, nested loops multiply).
MAX_LOOP_STEPS = 100_000
# Macro calls in one render (a macro calling itself twice fans out fast).
MAX_CALLS = 100_000
# Macro calls, recursive loops and fragment() renders nested in one another.
MAX_DEPTH = 50
# Bits of an integer that `*` or `**` may make (about 19,700 decimal digits).
MAX_INT_BITS = 65_536
# Wall-clock seconds one render may take, checked at loop steps and calls.
MAX_SECONDS = 10.0

# How often (in loop steps) the clock is read.
_CLOCK_EVERY = 64


class RenderLimitError(Exception):
    """A template went over one of the limits above; the message names the limit."""

    def __init__(self, what: str) -> None:
        super().__init__(f"render limit: {what}")


@dataclass
class RenderBudget:
    """What one render has used so far."""

    deadline: float
    steps: int = 0
    calls: int = 0
    depth: int = 0
    made: int = 0

    def check_clock(self) -> None:
        if monotonic() > self.deadline:
            raise RenderLimitError(f"rendering took over {MAX_SECONDS:g} seconds")

    def take_steps(self, count: int) -> None:
        """Count loop iterations; the clock is read every 64 of them."""
        before = self.steps
        self.steps += count
        if self.steps > MAX_LOOP_STEPS:
            raise RenderLimitError(f"more than {MAX_LOOP_STEPS:,} loop iterations")
        if self.steps // _CLOCK_EVERY != before // _CLOCK_EVERY:
            self.check_clock()


_budget: ContextVar[RenderBudget | None] = ContextVar("promptbundle_budget", default=None)


@contextmanager
def render_scope() -> Iterator[RenderBudget]:
    """The budget of the render in progress, or a new one for a render that starts here.

    A fragment rendered inside an agent shares the agent's budget, and counts as one level
    of nesting."""
    budget = _budget.get()
    token = None
    if budget is None:
        budget = RenderBudget(monotonic() + MAX_SECONDS)
        token = _budget.set(budget)
    try:
        enter_call()
        try:
            yield budget
        finally:
            leave_call(budget)
    finally:
        if token is not None:
            _budget.reset(token)


def enter_call(*, counted: bool = False) -> RenderBudget | None:
    """One more level of nesting (a macro call when `counted`, a recursive loop, a fragment).

    Returns the budget to hand to `leave_call` when the call returns."""
    budget = _budget.get()
    if budget is None:
        return None
    if counted:
        budget.calls += 1
        if budget.calls > MAX_CALLS:
            raise RenderLimitError(f"more than {MAX_CALLS:,} macro calls")
    if budget.depth >= MAX_DEPTH:
        raise RenderLimitError(f"macro calls or fragments nested deeper than {MAX_DEPTH}")
    budget.check_clock()
    budget.depth += 1
    return budget


def leave_call(budget: RenderBudget | None) -> None:
    if budget is not None:
        budget.depth -= 1


def guard_loop(iterable: Iterable[Any]) -> Iterable[Any]:
    """The items of a `{% for %}` loop, counted against the render's loop steps.

    A loop over a list, a string, a range or a dict is counted whole before it starts (a loop
    always runs to its end); any other iterable is counted item by item."""
    budget = _budget.get()
    if budget is None:
        return iterable
    if isinstance(iterable, Sized):
        budget.take_steps(len(iterable))
        budget.check_clock()
        return iterable
    return _counted(iterable, budget)


def _counted(iterable: Iterable[Any], budget: RenderBudget) -> Iterator[Any]:
    for item in iterable:
        budget.take_steps(1)
        yield item


# -- sizes


def check_size(size: int) -> None:
    """Refuse a value of `size` characters or items before it is made."""
    if size > MAX_SIZE:
        raise RenderLimitError(
            f"a string or list of {size:,} characters or items (limit {MAX_SIZE:,})"
        )


def made(size: int) -> None:
    """Count a value of `size` characters or items that an operation made."""
    check_size(size)
    _spend(size)


def _spend(size: int) -> None:
    """Count `size` characters or items against the render's total."""
    budget = _budget.get()
    if budget is not None:
        budget.made += size
        if budget.made > MAX_MADE:
            raise RenderLimitError(f"more than {MAX_MADE:,} characters or items made in one render")


_SIZED = (str, bytes, bytearray, list, tuple, dict, set, frozenset)


def account(result: Any, *inputs: Any) -> None:
    """Count what an operation returned, unless it is one of its inputs."""
    if isinstance(result, _SIZED) and not any(result is item for item in inputs):
        made(len(result))


def text_size(value: Any, limit: int = MAX_SIZE) -> int:
    """About how many characters `str(value)` has; stops counting once over `limit`.

    Containers are walked instead of converted, so a list holding one long string a million
    times is refused before its text is made, and so is a value nested deeper than Python
    can print."""
    if isinstance(value, str):
        return len(value)
    total = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending and total <= limit:
        item, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise RenderLimitError(f"a value nested deeper than {MAX_DEPTH}")
        total += _own_size(item, depth + 1, pending)
    return total


def _own_size(value: Any, depth: int, pending: list[tuple[Any, int]]) -> int:
    """Characters `value` adds to its container's text; its items go onto `pending`."""
    if isinstance(value, (str, bytes, bytearray)):
        return len(value) + 3
    if isinstance(value, Mapping):
        pending.extend((item, depth) for item in value)
        pending.extend((item, depth) for item in value.values())
        return 2 + 4 * len(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        pending.extend((item, depth) for item in value)
        return 2 + 2 * len(value)
    return _other_size(value, depth, pending)


def _other_size(value: Any, depth: int, pending: list[tuple[Any, int]]) -> int:
    """As `_own_size`, for a value that is neither text nor a container."""
    if isinstance(value, int):
        return value.bit_length() // 3 + 2
    if value is None or isinstance(value, float):
        return 24
    if isinstance(value, Namespace):
        try:
            pending.append((object.__getattribute__(value, "_Namespace__attrs"), depth))
        except AttributeError:  # a Jinja that keeps a namespace's values elsewhere
            return 32
        return 16
    return 32


def _int_arg(
    args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str, default: int = 0
) -> int:
    """An integer argument by position or name; `default` when absent, 0 if not an integer."""
    value = args[index] if len(args) > index else kwargs.get(name, default)
    return value if isinstance(value, int) else 0


def _str_arg(args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str) -> Any:
    return args[index] if len(args) > index else kwargs.get(name)


# -- operators


def _check_multiply(left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, int):
        bits = left.bit_length() + right.bit_length()
        if bits > MAX_INT_BITS:
            raise RenderLimitError(f"an integer of about {bits:,} bits (limit {MAX_INT_BITS:,})")
        return
    sequence, count = (right, left) if isinstance(left, int) else (left, right)
    if isinstance(count, int) and isinstance(sequence, (str, bytes, list, tuple)):
        check_size(_weight(sequence) * max(count, 0))


def _check_power(base: Any, exponent: Any) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        bits = (abs(base) - 1).bit_length() * exponent
        if bits > MAX_INT_BITS:
            raise RenderLimitError(f"an integer of about {bits:,} bits (limit {MAX_INT_BITS:,})")


def _check_add(left: Any, right: Any) -> None:
    sized = (str, bytes, list, tuple)
    if isinstance(left, sized) and isinstance(right, sized):
        check_size(_weight(left) + _weight(right))


def _weight(sequence: str | bytes | list[Any] | tuple[Any, ...]) -> int:
    """The characters of a string, or of a list's text: a list of a million references to
    one long string weighs as much as its text, which is what printing or comparing it costs."""
    if isinstance(sequence, (str, bytes)) or not sequence:
        return len(sequence)
    return text_size(sequence)


def _check_modulo(left: Any, right: Any) -> None:
    if isinstance(left, (bytes, bytearray)):
        left = left.decode("latin-1")
    if isinstance(left, str):
        check_size(printf_size(left, right))


_BINOP_CHECKS: dict[str, Callable[[Any, Any], None]] = {
    "*": _check_multiply,
    "**": _check_power,
    "+": _check_add,
    "%": _check_modulo,
}


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse `left <operator> right` if its result would be over a limit."""
    check = _BINOP_CHECKS.get(operator)
    if check is not None:
        check(left, right)


# -- formatting

# One printf conversion: %(key)flags width .precision length type.
_PRINTF = re.compile(r"%(?:\(([^)]*)\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?(.?)", re.S)
# Digit runs of a str.format spec (width, precision, or a digit used as fill).
_DIGITS = re.compile(r"\d+")


def _number(text: str) -> int:
    return int(text or "0") if len(text) <= 18 else 10**18


class _PrintfArgs:
    """The values a printf format consumes, in order or by key."""

    def __init__(self, args: Any) -> None:
        self.args = args
        self.values = args if isinstance(args, tuple) else (args,)
        self.position = 0

    def next(self) -> Any:
        value = self.values[self.position] if self.position < len(self.values) else None
        self.position += 1
        return value

    def star(self) -> int:
        value = self.next()
        return abs(value) if isinstance(value, int) else 0

    def key(self, name: str) -> Any:
        return self.args.get(name) if isinstance(self.args, Mapping) else None


def printf_size(fmt: str, args: Any) -> int:
    """About how many characters `fmt % args` has at most: widths, precisions and values."""
    values = _PrintfArgs(args)
    total = len(fmt)
    for match in _PRINTF.finditer(fmt):
        key, width, precision, conversion = match.groups()
        if conversion == "%":
            continue
        for part in (width, precision):
            total += values.star() if part == "*" else _number(part or "")
        value = values.next() if key is None else values.key(key)
        total += text_size(value) + 32
        if total > MAX_SIZE:
            break
    return total


def check_format_field(value: Any, spec: str, so_far: int) -> None:
    """Refuse one `{...}` field of `str.format` whose width or text is over the limit."""
    widths = sum(_number(digits) for digits in _DIGITS.findall(spec))
    check_size(so_far + widths + text_size(value))


# -- calls of methods

Args = tuple[Any, ...]
# A check of a method call: (the method's object, its arguments, keywords) -> arguments to use.
CallCheck = Callable[[Any, Args, Mapping[str, Any]], Args]


def _check_pad(owner: Any, args: Args, kwargs: Mapping[str, Any]) -> Args:
    check_size(max(len(owner), _int_arg(args, kwargs, 0, "width")))
    return args


def _check_expandtabs(owner: Any, args: Args, kwargs: Mapping[str, Any]) -> Args:
    tab = "\t" if isinstance(owner, str) else b"\t"
    tabsize = _int_arg(args, kwargs, 0, "tabsize", 8)
    check_size(len(owner) + owner.count(tab) * max(tabsize, 0))
    return args


def replaced_size(text: Any, old: Any, new: Any, count: Any) -> int:
    """Exactly how long `text.replace(old, new, count)` is (0 for arguments it refuses)."""
    if not (isinstance(old, type(text)) and isinstance(new, type(text))):
        return 0
    found = len(text) + 1 if not old else text.count(old)
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * (len(new) - len(old))


def _check_replace(owner: Any, args: Args, kwargs: Mapping[str, Any]) -> Args:
    old, new = _str_arg(args, kwargs, 0, "old"), _str_arg(args, kwargs, 1, "new")
    check_size(replaced_size(owner, old, new, _str_arg(args, kwargs, 2, "count")))
    return args


def _check_translate(owner: Any, args: Args, kwargs: Mapping[str, Any]) -> Args:
    table = _str_arg(args, kwargs, 0, "table")
    if isinstance(table, Mapping):
        replacements: Iterable[Any] = table.values()
    elif isinstance(table, (list, tuple)):
        replacements = table
    else:
        replacements = ()
    longest = max((len(item) for item in replacements if isinstance(item, str)), default=1)
    check_size(len(owner) * max(longest, 1))
    return args


def _joined_size(separator: Any, items: list[Any]) -> int:
    total = len(separator) * max(len(items) - 1, 0)
    for item in items:
        total += text_size(item)
        if total > MAX_SIZE:
            break
    return total


def _check_join(owner: Any, args: Args, kwargs: Mapping[str, Any]) -> Args:
    if not args:
        return args
    items = list(args[0])
    check_size(_joined_size(owner, items))
    return (items, *args[1:])


def _check_store(owner: Any, args: Args, kwargs: Mapping[str, Any]) -> Args:
    """Count what a list, dict or set is about to hold as if it were made: one long string
    stored a million times over in a loop weighs what it would print."""
    _spend(sum(text_size(value) for value in (*args, *kwargs.values())))
    return args


def _check_extend(owner: Any, args: Args, kwargs: Mapping[str, Any]) -> Args:
    if not args:
        return args
    items = list(args[0])
    check_size(len(owner) + len(items))
    return _check_store(owner, (items, *args[1:]), kwargs)


def _check_fromkeys(owner: Any, args: Args, kwargs: Mapping[str, Any]) -> Args:
    if not args:
        return args
    keys = list(args[0])
    value = args[1] if len(args) > 1 else kwargs.get("value")
    check_size(len(keys) * _fill_weight(value))
    return (keys, *args[1:])


def _fill_weight(value: Any) -> int:
    """What one copy of a value repeated to fill a list or dict weighs (None: one item)."""
    return 1 if value is None else max(text_size(value), 1)


def _check_to_bytes(owner: Any, args: Args, kwargs: Mapping[str, Any]) -> Args:
    check_size(_int_arg(args, kwargs, 0, "length", 1))
    return args


_TEXT_METHODS: dict[str, CallCheck] = {
    "center": _check_pad,
    "ljust": _check_pad,
    "rjust": _check_pad,
    "zfill": _check_pad,
    "expandtabs": _check_expandtabs,
    "replace": _check_replace,
    "translate": _check_translate,
    "join": _check_join,
}
# Methods that store their arguments in a list, dict or set.
_STORING_METHODS: dict[str, CallCheck] = {
    "append": _check_store,
    "insert": _check_store,
    "update": _check_store,
    "setdefault": _check_store,
    "add": _check_store,
    "extend": _check_extend,
}


def _call_check(owner: Any, name: str) -> CallCheck | None:
    if isinstance(owner, (str, bytes, bytearray)):
        return _TEXT_METHODS.get(name)
    if isinstance(owner, (list, dict, set)):
        return _STORING_METHODS.get(name)
    if owner is dict and name == "fromkeys":
        return _check_fromkeys
    if isinstance(owner, int) and name == "to_bytes":
        return _check_to_bytes
    return None


def check_call(func: Any, args: Args, kwargs: Mapping[str, Any]) -> Args:
    """Refuse a method call whose result would be over a limit; returns the arguments to use.

    An iterable argument that must be measured first (`join`, `extend`, `fromkeys`) is read
    into a list, which is passed on instead."""
    check = _call_check(getattr(func, "__self__", None), getattr(func, "__name__", ""))
    return args if check is None else check(func.__self__, args, kwargs)


# -- filters and globals


def _text(value: Any) -> str:
    """`str(value)`, refused before it is made if it would be over the size limit."""
    if isinstance(value, str):
        return value
    check_size(text_size(value))
    return str(value)


def _check_center_filter(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    check_size(max(text_size(args[0]), _int_arg(args, kwargs, 1, "width")))
    return args


def _check_indent_filter(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    width = _str_arg(args, kwargs, 1, "width")
    if width is None:
        width = 4
    step = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    check_size(step)
    text = _text(args[0])
    check_size(len(text) + (len(text.splitlines()) + 1) * step)
    return args


def _check_wordwrap_filter(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    wrapstring = _str_arg(args, kwargs, 3, "wrapstring")
    if isinstance(wrapstring, str) and len(wrapstring) > 1:
        check_size(text_size(args[0]) * (1 + len(wrapstring)))
    width = max(_int_arg(args, kwargs, 1, "width", 79), 1)
    longest = max(map(len, _text(args[0]).split()), default=0)
    # Breaking a long word copies the rest of the word for every line it makes.
    if longest * longest // width > MAX_MADE:
        raise RenderLimitError(
            f"wordwrap would copy about {longest * longest // width:,} characters to break"
            f" a word of {longest:,} into lines of {width} (limit {MAX_MADE:,})"
        )
    return args


def _check_format_filter(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    check_size(printf_size(_text(args[0]), kwargs or tuple(args[1:])))
    return args


def _check_join_filter(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    items = list(args[0])
    separator = _str_arg(args, kwargs, 1, "d")
    check_size(_joined_size(separator if isinstance(separator, str) else "", items))
    return (items, *args[1:])


def _check_replace_filter(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    old, new = _str_arg(args, kwargs, 1, "old"), _str_arg(args, kwargs, 2, "new")
    count = _str_arg(args, kwargs, 3, "count")
    check_size(replaced_size(_text(args[0]), _text(old), _text(new), count))
    return args


def _check_batch_filter(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    fill_with = _str_arg(args, kwargs, 2, "fill_with")
    if fill_with is not None:
        check_size(_int_arg(args, kwargs, 1, "linecount") * _fill_weight(fill_with))
    return args


def _check_slice_filter(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    fill_with = _str_arg(args, kwargs, 2, "fill_with")
    check_size(_int_arg(args, kwargs, 1, "slices") * _fill_weight(fill_with))
    return args


def _check_sum_filter(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    start = _str_arg(args, kwargs, 2, "start")
    if not isinstance(start, (list, tuple)):
        return args
    items = list(args[0])
    check_size(len(start) + sum(len(item) for item in items if isinstance(item, (list, tuple))))
    return (items, *args[1:])


def _check_urlize_filter(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    text = _text(args[0])
    target, rel = _str_arg(args, kwargs, 3, "target"), _str_arg(args, kwargs, 4, "rel")
    extra = len(str(target or "")) + len(str(rel or ""))
    check_size(2 * len(text) + len(text.split()) * (extra + 64))
    return args


def _check_text_filter(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    check_size(text_size(args[0]) if args else 0)
    return args


FilterCheck = Callable[[tuple[Any, ...], dict[str, Any]], tuple[Any, ...]]

# Checks run before a filter, on (value, *arguments): the filters whose result can be much
# larger than their input, and the ones that turn a container into text.
FILTER_CHECKS: dict[str, FilterCheck] = {
    "center": _check_center_filter,
    "indent": _check_indent_filter,
    "wordwrap": _check_wordwrap_filter,
    "format": _check_format_filter,
    "join": _check_join_filter,
    "replace": _check_replace_filter,
    "batch": _check_batch_filter,
    "slice": _check_slice_filter,
    "sum": _check_sum_filter,
    "urlize": _check_urlize_filter,
    **{
        name: _check_text_filter
        for name in (
            *("string", "tojson", "pprint", "e", "escape", "forceescape", "safe", "xmlattr"),
            *("upper", "lower", "title", "capitalize", "trim", "striptags", "wordcount"),
            *("urlencode", "truncate"),
            # These compare (and, ignoring case, lower) every item.
            *("sort", "unique", "min", "max", "groupby", "dictsort"),
        )
    },
}


# What a filter marked pass_context, pass_eval_context or pass_environment gets first.
_PASSED: dict[str, Callable[[Context], Any]] = {
    "context": lambda context: context,
    "eval_context": lambda context: context.eval_ctx,
    "environment": lambda context: context.environment,
}


def checked_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """`func` (a Jinja filter) with its check before and its result counted after.

    The checked filter takes the context, so Jinja never runs it while compiling (constant
    folding would make its result part of the compiled code, outside any render's budget)."""
    check = FILTER_CHECKS.get(name)
    passed = _PASSED.get(getattr(getattr(func, "jinja_pass_arg", None), "name", ""))

    @wraps(func)
    def checked(context: Context, *args: Any, **kwargs: Any) -> Any:
        if check is not None and args:
            args = check(args, kwargs)
        first = () if passed is None else (passed(context),)
        result = func(*first, *args, **kwargs)
        account(result, *args)
        return result

    return pass_context(checked)


def checked_range(*args: int) -> range:
    """`range`, refused beyond the loop steps a render may take."""
    numbers = range(*args)
    if len(numbers) > MAX_LOOP_STEPS:
        raise RenderLimitError(f"a range of {len(numbers):,} numbers (limit {MAX_LOOP_STEPS:,})")
    return numbers


def checked_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    """`lipsum`, refused when the text would be over the size limit."""
    if isinstance(n, int) and isinstance(max, int) and isinstance(min, int):
        check_size(n * (max if max > min else min) * 16)
    return generate_lorem_ipsum(n=n, html=html, min=min, max=max)


# -- text made by templates


_SCALARS = (str, int, float, type(None))


def finalize(value: Any) -> Any:
    """Every `{{ ... }}` value: a container is measured before it becomes text."""
    if not isinstance(value, _SCALARS):
        made(text_size(value))
    return value


def checked_str_join(pieces: Iterable[Any]) -> str:
    """`a ~ b`: the pieces as text, refused before joining when they are too long together."""
    texts = []
    total = 0
    for piece in pieces:
        if type(piece) is not str:
            made(text_size(piece))
            piece = str(piece)
        total += len(piece)
        texts.append(piece)
    made(total)
    return "".join(texts)


def checked_markup_join(pieces: Iterable[Any]) -> str:
    """`a ~ b` where autoescaping may be on: measured first, as `checked_str_join`."""
    items = list(pieces)
    check_size(sum(text_size(item) for item in items))
    text = markup_join(items)
    made(len(text))
    return text


def join_output(pieces: Iterable[str]) -> str:
    """The text of a render, a macro or a block, refused as soon as it is over the limit.

    The error is raised inside a render's generator, at the template line whose text went
    over, so that the error names that line."""
    if isinstance(pieces, list):  # the text of a macro or a block
        total = sum(map(len, pieces))
        if total > MAX_OUTPUT:
            raise RenderLimitError(f"output over {MAX_OUTPUT:,} characters")
        made(total)
        return "".join(pieces)
    texts = []
    total = 0
    for piece in pieces:
        total += len(piece)
        if total > MAX_OUTPUT:
            error = RenderLimitError(f"output over {MAX_OUTPUT:,} characters")
            if isinstance(pieces, Generator):
                pieces.throw(error)
            raise error
        texts.append(piece)
    made(total)
    return "".join(texts)
