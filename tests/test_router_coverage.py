"""The Router part of the coverage discovery: every public ``litellm.Router`` method that
reaches a deployment (found by inspecting the installed litellm) is traced, or is named in
``_router_coverage.NOT_TRACED`` with the reason."""

from __future__ import annotations

import importlib.metadata

import litellm
import pytest

from opentelemetry_instrumentation_litellm import _router, _upstream
from opentelemetry_instrumentation_litellm._router_coverage import (
    NOT_TRACED,
    methods_reaching_a_deployment,
)

LITELLM = importlib.metadata.version("litellm")


def uncovered(found: dict[str, str]) -> list[str]:
    return sorted(n for n in found if n not in _router.ROUTER_METHODS and n not in NOT_TRACED)


@pytest.fixture
def router() -> litellm.Router:
    return litellm.Router(model_list=[])


def test_every_router_method_reaching_a_deployment_is_traced_or_excused(router):
    found = methods_reaching_a_deployment(router)
    assert uncovered(found) == [], (
        f"litellm {LITELLM}: Router methods that reach a deployment, neither in "
        "_router.ROUTER_METHODS nor in _router_coverage.NOT_TRACED"
    )
    # The discovery sees the methods both ways litellm defines them.
    assert {"acompletion", "aembedding", "aresponses"} <= found.keys()


def test_traced_and_excused_are_apart():
    assert not set(_router.ROUTER_METHODS) & NOT_TRACED.keys()
    assert all(reason.strip() for reason in NOT_TRACED.values())


def test_every_traced_method_this_litellm_has_is_wrapped(instrument, router):
    """Each traced name the installed litellm has is wrapped by us on an instance made
    before instrument() and on one made after."""
    found = methods_reaching_a_deployment(router)
    instrument()
    after = litellm.Router(model_list=[])
    traced = [name for name in _router.ROUTER_METHODS if name in found]
    assert traced
    for instance in (router, after):
        unwrapped = [n for n in traced if not hasattr(getattr(instance, n), "__wrapped__")]
        assert unwrapped == [], f"litellm {LITELLM}"


def test_a_new_router_method_reaching_a_deployment_is_reported(router):
    """What a litellm release adding a model call to the Router looks like to the test: a
    method (on the class, or bound per instance) that reaches the retry loop or the
    deployment choice, under a name in neither list."""

    async def adream(**kwargs):  # pragma: no cover - inspected, never called
        return await router.async_function_with_fallbacks(**kwargs)

    def choose(model):  # pragma: no cover - inspected, never called
        return router.get_available_deployment(model=model)

    router.__dict__["adream"] = adream
    router.__dict__["dream_choice"] = choose
    assert uncovered(methods_reaching_a_deployment(router)) == ["adream", "dream_choice"]


def test_the_dispatch_seams_are_what_the_discovery_follows():
    from opentelemetry_instrumentation_litellm import _router_coverage

    assert {
        _upstream.ROUTER_ATTEMPT,
        _upstream.ROUTER_CHOICE,
        _upstream.ROUTER_ASYNC_CHOICE,
    } <= _router_coverage._DISPATCH
