"""Fault injection into our own code, with the steps found from the code itself.

``reached_steps(run)`` traces a real traced call (``sys.settrace``) and returns every
function of the package it ran that was called by another function of the package: those are the
steps. The rest are the boundary: what the application (or litellm, or util-genai's
stream wrapper, or the garbage collector) calls directly, i.e. the wrappers, the stream
hooks, and the stream methods the application calls (``close``, ``__exit__``, ...). A
raise at the boundary's own entry could not be caught by anything of ours; its body is
made of guarded steps, which is what the suite checks.

``raising(step)`` makes a step raise :class:`InjectedFault` on every call, whatever
object holds it (module function, method, property, closure, dataclass-generated
``__init__``), by swapping the code of every function object running that code, and, for
a closure a function of ours makes on each call, the code that function makes it from.
"""

from __future__ import annotations

import functools
import gc
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from inspect import CO_COROUTINE
from types import CodeType, FrameType, FunctionType
from typing import Any

PACKAGE = "opentelemetry_instrumentation_litellm"


class InjectedFault(Exception):
    """Raised by the step under test, and by nothing else."""


@dataclass(frozen=True)
class Step:
    code: CodeType
    name: str
    """``module:qualified name``, e.g. ``_streams:ChatStreamState.add``."""
    module: str


_FUNCTIONS: dict[CodeType, list[FunctionType]] = {}


def _functions(code: CodeType) -> list[FunctionType]:
    """Every function object running ``code`` now.

    ``gc.get_referrers`` scans every object (tens of ms with litellm loaded): done once
    for module functions and methods, every time for closures, which ``instrument()``
    makes anew."""
    cached = _FUNCTIONS.get(code)
    if cached is not None:
        return cached
    functions = [
        f for f in gc.get_referrers(code) if isinstance(f, FunctionType) and f.__code__ is code
    ]
    if set(code.co_freevars) <= {"__class__"}:
        _FUNCTIONS[code] = functions
    return functions


def _step(code: CodeType, module: str) -> Step:
    # co_qualname (Python 3.11+) names closures by their parent, dataclass methods oddly;
    # the function's own __qualname__ is what a reader looks for.
    functions = _functions(code) if code.co_freevars or code.co_filename == "<string>" else ()
    qualname = (
        functions[0].__qualname__ if functions else getattr(code, "co_qualname", code.co_name)
    )
    return Step(code, f"{module.removeprefix(PACKAGE + '.')}:{qualname}", module)


def _ours(frame: FrameType | None) -> bool:
    if frame is None:
        return False
    module = frame.f_globals.get("__name__", "")
    return module == PACKAGE or module.startswith(PACKAGE + ".")


def _application_methods(handed_out: list[Any]) -> set[CodeType]:
    """Methods of ours the application can call on what it was handed (``close``, dunders
    other than ``__init__``): boundary, even when one of ours calls another."""
    codes = set()
    for obj in handed_out:
        for cls in type(obj).__mro__:
            if not cls.__module__.startswith(PACKAGE):
                continue
            for name, member in vars(cls).items():
                public = not name.startswith("_") or (
                    name.startswith("__") and name.endswith("__") and name != "__init__"
                )
                if public and isinstance(member, FunctionType):
                    codes.add(member.__code__)
    return codes


def clear_caches() -> None:
    """Empty our ``functools`` caches so cached steps run (and can be injected) again."""
    for name, module in list(sys.modules.items()):
        if name == PACKAGE or name.startswith(PACKAGE + "."):
            for value in vars(module).values():
                if isinstance(value, functools._lru_cache_wrapper):
                    value.cache_clear()


