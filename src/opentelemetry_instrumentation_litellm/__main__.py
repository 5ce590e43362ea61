"""``python -m opentelemetry_instrumentation_litellm``: trace a small mock litellm app.

``--console`` (the default) prints the spans as JSON on stdout; no server and no
API key are needed.
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m opentelemetry_instrumentation_litellm",
        description="Trace a small litellm app (mock responses, no API key) with OpenTelemetry.",
    )
    parser.add_argument(
        "--console", action="store_true", default=True, help="print spans to stdout (default)"
    )
    parser.add_argument(
        "--no-content",
        action="store_true",
        help="do not capture message content (the demo captures it to show it)",
    )
    args = parser.parse_args(argv)

    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )

    from opentelemetry_instrumentation_litellm import LiteLLMInstrumentor
    from opentelemetry_instrumentation_litellm.demo import run

    provider = TracerProvider(resource=Resource.create({"service.name": "litellm-demo"}))
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    instrumentor = LiteLLMInstrumentor()
    instrumentor.instrument(
        tracer_provider=provider,
        capture_message_content="NO_CONTENT" if args.no_content else "SPAN_ONLY",
    )
    try:
        print("Running the demo app (litellm mock responses)...", file=sys.stderr)
        trace_id = run(provider.get_tracer("litellm-demo"))
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
    print(f"Done: trace {trace_id} printed above as JSON spans.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
