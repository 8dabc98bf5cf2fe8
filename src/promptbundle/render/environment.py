"""Render agent bodies and fragments through one sandboxed Jinja environment."""

from __future__ import annotations

import copy
import functools
import hashlib
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from types import CodeType, TracebackType
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.bccache import Bucket
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.loaders import split_template_path
from jinja2.runtime import Context, LoopContext, Macro
from jinja2.sandbox import SandboxedEnvironment, SandboxedEscapeFormatter, SandboxedFormatter

from promptbundle.core.errors import Location, RenderError
from promptbundle.core.markdown import shift_headings
from promptbundle.core.model import Bundle, Prompt
from promptbundle.core.suggest import did_you_mean
from promptbundle.render import limits
from promptbundle.render.limits import RenderLimitError
from promptbundle.sources.prompts import read_source

__all__ = [
    "RenderedPrompt",
    "compiled_code_tag",
    "make_env",
    "plain_text",
    "render_prompt",
    "uses_target",
]

FRAGMENT_DIR = "fragments"
AGENT_PREFIX = "agents/"

# Template names (relative to the bundle root) loaded while rendering the current agent.
_loaded: ContextVar[set[str] | None] = ContextVar("promptbundle_loaded", default=None)


class BundleLoader(jinja2.BaseLoader):
    """Loads fragments (by name under fragments/) and agent bodies; never leaves the root."""

    def __init__(self, bundle: Bundle) -> None:
        self.root = bundle.root.resolve()
        self.agents = {agent.rel: agent for agent in bundle.prompts}
        self.fragments = bundle.fragments
        # Source text of every template loaded so far, by name relative to the root.
        self.sources: dict[str, str] = {}
        self._resolved: dict[str, tuple[str, Path]] = {}

    def resolve(self, template: str) -> tuple[str, Path]:
        """(name relative to the root, file path) of a template, or TemplateNotFound."""
        if template not in self._resolved:
            self._resolved[template] = self._resolve(template)
        return self._resolved[template]

    def _resolve(self, template: str) -> tuple[str, Path]:
        pieces = split_template_path(template)  # refuses '..' and empty pieces
        rel = "/".join(pieces)
        candidates = [rel] if rel.startswith(AGENT_PREFIX) else [f"{FRAGMENT_DIR}/{rel}", rel]
        for candidate in candidates:
            path = self.root / candidate
            if path.is_file():
                real = path.resolve()
                if not real.is_relative_to(self.root):
                    break
                return candidate, path
        raise jinja2.TemplateNotFound(template)

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        rel, path = self.resolve(template)
        agent = self.agents.get(rel)
        source = agent.body if agent is not None else read_source(path)
        self.sources[rel] = source
        mtime = path.stat().st_mtime_ns
        return source, str(path), lambda: path.stat().st_mtime_ns == mtime


class LimitedCodeGenerator(CodeGenerator):
    """Jinja's code generator, with every loop and every joining of text counted.

    Loops iterate through `environment.guard_loop`; the module's `concat` (macro and block
    text), `str_join` and `markup_join` (the `~` operator) become the checked versions."""

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        super().visit_Template(node, frame)
        self.writeline("concat = environment.concat")
        self.writeline("str_join = environment.checked_str_join")
        self.writeline("markup_join = environment.checked_markup_join")

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        guarded = copy.copy(node)
        guard = nodes.EnvironmentAttribute("guard_loop", lineno=node.lineno)
        guarded.iter = nodes.Call(guard, [node.iter], [], None, None, lineno=node.lineno)
        super().visit_For(guarded, frame)


