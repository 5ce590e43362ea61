"""CPU cost of the instrumentation per litellm call, against uninstrumented litellm.

    python benchmarks/overhead.py [--calls 300] [--rounds 8]

Runs ``litellm.completion(..., mock_response=...)`` (litellm's whole pipeline, no
network) in interleaved rounds within one process: uninstrumented, then
instrumented, and so on, so both see the same machine state. Reports CPU
microseconds per call (``time.process_time``, all threads) as the median over
rounds, and the overhead ratio. Content capture is off, as by default.

Configurations measured while instrumented:
- traces: SDK TracerProvider + BatchSpanProcessor to an exporter that drops spans;
- traces+metrics: the same plus an SDK MeterProvider with an in-memory reader.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

from opentelemetry_instrumentation_litellm import LiteLLMInstrumentor

MESSAGES = [{"role": "user", "content": "What's the weather like in Paris today?"}]


class DroppingExporter(SpanExporter):
    def export(self, spans):
        return SpanExportResult.SUCCESS


def call() -> None:
    litellm.completion(
        model="openai/gpt-4o-mini",
        messages=MESSAGES,
        mock_response="It is sunny.",
        temperature=0.2,
        max_tokens=64,
        user="bench",
    )


def cpu_us_per_call(calls: int) -> float:
    gc.collect()
    start = time.process_time_ns()
    for _ in range(calls):
        call()
    return (time.process_time_ns() - start) / calls / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per round")
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(DroppingExporter()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    configs = {
        "traces": {"tracer_provider": tracer_provider},
        "traces+metrics": {"tracer_provider": tracer_provider, "meter_provider": meter_provider},
    }
    instrumentor = LiteLLMInstrumentor()

    for _ in range(50):  # warm up litellm's caches and lazy imports
        call()
    results: dict[str, list[float]] = {"uninstrumented": [], **{name: [] for name in configs}}
    for _ in range(args.rounds):
        results["uninstrumented"].append(cpu_us_per_call(args.calls))
        for name, providers in configs.items():
            instrumentor.instrument(**providers)
            results[name].append(cpu_us_per_call(args.calls))
            instrumentor.uninstrument()

    base = statistics.median(results["uninstrumented"])
    print(f"litellm {litellm.__version__ if hasattr(litellm, '__version__') else ''}".strip())
    print(f"{'configuration':<16} {'CPU us/call':>12} {'overhead us':>12} {'ratio':>7}")
    for name, values in results.items():
        median = statistics.median(values)
        print(f"{name:<16} {median:12.1f} {median - base:12.1f} {median / base:7.3f}")
    tracer_provider.shutdown()
    meter_provider.shutdown()


if __name__ == "__main__":
    main()