def reached_steps(run: Callable[[], list[Any]]) -> list[Step]:
    """The steps of ours a call reaches. ``run`` makes the call and returns what it handed
    to the application."""
    callers: dict[CodeType, set[bool]] = {}
    modules: dict[CodeType, str] = {}

    def trace(frame: FrameType, event: str, arg: Any) -> None:
        # Called on entry to every Python frame; returning None traces nothing inside it.
        if _ours(frame) and not frame.f_code.co_name.startswith("<"):  # not comprehensions
            callers.setdefault(frame.f_code, set()).add(_ours(frame.f_back))
            modules[frame.f_code] = frame.f_globals["__name__"]

    clear_caches()
    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        handed_out = run()
    finally:
        sys.settrace(previous)
    boundary = _application_methods(handed_out)
    steps = [
        _step(code, modules[code])
        for code, called_from_ours in callers.items()
        if called_from_ours == {True} and code not in boundary
    ]
    return sorted(steps, key=lambda step: step.name)


def _raising_code(step: Step) -> CodeType:
    """Code that raises InjectedFault, with as many free variables as the original (a
    function's code can only be swapped for such). It runs with the function's own
    globals, so it reaches this module through ``__import__``."""
    free = step.code.co_freevars
    keyword = "async def" if step.code.co_flags & CO_COROUTINE else "def"
    lines = ["def _outer():", *(f"    {name} = None" for name in free)]
    lines.append(f"    {keyword} _injected(*args, **kwargs):")
    if free:
        lines.append(f"        if False: ({', '.join(free)},)")
    lines.append(f"        __import__({__name__!r}).fire({step.name!r})")
    lines.append("    return _injected")
    namespace: dict[str, Any] = {}
    exec("\n".join(lines), namespace)
    code = namespace["_outer"]().__code__
    assert len(code.co_freevars) == len(free)
    return code


def _nests(code: CodeType, inner: CodeType) -> bool:
    return any(
        const is inner or (isinstance(const, CodeType) and _nests(const, inner))
        for const in code.co_consts
    )


def _nesting(code: CodeType, inner: CodeType, replacement: CodeType) -> CodeType:
    """``code`` with ``inner``, wherever it is nested in it, replaced by ``replacement``."""
    consts = tuple(
        replacement
        if const is inner
        else _nesting(const, inner, replacement)
        if isinstance(const, CodeType) and _nests(const, inner)
        else const
        for const in code.co_consts
    )
    return code.replace(co_consts=consts)


def _makers(code: CodeType) -> list[FunctionType]:
    """Functions of ours that make a function running ``code`` each time they run (a
    closure made per call: none may exist when the fault is injected)."""
    found: dict[int, FunctionType] = {}
    for name, module in list(sys.modules.items()):
        if name != PACKAGE and not name.startswith(PACKAGE + "."):
            continue
        for value in list(vars(module).values()):
            members = vars(value).values() if isinstance(value, type) else (value,)
            for member in members:
                function = getattr(member, "__func__", member)  # static and class methods
                if isinstance(function, FunctionType) and _nests(function.__code__, code):
                    found[id(function)] = function
    return list(found.values())


@dataclass
class Injection:
    step: Step
    hits: int = 0


_ACTIVE: dict[str, Injection] = {}


def fire(name: str) -> None:
    """What an injected step runs."""
    _ACTIVE[name].hits += 1
    raise InjectedFault(name)


@contextmanager
def raising(step: Step) -> Iterator[Injection]:
    """Make ``step`` raise on every call inside the block."""
    functions = _functions(step.code)
    makers = _makers(step.code)
    assert functions or makers, f"no function runs {step.name}"
    injection = _ACTIVE[step.name] = Injection(step)
    replacement = _raising_code(step)
    made_from = [(maker, maker.__code__) for maker in makers]
    clear_caches()
    for function in functions:
        function.__code__ = replacement
    for maker, code in made_from:
        maker.__code__ = _nesting(code, step.code, replacement)
    try:
        yield injection
    finally:
        for function in functions:
            function.__code__ = step.code
        for maker, code in made_from:
            maker.__code__ = code
        del _ACTIVE[step.name]