class LimitedTemplate(jinja2.Template):
    """A template whose render is one budget (limits.py); a nested render shares it."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        with limits.render_scope():
            return super().render(*args, **kwargs)


class _CheckedFormatting:
    """`str.format` fields measured before they are formatted (with a running total)."""

    formatted = 0

    def format_field(self, value: Any, format_spec: str) -> Any:
        limits.check_format_field(value, format_spec, self.formatted)
        text = super().format_field(value, format_spec)  # type: ignore[misc]
        self.formatted += len(text)
        return text


class _CheckedFormatter(_CheckedFormatting, SandboxedFormatter):
    pass


class _CheckedEscapeFormatter(_CheckedFormatting, SandboxedEscapeFormatter):
    pass


class BundleEnvironment(SandboxedEnvironment):
    """The sandboxed environment; records every template a render loads, and bounds each render.

    Every operator, call, filter, loop and join that can make a value grow beyond its inputs
    is checked against the limits in limits.py before it runs."""

    code_generator_class = LimitedCodeGenerator
    template_class = LimitedTemplate
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, finalize=limits.finalize, **kwargs)
        self.concat = limits.join_output  # type: ignore[method-assign]
        self.checked_str_join = limits.checked_str_join
        self.checked_markup_join = limits.checked_markup_join
        self.guard_loop = limits.guard_loop
        self.filters = {
            name: limits.checked_filter(name, func) for name, func in self.filters.items()
        }
        self.globals["range"] = limits.checked_range
        self.globals["lipsum"] = limits.checked_lipsum

    def get_template(self, name: Any, parent: Any = None, globals: Any = None) -> jinja2.Template:
        template = super().get_template(name, parent, globals)
        loaded = _loaded.get()
        if loaded is not None and isinstance(name, str) and isinstance(self.loader, BundleLoader):
            loaded.add(self.loader.resolve(name)[0])
        return template

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        limits.check_binop(operator, left, right)
        result = self.binop_table[operator](left, right)
        limits.account(result, left, right)
        return result

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        if isinstance(obj, (Macro, LoopContext)):
            return self._nested_call(context, obj, args, kwargs)
        args = limits.check_call(obj, args, kwargs)
        result = super().call(context, obj, *args, **kwargs)
        limits.account(result, getattr(obj, "__self__", None), *args)
        return result

    def _nested_call(
        self, context: Context, obj: Macro | LoopContext, args: tuple[Any, ...], kwargs: Any
    ) -> Any:
        """A macro call, or the `loop(...)` of a recursive loop: one level deeper."""
        if isinstance(obj, LoopContext) and args:
            args = (limits.guard_loop(args[0]), *args[1:])
        budget = limits.enter_call(counted=isinstance(obj, Macro))
        try:
            return super().call(context, obj, *args, **kwargs)
        finally:
            limits.leave_call(budget)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """`str.format` and `format_map` (as Jinja's sandbox has them), fields measured."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        text: Any = value.__self__
        is_format_map = value.__name__ == "format_map"

        def checked(*args: Any, **kwargs: Any) -> str:
            formatter: SandboxedFormatter
            if hasattr(text, "__html__"):  # Markup: its fields are escaped
                formatter = _CheckedEscapeFormatter(self, escape=text.escape)
            else:
                formatter = _CheckedFormatter(self)
            if is_format_map:
                if kwargs or len(args) != 1:
                    return wrapped(*args, **kwargs)  # Jinja's own TypeError
                kwargs, args = args[0], ()
            result: str = type(text)(formatter.vformat(text, args, kwargs))
            limits.made(len(result))
            return result

        return checked


def make_env(bundle: Bundle, *, cache_dir: Path | None = None) -> BundleEnvironment:
    """The one Jinja environment: sandbox, strict undefined, bundle-root loader, no escaping.

    Every template is compiled once per build (no eviction); with `cache_dir`, compiled
    templates are also kept across builds, keyed by name and checked against the source's hash.
    """
    env = BundleEnvironment(
        loader=BundleLoader(bundle),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        auto_reload=False,
        cache_size=-1,
        bytecode_cache=_bytecode_cache(cache_dir) if cache_dir is not None else None,
    )
    env.globals["fragment"] = _fragment
    return env


class MovableBytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's file cache, keyed by template name (relative to the bundle root) instead of
    name and absolute path, so a cache folder restored into another checkout (a CI cache)
    still serves its compiled templates. A bucket is used only when the source's checksum
    matches (Jinja checks it), and the code it holds is given the current file name, so
    render errors point at this checkout's files."""

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        return hashlib.sha1(name.encode("utf-8")).hexdigest()

    def get_bucket(
        self, environment: jinja2.Environment, name: str, filename: str | None, source: str
    ) -> Bucket:
        bucket = super().get_bucket(environment, name, filename, source)
        if bucket.code is not None and filename is not None:
            bucket.code = _renamed(bucket.code, filename)
        return bucket


def _renamed(code: CodeType, filename: str) -> CodeType:
    """`code` and the code objects inside it, compiled from `filename`."""
    if code.co_filename == filename:
        return code
    consts = tuple(
        _renamed(item, filename) if isinstance(item, CodeType) else item for item in code.co_consts
    )
    return code.replace(co_filename=filename, co_consts=consts)


def _bytecode_cache(cache_dir: Path) -> jinja2.BytecodeCache | None:
    """The compiled-template cache (see MovableBytecodeCache); None if unusable."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return MovableBytecodeCache(str(cache_dir), pattern=f"__jinja2_{compiled_code_tag()}_%s.cache")


@functools.cache
def compiled_code_tag() -> str:
    """A digest of the code that compiles templates, part of the cached templates' names.

    A compiled template holds the checks of the code that compiled it, so templates compiled
    by another version of this module or of limits.py are never loaded."""
    digest = hashlib.sha256(jinja2.__version__.encode())
    for module in (__file__, limits.__file__):
        try:
            digest.update(Path(module).read_bytes())
        except OSError:  # sources that cannot be read: one name per Jinja version
            return f"v{jinja2.__version__}"
    return digest.hexdigest()[:16]


def uses_target(env: BundleEnvironment, rendered: RenderedPrompt) -> bool:
    """Whether any template of this render mentions `target` (else every target renders alike).

    A template can only reach the target through the name `target`, so a source without that
    text renders the same for every target; the check is deliberately conservative.
    """
    loader = env.loader
    if not isinstance(loader, BundleLoader):
        return True
    return any("target" in loader.sources.get(rel, "target") for rel in rendered.sources)


@jinja2.pass_context
def _fragment(
    context: jinja2.runtime.Context, name: str, level: int | None = None, **kw: Any
) -> str:
    """Render fragments/<name>.md with the caller's variables plus `kw`; shift its headings.

    The result has no trailing line break, so `{{ fragment("x") }}` on its own line is
    replaced by the fragment's lines, and a blank line after it in the source stays one.
    """
    if not isinstance(name, str) or not name:
        raise jinja2.TemplateRuntimeError("fragment() needs a fragment name")
    template_name = name if name.endswith(".md") else f"{name}.md"
    env = context.environment
    template = env.get_template(template_name)
    variables = {**context.get_all(), **kw}
    text = template.render(variables)
    if level is not None:
        if not isinstance(level, int) or not 1 <= level <= 6:
            raise jinja2.TemplateRuntimeError(f"fragment level must be 1..6, got {level!r}")
        text = shift_headings(text, level)
    # Inline semantics: the caller's own line break ends the fragment's last line.
    return text.rstrip("\r\n")


@dataclass(frozen=True)
class RenderedPrompt:
    """A prompt's body rendered for one target, with the templates it loaded."""

    prompt: Prompt
    target: str
    body: str
    sources: tuple[str, ...]


@contextmanager
def _tracking() -> Iterator[set[str]]:
    loaded: set[str] = set()
    token = _loaded.set(loaded)
    try:
        yield loaded
    finally:
        _loaded.reset(token)


def render_prompt(
    env: BundleEnvironment, bundle: Bundle, agent: Prompt, target: dict[str, Any]
) -> RenderedPrompt:
    """Render `agent`'s body for `target`; errors point at the source line.

    The context is a deep copy: a template that mutates a variable (`list.append`) must not
    change what the next agent or target renders. A body without template syntax is its own
    render: nothing is compiled (see `plain_text`)."""
    if plain_text(agent.body):
        loader = env.loader
        if isinstance(loader, BundleLoader):
            loader.sources[agent.rel] = agent.body
        return RenderedPrompt(agent, str(target["name"]), agent.body, (agent.rel,))
    context = copy.deepcopy(
        {
            **bundle.config.vars,
            **agent.vars,
            # The prompt as `prompt` and by its kind (`agent`, `command`, `skill`, `rule`).
            "prompt": agent.context(),
            agent.kind: agent.context(),
            "target": target,
            "bundle": {
                "name": bundle.config.name,
                "version": bundle.config.version,
                "description": bundle.config.description,
                "vars": dict(bundle.config.vars),
            },
        }
    )
    with _tracking() as loaded:
        try:
            template = env.get_template(agent.rel)
            body = template.render(context)
        except jinja2.TemplateSyntaxError as err:
            raise _syntax_error(bundle, agent, err) from None
        except jinja2.TemplateNotFound as err:
            message = not_found_message(str(err.name), bundle.fragments)
            raise _runtime_error(bundle, agent, target, err, message, code="PB210") from None
        except SecurityError as err:
            raise _runtime_error(bundle, agent, target, err, f"unsafe template: {err}") from None
        except (RenderLimitError, MemoryError) as err:
            message = _limit_message(err)
            raise _runtime_error(bundle, agent, target, err, message, code="PB004") from None
        except RecursionError as err:
            message = "templates include each other without end (an include cycle)"
            raise _runtime_error(bundle, agent, target, err, message) from None
        except jinja2.UndefinedError as err:
            message = str(err) + _undefined_hint(str(err), context)
            raise _runtime_error(bundle, agent, target, err, message) from None
        except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as err:
            raise _runtime_error(bundle, agent, target, err, str(err)) from None
    fragments = sorted(name for name in loaded if name != agent.rel)
    return RenderedPrompt(agent, str(target["name"]), body, (agent.rel, *fragments))


def plain_text(text: str) -> bool:
    """Whether Jinja would render `text` as it is: no `{` (every tag, expression and comment
    starts with one), no carriage return (Jinja writes every line break as `\n`), and short
    enough for the output limit (a longer text goes through Jinja to fail there)."""
    return "{" not in text and "\r" not in text and len(text) <= limits.MAX_OUTPUT


def _limit_message(err: RenderLimitError | MemoryError) -> str:
    """A limit hit; MemoryError is a limit that the checks before each operation missed."""
    return str(err) if isinstance(err, RenderLimitError) else "render limit: out of memory"


def _undefined_hint(message: str, context: dict[str, Any]) -> str:
    """'did you mean' for a misspelt variable (`'stak' is undefined`)."""
    match = re.match(r"^'([^']+)' is undefined$", message)
    return did_you_mean(match.group(1), context) if match else ""


def _location(
    bundle: Bundle, agent: Prompt, filename: str | None, line: int
) -> tuple[Location, bool]:
    """Map a template file and line to the source location; True when it is the agent itself."""
    if filename is None:
        return Location(agent.path, agent.body_line, 1), True
    path = Path(filename)
    try:
        rel = path.resolve().relative_to(bundle.root.resolve()).as_posix()
    except ValueError:
        rel = filename
    if rel == agent.rel:
        return Location(agent.path, agent.body_line + max(line, 1) - 1, 1), True
    return Location(path, max(line, 1), 1), False


def _syntax_error(bundle: Bundle, agent: Prompt, err: jinja2.TemplateSyntaxError) -> RenderError:
    location, own = _location(bundle, agent, err.filename, err.lineno)
    suffix = "" if own else f" (in a fragment included by {agent.rel})"
    return RenderError(f"template syntax error: {err.message}{suffix}", location, code="PB002")


def _template_frames(tb: TracebackType | None) -> list[tuple[str, int]]:
    frames = []
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".md") or filename == "<template>":
            frames.append((filename, tb.tb_lineno))
        tb = tb.tb_next
    return frames


def _runtime_error(
    bundle: Bundle,
    agent: Prompt,
    target: dict[str, Any],
    err: BaseException,
    message: str,
    *,
    code: str | None = None,
) -> RenderError:
    frames = _template_frames(err.__traceback__ or sys.exc_info()[2])
    filename, line = frames[-1] if frames else (None, 0)
    location, own = _location(bundle, agent, filename, line)
    context = f" (while rendering {agent.rel} for target {target['name']})"
    return RenderError(f"{message}{'' if own else context}", location, code=code)


def not_found_message(name: str, fragments: tuple[str, ...]) -> str:
    """PB210's message: the missing template, with the closest fragment's name."""
    stem = name.removesuffix(".md")
    known = [fragment.removesuffix(".md") for fragment in fragments]
    return (
        f"template {stem!r} not found (looked in {FRAGMENT_DIR}/ and the root)"
        f"{did_you_mean(stem, known)}"
    )
