"""The Jinja environment templates render in: escaped, sandboxed, and under a time and size budget.

A template is a program written by whoever edits the company's Word file. The sandbox
already keeps it away from Python internals; this module also keeps it from turning
escaping off (a cell could then inject WordprocessingML) and from running for minutes
or filling memory: every loop, call and operator checks one budget per render.
"""

from __future__ import annotations

import functools
import marshal
import math
import re
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import StrictUndefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import LoopContext, markup_join
from jinja2.sandbox import SandboxedEnvironment
from jinja2.visitor import NodeTransformer

from opsdoc.generate.cache import Cache

# Far above a real register (the 20k-row benchmark renders in seconds, with about
# 100k loop steps and a body of some tens of MB), far below what hurts the machine.
MAX_SECONDS = 60.0
MAX_LOOP_STEPS = 2_000_000  # iterations of all {% for %} loops of one render together
MAX_TEXT = 10_000_000  # characters (or items) one operator, call or filter may produce
MAX_OUTPUT = 400_000_000  # characters one template part may render to
MAX_INT_BITS = 100_000  # about 30,000 decimal digits

# Filters whose output can be much larger than their input.
_GROWING_FILTERS = ("replace", "center", "indent", "format", "wordwrap", "join", "truncate")
_DICT_ATTRIBUTES = frozenset(dir(dict))  # every attribute a dict has: `row.items` is the method
# What `loop.` gives in a {% for %} (numbers, flags, neighbours): the sandbox returns them as they are.
_LOOP_VALUES = frozenset(("index", "index0", "revindex", "revindex0", "first", "last", "length", "depth"))
_LOOP_STEPS = "loop steps"  # the filter every loop iterates through; no template can name it (a space)


class BudgetExceeded(SecurityError):
    """The template asked for more time or memory than a document can need."""


class UnescapedOutput(SecurityError):
    """The template turns escaping off, so cell text could become Word XML."""


class _Budget(threading.local):
    deadline = math.inf
    steps = 0


_budget = _Budget()
_COMPILED = Cache("code", Path(__file__), jinja2.__version__)


def start_budget(seconds: float | None = None) -> None:
    """Called once before each render: the budget covers every part of one document."""
    _budget.deadline = time.monotonic() + (MAX_SECONDS if seconds is None else seconds)
    _budget.steps = 0


def _check_time() -> None:
    if time.monotonic() > _budget.deadline:
        raise BudgetExceeded(f"模板渲染超过 {MAX_SECONDS:g} 秒，已停止（模板中的循环或运算过大）")


def _too_big(what: str) -> BudgetExceeded:
    return BudgetExceeded(f"模板{what}的结果超过 {MAX_TEXT:,} 个字符，已停止")


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple) else 0


def _check_int_args(subject: Any, args: Iterable[Any], what: str) -> None:
    """A width, count or repetition argument times the text it applies to bounds the result."""
    for arg in args:
        if isinstance(arg, int) and not isinstance(arg, bool) and arg > 0 and max(_size(subject), 1) * arg > MAX_TEXT:
            raise _too_big(what)


def _check_format(spec: Any, what: str) -> None:
    """'%0999999999d' % 1 allocates a gigabyte: refuse widths of seven digits and more."""
    if isinstance(spec, str) and re.search(r"\d{7,}", spec):
        raise _too_big(what)


def _check_replace(text: Any, old: Any, new: Any, what: str) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        count = text.count(old) if old else len(text) + 1
        if len(text) + count * (len(new) - len(old)) > MAX_TEXT:
            raise _too_big(what)


def _guard_filter(name: str, function: Any) -> Any:
    """A filter checked before it runs (arguments) and after (result size)."""

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _check_time()
        # Filters taking the eval context get it first; the value follows.
        values = [a for a in args if not hasattr(a, "autoescape")]
        subject, rest = (values[0], values[1:]) if values else (None, [])
        if name == "replace" and len(rest) >= 2:
            _check_replace(subject, rest[0], rest[1], f"「|{name}」")
        elif name == "format":
            _check_format(subject, f"「|{name}」")
        else:
            _check_int_args(subject, [*rest, *kwargs.values()], f"「|{name}」")
        result = function(*args, **kwargs)
        if _size(result) > MAX_TEXT:
            raise _too_big(f"「|{name}」")
        return result

    return guarded


