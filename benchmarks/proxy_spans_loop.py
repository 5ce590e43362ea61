"""Our own CPU per proxied request for the proxy spans, without the proxy's noise.

    python benchmarks/proxy_spans_loop.py [--requests 100] [--mode wrapped|bare] [--phase-spans]

A whole proxy spends ~15 ms of CPU per request, and on a shared machine its rounds vary by
more than the spans cost (benchmarks/proxy_spans.py). This runs, in one process, what the
proxy spans add to one request: the wrappers of ``proxy/`` around the key check, the
pre_call and post_call phases and three guardrail runs (pre_call and during_call on a chat
request body, post_call on a ``ModelResponse``), with the wrapped functions themselves
reduced to no-ops, and the SDK exporting through a ``BatchSpanProcessor`` to an exporter
that drops spans; each request runs in a span standing for the server span (the phases'
durations go there). ``--mode bare`` calls the same no-ops unwrapped: the difference is ours.
``--phase-spans``: the key check and the phases as spans, as with
``OTEL_INSTRUMENTATION_LITELLM_PROXY_PHASE_SPANS=true``.

Instruction counts (repeatable), collecting only the measured loop::

    PYTHONHASHSEED=0 valgrind --tool=callgrind --collect-atstart=no \\
        --toggle-collect=builtin_sorted python benchmarks/proxy_spans_loop.py --mode wrapped

Without valgrind it prints CPU microseconds per request (``time.process_time``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Callable, Coroutine
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm
from litellm.integrations.custom_guardrail import CustomGuardrail
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Tracer
from wrapt import FunctionWrapper

from opentelemetry_instrumentation_litellm.proxy import _guardrails, _phases, _settings

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What's the weather like in Paris today? Be brief."},
]


class DroppingExporter(SpanExporter):
    def export(self, spans: Any) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class Guard(CustomGuardrail):
    async def async_moderation_hook(self, data: Any, user_api_key_dict: Any, call_type: Any):
        return None

    async def async_post_call_success_hook(self, data: Any, user_api_key_dict: Any, response: Any):
        return None


async def noop(*args: Any, **kwargs: Any) -> Any:
    return kwargs.get("data")


def functions(wrapped: bool) -> dict[str, Any]:
    def wrap(function: Any, wrapper: Any) -> Any:
        return FunctionWrapper(function, wrapper) if wrapped else function

    return {
        "auth": wrap(noop, _phases.auth),
        "pre_call": wrap(noop, _phases.pre_call),
        "post_call": wrap(noop, _phases.post_call),
        "guardrail_hook": wrap(noop, _guardrails.pre_call_guardrail),
        "guardrail_with_metrics": wrap(
            lambda callback, coro, hook_type: coro, _guardrails.guardrail_with_metrics
        ),
    }


async def one_request(f: dict[str, Any], guard: Guard, response: Any, tracer: Any) -> None:
    with tracer.start_as_current_span("POST /chat/completions"):
        await proxy_request(f, guard, response)


async def proxy_request(f: dict[str, Any], guard: Guard, response: Any) -> None:
    data = {"model": "gpt-4o-mini", "messages": MESSAGES, "metadata": {"user_api_key_alias": "x"}}
    await f["auth"](request=None, api_key="sk-x")
    await f["pre_call"](user_api_key_dict=None, data=data, call_type="completion")
    await f["guardrail_hook"](callback=guard, hook_type="pre_call", data=data)
    during = guard.async_moderation_hook(data=data, user_api_key_dict=None, call_type="completion")
    await f["guardrail_with_metrics"](guard, during, "during_call")
    await f["post_call"](data=data, response=response, user_api_key_dict=None)
    post = guard.async_post_call_success_hook(data=data, user_api_key_dict=None, response=response)
    await f["guardrail_with_metrics"](guard, post, "post_call")


def tracing(phase_spans: bool = False) -> tuple[BatchSpanProcessor, Tracer]:
    """Give the proxy spans an SDK tracer whose spans are batched, then dropped; the
    processor, and the tracer for the spans standing for the server's."""
    provider = TracerProvider()
    processor = BatchSpanProcessor(DroppingExporter())
    provider.add_span_processor(processor)
    tracer = trace.get_tracer("bench", tracer_provider=provider)
    _settings.set_active(_settings.Settings(tracer, lambda: False, phase_spans))
    return processor, tracer


def measure(run: Callable[[int], Coroutine[Any, Any, None]], count: int) -> float:
    """CPU seconds of ``run(count)`` on an event loop, after ``run(20)`` to warm up."""
    loop = asyncio.new_event_loop()
    loop.run_until_complete(run(20))
    started = time.process_time()
    # sorted() is the only call of that builtin now: callgrind collects just this loop
    sorted([0], key=lambda _: loop.run_until_complete(run(count)))
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--mode", choices=("wrapped", "bare"), default="wrapped")
    parser.add_argument("--phase-spans", action="store_true")
    options = parser.parse_args()

    processor, tracer = tracing(options.phase_spans)
    response = litellm.completion(
        model="openai/gpt-4o-mini", messages=MESSAGES, mock_response="It is sunny in Paris."
    )
    guard = Guard(guardrail_name="filter")
    f = functions(options.mode == "wrapped")

    async def requests(count: int) -> None:
        for _ in range(count):
            await one_request(f, guard, response, tracer)

    elapsed = measure(requests, options.requests)
    processor.force_flush()
    print(f"{options.mode}: {elapsed / options.requests * 1e6:.1f} us CPU/request")


if __name__ == "__main__":
    main()
