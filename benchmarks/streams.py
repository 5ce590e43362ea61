"""Per-chunk CPU cost of the stream wrapper, against an uninstrumented litellm stream.

    python benchmarks/streams.py [--chars 300] [--streams 100] [--rounds 6]

Two measurements, interleaved in rounds within one process, medians reported:

1. End to end: stream a ``mock_response`` of ``--chars`` characters through
   ``litellm.completion(stream=True)``, uninstrumented and instrumented (content
   capture off and on): CPU microseconds per stream and per chunk.
2. The wrapper alone: iterate chunks litellm produced earlier (recorded once),
   bare and through the traced stream wrapper, so litellm's own per-chunk work
   (large and noisy) does not hide ours: added CPU microseconds per chunk.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

from opentelemetry_instrumentation_litellm import LiteLLMInstrumentor


class DroppingExporter(SpanExporter):
    def export(self, spans):
        return SpanExportResult.SUCCESS


def one_stream(text: str) -> int:
    stream = litellm.completion(
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": "Tell me a story"}],
        mock_response=text,
        stream=True,
    )
    return sum(1 for _ in stream)


def measure(text: str, streams: int) -> tuple[float, int]:
    gc.collect()
    chunks = 0
    start = time.process_time_ns()
    for _ in range(streams):
        chunks += one_stream(text)
    elapsed_us = (time.process_time_ns() - start) / 1000
    return elapsed_us / streams, chunks // streams


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chars", type=int, default=300)
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    text = ("lorem ipsum dolor sit amet " * (args.chars // 27 + 1))[: args.chars]

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(DroppingExporter()))
    instrumentor = LiteLLMInstrumentor()
    configs = {"content off": "NO_CONTENT", "content on": "SPAN_ONLY"}
    results: dict[str, list[float]] = {"uninstrumented": [], **{name: [] for name in configs}}
    chunks = 0
    for _ in range(3):
        one_stream(text)
    for _ in range(args.rounds):
        per_stream, chunks = measure(text, args.streams)
        results["uninstrumented"].append(per_stream)
        for name, mode in configs.items():
            instrumentor.instrument(tracer_provider=provider, capture_message_content=mode)
            results[name].append(measure(text, args.streams)[0])
            instrumentor.uninstrument()
    base = statistics.median(results["uninstrumented"])
    print(f"{chunks} chunks per stream")
    header = f"{'configuration':<16} {'us/stream':>10} {'us/chunk':>9} {'added/chunk':>12}"
    print(f"{header} {'ratio':>6}")
    for name, values in results.items():
        median = statistics.median(values)
        print(
            f"{name:<16} {median:10.0f} {median / chunks:9.2f} "
            f"{(median - base) / chunks:12.2f} {median / base:6.3f}"
        )
    wrapper_alone(text, provider, args.rounds)
    provider.shutdown()


def wrapper_alone(text: str, provider: TracerProvider, rounds: int) -> None:
    from opentelemetry.util.genai.handler import TelemetryHandler

    from opentelemetry_instrumentation_litellm._messages import ContentPolicy
    from opentelemetry_instrumentation_litellm._streams import ChatStreamState, SyncTracedStream

    chunks = list(
        litellm.completion(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "x"}],
            mock_response=text,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    handler = TelemetryHandler(tracer_provider=provider)
    repeats = 200

    def bare() -> None:
        for _ in range(repeats):
            for _ in iter(chunks):
                pass

    def traced(capture: bool) -> None:
        for _ in range(repeats):
            invocation = handler.inference("openai", request_model="gpt-4o-mini")
            stream = SyncTracedStream(
                iter(chunks), invocation, ContentPolicy(), ChatStreamState(capture)
            )
            for _ in stream:
                pass

    def cpu_us(run, *a) -> float:
        gc.collect()
        start = time.process_time_ns()
        run(*a)
        return (time.process_time_ns() - start) / 1000

    samples: dict[str, list[float]] = {"bare": [], "content off": [], "content on": []}
    for _ in range(rounds):
        samples["bare"].append(cpu_us(bare))
        samples["content off"].append(cpu_us(traced, False))
        samples["content on"].append(cpu_us(traced, True))
    per_chunk = {k: statistics.median(v) / (repeats * len(chunks)) for k, v in samples.items()}
    print(f"wrapper alone, {len(chunks)} recorded chunks per stream (span start/end included):")
    for name in ("content off", "content on"):
        added = per_chunk[name] - per_chunk["bare"]
        print(f"  {name:<12} +{added:.2f} us per chunk")


if __name__ == "__main__":
    main()