class BudgetedEnvironment(SandboxedEnvironment):
    """Escaped and strict, refuses |safe and {% autoescape %}, and checks the budget.

    Each template part is compiled once per process (a batch renders the same XML many times),
    and its code kept between runs (opsdoc.generate.cache): what this module does to a template
    decides the code, so its source is part of the cache's key.
    """

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self) -> None:
        super().__init__(autoescape=True, undefined=StrictUndefined)
        self._compiled: dict[str, Any] = {}
        # Removed, not only refused at parse time: nothing can call it by another route.
        del self.filters["safe"]
        for name in _GROWING_FILTERS:
            self.filters[name] = _guard_filter(name, self.filters[name])
        self.filters[_LOOP_STEPS] = self.loop_steps

    def from_string(self, source: Any, globals: Any = None, template_class: Any = None) -> Any:
        if globals or template_class or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        if source not in self._compiled:
            code = _COMPILED.get(source.encode(), lambda: marshal.dumps(self.compile(source)))
            self._compiled[source] = self.template_class.from_code(self, marshal.loads(code), self.make_globals(None))
        return self._compiled[source]

    def _parse(self, source: Any, name: Any, filename: Any) -> Any:
        tree = super()._parse(source, name, filename)
        _refuse_unescaped(tree)
        return _Budgeted().visit(tree)

    # Jinja joins a template's output with concat; this one counts while it joins.
    def concat(self, parts: Iterable[str]) -> str:
        kept, total = [], 0
        for part in parts:
            total += len(part)
            if total > MAX_OUTPUT:
                raise BudgetExceeded(f"模板渲染结果超过 {MAX_OUTPUT:,} 个字符，已停止（模板中的循环过大）")
            kept.append(part)
        return "".join(kept)

    def getattr(self, obj: Any, attribute: str) -> Any:
        """`row.name` on a context dict: the item, without first failing to find an attribute
        (an exception per cell of a register). `loop.index`: the number, without the sandbox's
        checks of what it is (a register's numbering). Only where the sandbox gives the same:
        a plain dict has no attribute of that name, and a loop's numbers are no internals."""
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES and attribute in obj:
            return obj[attribute]
        if type(obj) is LoopContext and attribute in _LOOP_VALUES:
            return getattr(obj, attribute)
        return super().getattr(obj, attribute)

    def loop_steps(self, iterable: Iterable[Any]) -> Iterator[Any]:
        """Every {% for %} iterates through here (see _Budgeted)."""
        _check_time()
        for item in iterable:
            _budget.steps += 1
            if _budget.steps > MAX_LOOP_STEPS:
                raise BudgetExceeded(f"模板中的循环共超过 {MAX_LOOP_STEPS:,} 次，已停止")
            if not _budget.steps % 1024:
                _check_time()
            yield item

    def joined(self, *values: Any) -> str:
        """Every `~` joins through here (see _Budgeted): a doubling string stops at MAX_TEXT."""
        _check_time()
        result = markup_join(values)
        if len(result) > MAX_TEXT:
            raise _too_big("运算「~」")
        return result

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _check_time()
        what = f"运算「{operator}」"
        if operator == "**" and isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0:
            if right * left.bit_length() > MAX_INT_BITS:
                raise BudgetExceeded(f"模板{what}的结果过大（超过 {MAX_INT_BITS:,} 位二进制），已停止")
        elif operator == "*":
            if isinstance(left, int) and isinstance(right, int):
                if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                    raise BudgetExceeded(f"模板{what}的结果过大（超过 {MAX_INT_BITS:,} 位二进制），已停止")
            elif isinstance(right, int):
                _check_int_args(left, [right], what)
            elif isinstance(left, int):
                _check_int_args(right, [left], what)
        elif operator == "%":
            _check_format(left, what)
        elif operator == "+" and _size(left) + _size(right) > MAX_TEXT:
            raise _too_big(what)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _check_time()
        subject = getattr(__obj, "__self__", None)
        name = getattr(__obj, "__name__", "")
        what = f"调用「{name}」"
        if isinstance(subject, str):
            if name == "replace" and len(args) >= 2:
                _check_replace(subject, args[0], args[1], what)
            elif name in ("format", "format_map"):
                _check_format(subject, what)
                for arg in args:
                    _check_format(arg, what)
            else:
                _check_int_args(subject, [*args, *kwargs.values()], what)
        result = super().call(__context, __obj, *args, **kwargs)
        if _size(result) > MAX_TEXT:
            raise _too_big(what)
        return result


def _refuse_unescaped(tree: nodes.Template) -> None:
    """|safe (as a filter or a filter block) and {% autoescape %} blocks turn escaping off."""
    for node in tree.find_all((nodes.Filter, nodes.EvalContextModifier)):
        if isinstance(node, nodes.Filter) and node.name == "safe":
            raise UnescapedOutput("模板使用了「|safe」：单元格内容会不经转义写入 Word XML，已拒绝；请删除「|safe」")
        if isinstance(node, nodes.EvalContextModifier):
            raise UnescapedOutput("模板使用了「{% autoescape %}」块：可能关闭转义，已拒绝；请删除该块")


class _Budgeted(NodeTransformer):
    """Loops iterate through environment.loop_steps and `~` joins through environment.joined,
    so every step is counted and every joined text measured.

    A loop reaches loop_steps as a filter, which Jinja calls directly: as a call, each loop of
    each register row went through the sandbox's checks of what it calls (0.2 s at 20k rows)."""

    def visit_For(self, node: nodes.For) -> nodes.For:
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, _LOOP_STEPS, [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Call:
        self.generic_visit(node)
        return nodes.Call(nodes.EnvironmentAttribute("joined"), node.nodes, [], None, None, lineno=node.lineno)


@functools.cache
def jinja_environment() -> BudgetedEnvironment:
    """Values are escaped (& < > appear as typed), templates cannot reach Python internals,
    an unknown name is an error rather than blank text, and a render has a budget. One per process."""
    return BudgetedEnvironment()
