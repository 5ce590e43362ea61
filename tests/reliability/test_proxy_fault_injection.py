"""Every step of ours the LiteLLM Proxy's wrapped functions run (proxy/: auth, the
hook phases, guardrails, streamed-answer checks, pipelines), made to raise.

As in test_fault_injection.py, the steps are found from the code (faults.reached_steps over
each scenario of proxy_scenarios.py), once per setting of the proxy's phase spans where
the instrumentation has that switch. For each (scenario, step): the proxy gets what it got
untraced (the same exception object where the test's guardrail raised it, the same
chunks), every span started ends exactly once, the fault is logged by our own logger
naming the step, and nothing else had to catch it.
"""

from __future__ import annotations

import functools
import gc
import logging
from typing import Any

import pytest
from faults import PACKAGE, InjectedFault, Step, raising, reached_steps
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind
from proxy_scenarios import MCP_UNAVAILABLE, SCENARIOS, loaded
from tracking import SpanTracker, our_records, unraisable

from opentelemetry_instrumentation_litellm import LiteLLMInstrumentor
from opentelemetry_instrumentation_litellm.proxy import _guardrails, _settings

CAPTURE = "SPAN_AND_EVENT"  # content capture on: its steps run too
PHASE_SPANS: tuple[bool | None, ...] = (
    (False, True) if hasattr(_settings, "PHASE_SPANS_VARIABLE") else (None,)
)
"""The proxy's auth and hook phases as spans or not, where that is a setting."""


def in_request(tracer_provider: Any, run: Any) -> Any:
    """``run()`` under a server span, as the proxy runs its work under the request's (where
    the phases' timings go when they are not spans)."""
    tracer = tracer_provider.get_tracer("proxy")
    with tracer.start_as_current_span("POST /chat/completions", kind=SpanKind.SERVER):
        return run()


def options(phase_spans: bool | None) -> dict[str, Any]:
    extra = {} if phase_spans is None else {"proxy_phase_spans": phase_spans}
    return {"capture_message_content": CAPTURE, **extra}


@functools.cache
def reference() -> dict[str, Any]:
    """What each scenario gives the proxy untraced."""
    with loaded():
        return {name: run() for name, run in SCENARIOS.items()}


@functools.cache
def discovered() -> dict[tuple[str, bool | None], list[Step]]:
    """Per scenario and phase setting, the steps of ours it reaches (once per session)."""
    found = {}
    for phase_spans in PHASE_SPANS:
        for name, run in SCENARIOS.items():
            tracer_provider = TracerProvider()
            instrumentor = LiteLLMInstrumentor()
            with loaded():
                instrumentor.instrument(tracer_provider=tracer_provider, **options(phase_spans))
                try:
                    found[name, phase_spans] = reached_steps(
                        lambda run=run, provider=tracer_provider: [in_request(provider, run)][:0]
                    )
                finally:
                    instrumentor.uninstrument()
                    tracer_provider.shutdown()
    return found


