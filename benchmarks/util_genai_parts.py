"""Where one util-genai inference spends its instructions, part by part (callgrind).

    valgrind --tool=callgrind --collect-atstart=no --toggle-collect=functools_reduce \\
        --instr-atstart=no --callgrind-out-file=/tmp/parts.out python benchmarks/util_genai_parts.py

Prints nothing itself: each part runs ``--calls`` times inside its own ``functools.reduce``
window and callgrind dumps its count (a ``CALLGRIND_DUMP_STATS`` request) after each, so
``/tmp/parts.out.N`` holds part N (``grep summary``). Same providers as the traces
configuration of ``instructions.py``: SDK TracerProvider, SimpleSpanProcessor to a dropping
exporter, the API's no-op meter.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from opentelemetry import context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import SpanKind
from opentelemetry.util.genai._inference_invocation import InferenceData
from opentelemetry.util.genai.handler import TelemetryHandler

from instructions import _client_request, _start_instrumentation, traced_inference

_CALLGRIND_DUMP_STATS = 0x43540000


class Dropping(SpanExporter):
    def export(self, spans: Any) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    calls = parser.parse_args().calls
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(Dropping()))
    tracer = provider.get_tracer("bench")
    handler = TelemetryHandler(tracer_provider=provider, instrumentation_scope_name="bench")
    start = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "server.address": "api.openai.com",
        "server.port": 443,
    }
    end = {
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.max_tokens": 64,
        "user.id": "bench",
        "gen_ai.response.id": "chatcmpl-0123456789",
        "gen_ai.response.model": "gpt-4o-mini",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 10,
        "gen_ai.usage.output_tokens": 20,
        "litellm.provider": "openai",
        "litellm.response.cost": 0.0001,
    }

    def sdk_span() -> None:
        span = tracer.start_span("chat gpt-4o-mini", kind=SpanKind.CLIENT, attributes=start)
        span.set_attributes(end)
        span.end()

    def bare_invocation() -> None:
        handler.inference("openai", request_model="gpt-4o-mini").stop()

    def full_invocation() -> None:
        traced_inference(handler)

    def inference_data() -> None:
        InferenceData(provider_name="openai", request_model="gpt-4o-mini")

    data, other = InferenceData(), InferenceData()

    def merge() -> None:
        data.merge(other, overwrite=False)

    def attach_detach() -> None:
        context.detach(context.attach(context.set_value("k", 1)))

    parts = (sdk_span, bare_invocation, full_invocation, inference_data, merge, attach_detach)
    for part in parts:
        for _ in range(20):
            part()
    _start_instrumentation()
    for part in parts:

        def window(_a: Any, _b: Any, part: Any = part) -> None:
            for _ in range(calls):
                part()

        functools.reduce(window, (None, None))
        _client_request(_CALLGRIND_DUMP_STATS)


if __name__ == "__main__":
    main()
