"""Every public litellm function that can reach a provider is traced or named as not traced.

Found by inspection, not from a hand list: the public functions of ``litellm`` and of its
public packages (``litellm.google_genai``, ``litellm.interactions``,
``litellm.vector_stores``, ``litellm.anthropic_interface.messages``, ...), each function
once (where it is first reached). After ``instrument()`` each must be wrapped at one of
the places it is reached, or named in ``_coverage.NOT_TRACED`` (by name, or by the helper
module that defines it) with the reason. So a litellm release with a new public function
fails here until it is wrapped or explained.

``python tests/test_coverage_discovery.py`` prints the table (name, operation or reason).
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm
import pytest

from opentelemetry_instrumentation_litellm import LiteLLMInstrumentor
from opentelemetry_instrumentation_litellm._coverage import NOT_TRACED
from opentelemetry_instrumentation_litellm._entrypoints import ENTRY_POINTS

_MODULE_RULES = tuple(key[:-2] for key in NOT_TRACED if key.endswith(".*"))


@dataclass
class Found:
    """One public function, under the first name it was found by."""

    name: str
    module: str
    reaches: list[str] = field(default_factory=list)
    traced: bool = False


def _covered(module: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in _MODULE_RULES)


def _import_packages(root: types.ModuleType) -> None:
    """Import ``root``'s public packages (but those of helper modules, whose functions are
    explained by their module), so the walk does not depend on what other code imported
    first (``litellm.proxy``, ``litellm.anthropic_interface.exceptions``, ...)."""
    for info in pkgutil.iter_modules(getattr(root, "__path__", ())):
        name = f"{root.__name__}.{info.name}"
        if info.ispkg and not info.name.startswith("_") and not _covered(name):
            try:
                package = importlib.import_module(name)
            except Exception:  # cannot be imported here: users cannot reach it either
                continue
            _import_packages(package)


def _packages(root: types.ModuleType) -> Iterator[types.ModuleType]:
    """``root`` and the public packages below it, reached as attributes (what users import
    as ``litellm.google_genai``), breadth first, in name order."""
    seen = {root.__name__}
    queue = [root]
    while queue:
        package = queue.pop(0)
        yield package
        prefix = package.__name__ + "."
        children = []
        for name, value in vars(package).items():
            if name.startswith("_") or not isinstance(value, types.ModuleType):
                continue
            module_name = getattr(value, "__name__", "")
            if not module_name.startswith(prefix) or not hasattr(value, "__path__"):
                continue  # a plain module (litellm.main, .utils) or another project's
            if module_name.rsplit(".", 1)[-1].startswith("_") or module_name in seen:
                continue
            seen.add(module_name)
            children.append(value)
        queue.extend(sorted(children, key=lambda m: m.__name__))


def _wrapped_by_us(value: Any) -> bool:
    """A wrapt proxy whose wrapper is this package's (``patch.make_wrapper``)."""
    wrapper = getattr(value, "_self_wrapper", None)
    return getattr(wrapper, "__module__", "").startswith("opentelemetry_instrumentation_litellm")


def discover(root: types.ModuleType = litellm) -> dict[int, Found]:
    """Every public litellm function on ``root`` and its public packages."""
    _import_packages(root)
    found: dict[int, Found] = {}
    for package in _packages(root):
        for name, value in sorted(vars(package).items()):
            if name.startswith("_") or not callable(value) or isinstance(value, type):
                continue
            function = inspect.unwrap(value)
            if not inspect.isfunction(function):
                continue
            module = getattr(function, "__module__", None) or ""
            if module != "litellm" and not module.startswith("litellm."):
                continue  # another project's function re-exported (copy.deepcopy, ...)
            reach = f"{package.__name__}.{name}"
            entry = found.setdefault(id(function), Found(reach, module))
            entry.reaches.append(reach)
            entry.traced = entry.traced or _wrapped_by_us(value)
    return found