def setting(phase_spans: bool | None) -> str:
    return "" if phase_spans is None else f"phase_spans={phase_spans}-"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A step reached with either phase setting, once: the other setting adds the steps only
    it reaches (the phases' own), not a second run of every guardrail step."""
    if "step" in metafunc.fixturenames:
        cases, covered = [], set()
        for (name, phase_spans), steps in discovered().items():
            for step in steps:
                if (name, step.code) not in covered:
                    covered.add((name, step.code))
                    case_id = f"{name}-{setting(phase_spans)}{step.name}"
                    cases.append(pytest.param(name, phase_spans, step, id=case_id))
        metafunc.parametrize(("scenario", "phase_spans", "step"), cases)


@pytest.mark.parametrize("phase_spans", PHASE_SPANS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_tracing_changes_nothing(scenario, phase_spans, instrument, telemetry, caplog):
    """Without a fault: the same answer as untraced, spans ended once, nothing logged."""
    expected = reference()[scenario]  # before instrumenting
    tracker = SpanTracker()
    telemetry.tracer_provider.add_span_processor(tracker)
    with loaded():
        instrument(**options(phase_spans))
        seen = in_request(telemetry.tracer_provider, SCENARIOS[scenario])
    assert seen == expected
    tracker.assert_each_ended_once(caplog)
    assert not [r for r in our_records(caplog) if r.levelno >= logging.WARNING]


def test_every_proxy_seam_reaches_steps_of_ours():
    """The discovery sees the code: each wrapped seam runs steps of ours."""
    names = {s.name.split(":")[1] for steps in discovered().values() for s in steps}
    by_scenario = {key[0]: {s.name for s in steps} for key, steps in discovered().items()}
    assert all(by_scenario[name] for name in SCENARIOS if not name.startswith("auth")), by_scenario
    guardrails = ("start_guardrail", "end_guardrail", "request_texts", "response_texts")
    streams = ("_StreamCheck.__init__", "_delta_text", "_end_stream_check")
    pipelines = ("_end_step", "_end_pipeline")
    for step in (*guardrails, *streams, *pipelines):
        assert step in names, sorted(names)


@pytest.mark.slow
def test_fault_stays_inside(scenario, phase_spans, step, instrument, telemetry, caplog):
    expected = reference()[scenario]  # before instrumenting
    caplog.set_level(logging.DEBUG, logger=PACKAGE)
    tracker = SpanTracker()
    telemetry.tracer_provider.add_span_processor(tracker)
    with loaded():
        instrument(**options(phase_spans))
        with unraisable() as printed, raising(step) as injection:
            seen = in_request(telemetry.tracer_provider, SCENARIOS[scenario])
            caught = [
                (r.name, r.levelno, r.exc_info[1].args)
                for r in caplog.records
                if r.exc_info and isinstance(r.exc_info[1], InjectedFault)
            ]
            # The records' tracebacks hold the frames, and so an abandoned stream.
            for record in caplog.records:
                record.exc_info = None
            if "abandon" in scenario:
                gc.collect()
    assert injection.hits, f"{step.name} was not reached"
    assert seen == expected
    tracker.assert_each_ended_once(caplog)
    assert not printed, [u.exc_value for u in printed]
    ours = [c for c in caught if c[0].startswith(PACKAGE)]
    assert ours, f"no log record of ours names {step.name}"
    assert all(level in (logging.DEBUG, logging.WARNING) for _, level, _ in ours)
    assert all(args == (step.name,) for _, _, args in ours)
    assert caught == ours, [c for c in caught if c not in ours]


# -- the faults that were bugs without any injection, pinned ------------------------------


class Boom(Exception):
    pass


def boom(*args: Any, **kwargs: Any) -> None:
    raise Boom("injected")


@pytest.mark.parametrize("scenario", ["pre_call_block", "post_call_block", "pipeline_block"])
def test_a_block_whose_error_cannot_be_recorded_still_ends_the_span(
    scenario, instrument, telemetry, caplog, monkeypatch
):
    """Recording a block's error (``fail``) used to come before ``end()`` in one guard: a
    failure there left the guardrail span (and the pre-call phase span) open."""
    expected = reference()[scenario]  # before instrumenting
    caplog.set_level(logging.DEBUG, logger=PACKAGE)
    tracker = SpanTracker()
    telemetry.tracer_provider.add_span_processor(tracker)
    monkeypatch.setattr(_guardrails, "fail", boom)
    with loaded():
        instrument(**options(True in PHASE_SPANS or None))
        seen = in_request(telemetry.tracer_provider, SCENARIOS[scenario])
    assert seen == expected
    assert telemetry.finished("guardrail ")
    tracker.assert_each_ended_once(caplog)
    assert any(r.exc_info and isinstance(r.exc_info[1], Boom) for r in our_records(caplog))


def test_litellms_own_error_in_a_stream_layer_is_raised_once_and_not_logged_as_ours(
    instrument, caplog
):
    """The stream wrappers called litellm's function inside their own guard: its error was
    logged as ours and the function called a second time."""
    from litellm.proxy.utils import ProxyLogging

    caplog.set_level(logging.DEBUG, logger=PACKAGE)
    with loaded():
        instrument()
        with pytest.raises(TypeError):  # litellm's: the layer's generator is missing
            ProxyLogging._wrap_streaming_iterator_with_enrichment(Boom)
    assert not our_records(caplog)


def test_the_mcp_scenarios_run_where_the_mcp_stack_does():
    """The MCP gateway's scenarios are in SCENARIOS unless the MCP stack cannot run here
    (another litellm column's layout, mcp 2.x): then this says why, rather than nothing."""
    if MCP_UNAVAILABLE is not None:
        pytest.skip(MCP_UNAVAILABLE)
    assert {"mcp_tool", "mcp_tool_error", "mcp_server_down"} <= set(SCENARIOS)
