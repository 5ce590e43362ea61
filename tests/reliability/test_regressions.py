"""Issue 15's known faults, each pinned: a raise in one of these steps of ours used to reach
the application or leave a span open. The fault-injection suite (test_fault_injection.py)
covers every step; these name the ones that were broken."""

from __future__ import annotations

import asyncio
import gc
import logging

import litellm
import pytest
from tracking import PACKAGE, SpanTracker, our_records, unraisable

from opentelemetry_instrumentation_litellm import _router, _streams, patch

pytestmark = pytest.mark.usefixtures("litellm_callbacks")  # Routers add to its lists

MESSAGES = [{"role": "user", "content": "hi"}]


class Boom(Exception):
    pass


def boom(*args, **kwargs):
    raise Boom("injected")


@pytest.fixture
def tracker(instrument, telemetry, caplog):
    caplog.set_level(logging.DEBUG, logger=PACKAGE)
    tracker = SpanTracker()
    telemetry.tracer_provider.add_span_processor(tracker)
    instrument()
    return tracker


def check(tracker, caplog, seen=()):
    tracker.assert_each_ended_once(caplog)
    assert tracker.started, "no span was started"
    records = our_records(caplog)
    assert any(r.exc_info and isinstance(r.exc_info[1], Boom) for r in records), records
    assert not seen


def test_stream_check_outside_the_guard(tracker, caplog, monkeypatch):
    monkeypatch.setattr(patch, "_stream_class", boom)
    response = litellm.completion("gpt-4o-mini", MESSAGES, mock_response="ok")
    assert response.choices[0].message.content == "ok"
    check(tracker, caplog)


def test_stream_state_completion_on_close_after_one_chunk(tracker, caplog, monkeypatch):
    monkeypatch.setattr(_streams.ChatStreamState, "complete", property(boom))
    stream = litellm.completion("gpt-4o-mini", MESSAGES, mock_response="a b c", stream=True)
    next(stream)
    stream.close()
    check(tracker, caplog)


async def test_stream_state_completion_on_aclose_after_one_chunk(tracker, caplog, monkeypatch):
    monkeypatch.setattr(_streams.ChatStreamState, "complete", property(boom))
    stream = await litellm.acompletion("gpt-4o-mini", MESSAGES, mock_response="a b c", stream=True)
    await stream.__anext__()
    await stream.aclose()
    check(tracker, caplog)


def test_stream_closing_helper(tracker, caplog, monkeypatch):
    monkeypatch.setattr(_streams, "_close_provider_stream", boom)
    stream = litellm.completion("gpt-4o-mini", MESSAGES, mock_response="a b c", stream=True)
    with stream:
        next(stream)
    check(tracker, caplog)


async def test_async_stream_closing_helper(tracker, caplog, monkeypatch):
    async def aboom(*args, **kwargs):
        raise Boom("injected")

    monkeypatch.setattr(_streams, "_aclose_provider_stream", aboom)
    stream = await litellm.acompletion("gpt-4o-mini", MESSAGES, mock_response="a b c", stream=True)
    with pytest.raises(ValueError, match="user's own"):
        async with stream:
            await stream.__anext__()
            raise ValueError("the user's own error")
    check(tracker, caplog)


def test_router_attempt_tracker_built_after_the_span(tracker, caplog, monkeypatch):
    """A failure building the router call's tracker left the router span open."""
    monkeypatch.setattr(_router.RouterCall, "__init__", boom)
    router = litellm.Router(model_list=[_deployment()])
    response = router.completion(model="fast", messages=MESSAGES)
    assert response.choices[0].message.content == "ok"
    assert not tracker.open_spans()
    assert any(isinstance(r.exc_info[1], Boom) for r in our_records(caplog) if r.exc_info)


@pytest.mark.parametrize("is_async", [False, True])
def test_router_span_ends_when_its_attributes_fail(tracker, caplog, monkeypatch, is_async):
    """``end()`` sat in the same guard as the attributes before it."""
    monkeypatch.setattr(_router.RouterCall, "attributes", boom)
    router = litellm.Router(model_list=[_deployment()])
    if is_async:
        asyncio.run(router.acompletion(model="fast", messages=MESSAGES))
    else:
        router.completion(model="fast", messages=MESSAGES)
    check(tracker, caplog)
    assert any(s.name == "router fast" for s in tracker.started.values())


def test_router_span_ends_when_the_call_fails_and_recording_fails(tracker, caplog, monkeypatch):
    monkeypatch.setattr(_router, "fq_exception_type", boom)
    router = litellm.Router(model_list=[_deployment()], num_retries=0)
    error = litellm.RateLimitError("limited", llm_provider="openai", model="gpt-4o-mini")
    with pytest.raises(litellm.RateLimitError) as raised:
        router.completion(model="fast", messages=MESSAGES, mock_response=error)
    assert raised.value is error or isinstance(raised.value, litellm.RateLimitError)
    check(tracker, caplog)


def _deployment() -> dict:
    return {
        "model_name": "fast",
        "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "k", "mock_response": "ok"},
    }


def test_stream_wrapper_whose_init_failed_is_collected_quietly(tracker, caplog, monkeypatch):
    """util-genai's finalizer recursed without end on a wrapper whose ``__init__`` failed."""
    monkeypatch.setattr(_streams.SyncTracedStream, "__init__", boom)
    with unraisable() as printed:
        stream = litellm.completion("gpt-4o-mini", MESSAGES, mock_response="a b", stream=True)
        assert "".join(c.choices[0].delta.content or "" for c in stream) == "a b"
        for record in caplog.records:
            record.exc_info = None  # their tracebacks hold the half-built wrapper
        gc.collect()
    assert not printed, [p.exc_value for p in printed]
    assert not tracker.open_spans()


def test_exporter_accounting_failure_stays_in_export(caplog, monkeypatch):
    """``ResilientSpanExporter.export`` never raises, even if its own accounting fails."""
    from opentelemetry.sdk.trace.export import SpanExportResult
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from opentelemetry_instrumentation_litellm.exporters import ResilientSpanExporter

    caplog.set_level(logging.DEBUG, logger=PACKAGE)
    exporter = ResilientSpanExporter(InMemorySpanExporter(), destination="test")
    monkeypatch.setattr(ResilientSpanExporter, "_succeeded", boom)
    assert exporter.export([object()]) is SpanExportResult.SUCCESS
    assert any(isinstance(r.exc_info[1], Boom) for r in our_records(caplog) if r.exc_info)
