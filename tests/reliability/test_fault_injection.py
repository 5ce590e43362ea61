"""Every step of ours a traced call runs, made to raise, in every kind of call.

The steps are found from the code (faults.reached_steps profiles a real traced call of
each scenario), so a new function is covered the moment a call reaches it. For each
(scenario, step): the application gets litellm's own result or exception (the scenario
checks it), every span started ends exactly once, the fault is logged by our own logger
naming the step, and nothing else (util-genai, the SDK, the garbage collector) had to
catch it.
"""

from __future__ import annotations

import functools
import gc
import logging

import litellm
import pytest
from faults import PACKAGE, InjectedFault, Step, raising, reached_steps
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from scenarios import SCENARIOS, prepare
from tracking import SpanTracker, our_records, unraisable

from opentelemetry_instrumentation_litellm import LiteLLMInstrumentor

pytestmark = pytest.mark.usefixtures("litellm_callbacks")  # Routers add to its lists

CAPTURE = "SPAN_AND_EVENT"  # content capture on: its steps run too


@functools.cache
def discovered() -> dict[str, list[Step]]:
    """Per scenario, the steps of ours it reaches (once per test session)."""
    found = {}
    callbacks = [n for n in dir(litellm) if n.endswith(("callbacks", "callback"))]
    saved = {n: list(v) for n in callbacks if isinstance(v := getattr(litellm, n), list)}
    for name in SCENARIOS:
        tracer_provider = TracerProvider()
        meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
        instrumentor = LiteLLMInstrumentor()
        instrumentor.instrument(
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            capture_message_content=CAPTURE,
        )
        try:
            prepare(name, tracer_provider)
            found[name] = reached_steps(SCENARIOS[name])
        finally:
            instrumentor.uninstrument()
            tracer_provider.shutdown()
            meter_provider.shutdown()
    for name, value in saved.items():  # what the Routers added (see litellm_callbacks)
        getattr(litellm, name)[:] = value
    return found


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "step" in metafunc.fixturenames:
        cases = [
            pytest.param(name, step, id=f"{name}-{step.name}")
            for name, steps in discovered().items()
            for step in steps
        ]
        metafunc.parametrize(("scenario", "step"), cases)


def test_every_kind_of_call_reaches_steps_of_ours():
    """The discovery sees the code: each scenario reaches steps in the modules it should."""
    modules = {name: {s.module for s in steps} for name, steps in discovered().items()}
    assert f"{PACKAGE}.patch" in modules["chat"]
    assert f"{PACKAGE}._request" in modules["chat"]
    assert f"{PACKAGE}._messages" in modules["chat"]  # content capture is on
    assert f"{PACKAGE}._streams" in modules["stream_iterate"]
    assert f"{PACKAGE}._router" in modules["router"]
    assert f"{PACKAGE}.exporters._resilience" in modules["exported_failing"]
    total = {s.name for steps in discovered().values() for s in steps}
    assert len(total) >= 40, sorted(total)


@pytest.mark.slow
def test_fault_stays_inside(scenario, step, instrument, telemetry, caplog):
    caplog.set_level(logging.DEBUG, logger=PACKAGE)
    tracker = SpanTracker()
    telemetry.tracer_provider.add_span_processor(tracker)
    instrument(capture_message_content=CAPTURE)
    prepare(scenario, telemetry.tracer_provider)
    with unraisable() as printed, raising(step) as injection:
        SCENARIOS[scenario]()  # raises if the application saw a change
        caught = [
            (r.name, r.levelno, r.exc_info[1].args)
            for r in caplog.records
            if r.exc_info and isinstance(r.exc_info[1], InjectedFault)
        ]
        # A failed export is reported (by its error's text) rather than logged with a trace.
        reported = [
            r
            for r in our_records(caplog)
            if r.levelno == logging.WARNING and step.name in r.getMessage()
        ]
        # The captured records' tracebacks hold the call's frames, and so the stream an
        # abandoning application dropped: let go of them, and let the collector finish it.
        for record in caplog.records:
            record.exc_info = None
        if "abandon" in scenario:
            gc.collect()
    assert injection.hits, f"{step.name} was not reached"
    tracker.assert_each_ended_once(caplog)
    assert not printed, [u.exc_value for u in printed]
    ours = [c for c in caught if c[0].startswith(PACKAGE)]
    assert ours or reported, f"no log record of ours names {step.name}"
    assert all(level in (logging.DEBUG, logging.WARNING) for _, level, _ in ours)
    assert all(args == (step.name,) for _, _, args in ours)
    assert caught == ours, [c for c in caught if c not in ours]