def reason(entry: Found) -> str | None:
    """Why ``entry`` is not traced, from ``NOT_TRACED``; None if it is not named there."""
    for reach in entry.reaches:
        if reach in NOT_TRACED:
            return NOT_TRACED[reach]
    for prefix in _MODULE_RULES:
        if entry.module == prefix or entry.module.startswith(prefix + "."):
            return NOT_TRACED[prefix + ".*"]
    return None


def unexplained(found: dict[int, Found]) -> list[str]:
    return sorted(
        f"{e.name} (defined in {e.module})"
        for e in found.values()
        if not e.traced and reason(e) is None
    )


@pytest.fixture
def instrumented_litellm() -> Iterator[None]:
    instrumentor = LiteLLMInstrumentor()
    instrumentor.instrument()
    try:
        yield
    finally:
        instrumentor.uninstrument()


def test_every_public_function_is_traced_or_explained(instrumented_litellm):
    found = discover()
    assert len(found) > 100  # the walk reached litellm's namespaces at all
    assert unexplained(found) == []


def test_no_wrapped_function_is_named_as_not_traced(instrumented_litellm):
    """A function once excluded and now wrapped must leave ``NOT_TRACED``."""
    stale = sorted(
        reach for e in discover().values() if e.traced for reach in e.reaches if reach in NOT_TRACED
    )
    assert stale == []


def test_every_entry_point_is_found_by_the_discovery(instrumented_litellm):
    """The walk sees every place functions are wrapped (or it could miss their siblings)."""
    reached = {reach for e in discover().values() for reach in e.reaches}
    present = {
        f"{e.module}.{e.name}"
        for e in ENTRY_POINTS
        if getattr(sys.modules.get(e.module), e.name, None) is not None
    }
    assert present - reached == set()


def test_a_new_public_function_fails_the_discovery(instrumented_litellm, monkeypatch):
    """A litellm that gains a model call on ``litellm`` or in a new interface package."""

    async def afoo_generation(model: str, prompt: str) -> Any:
        return None

    def generate(model: str, prompt: str) -> Any:
        return None

    afoo_generation.__module__ = "litellm.main"
    generate.__module__ = "litellm.foo_api.main"
    package = types.ModuleType("litellm.foo_api")
    package.__path__ = []  # a package, as litellm's interface packages are
    package.generate = generate  # type: ignore[attr-defined]
    monkeypatch.setattr(litellm, "afoo_generation", afoo_generation, raising=False)
    monkeypatch.setattr(litellm, "foo_api", package, raising=False)
    assert unexplained(discover()) == [
        "litellm.afoo_generation (defined in litellm.main)",
        "litellm.foo_api.generate (defined in litellm.foo_api.main)",
    ]


def test_a_new_helper_in_a_helper_module_is_explained(instrumented_litellm, monkeypatch):
    """The other side of the rule: a helper module's function needs no entry of its own."""

    def new_helper() -> None:
        return None

    new_helper.__module__ = "litellm.utils"
    monkeypatch.setattr(litellm, "new_helper", new_helper, raising=False)
    assert unexplained(discover()) == []


def table() -> list[tuple[str, str]]:
    """``(name, operation or "not traced: reason")`` for every public function found."""
    instrumentor = LiteLLMInstrumentor()
    instrumentor.instrument()
    try:
        found = discover()
    finally:
        instrumentor.uninstrument()
    operations = {f"{e.module}.{e.name}": e.operation.name for e in ENTRY_POINTS}
    rows = []
    for entry in sorted(found.values(), key=lambda e: e.name):
        if entry.traced:
            operation = next(operations[r] for r in entry.reaches if r in operations)
            rows.append((" = ".join(entry.reaches), operation))
        else:
            rows.append((entry.name, f"not traced: {reason(entry)}"))
    return rows


if __name__ == "__main__":
    from importlib.metadata import version

    print(f"litellm {version('litellm')}")
    for name, what in table():
        print(f"{name}\t{what}")
