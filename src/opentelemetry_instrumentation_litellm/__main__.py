"""``python -m opentelemetry_instrumentation_litellm``: trace a small mock litellm app.

By default it starts a local MLflow server (sqlite, 127.0.0.1, data in
``--data-dir``), sends the app's traces there, prints where to look, and keeps the
server running until Ctrl-C (``--stop`` stops it right away). ``--console``
prints the spans as JSON instead and needs no server. No API key is needed:
litellm's ``mock_response`` answers every call.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

EXPERIMENT = "litellm-demo"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m opentelemetry_instrumentation_litellm",
        description="Trace a small litellm app (mock responses, no API key) with OpenTelemetry "
        "and show it in a local MLflow server.",
    )
    parser.add_argument("--console", action="store_true", help="print spans to stdout instead")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path("mlflow-demo-data"),
        help="where the local MLflow server keeps its data (default: ./mlflow-demo-data)",
    )
    parser.add_argument("--port", type=int, default=5000, help="MLflow port (default 5000)")
    parser.add_argument(
        "--tracking-uri", help="use this running MLflow server instead of starting one"
    )
    parser.add_argument("--stop", action="store_true", help="stop the MLflow server after the run")
    parser.add_argument(
        "--no-content",
        action="store_true",
        help="do not capture message content (the demo captures it to show it)",
    )
    return parser


def _instrument(provider: Any, no_content: bool) -> Any:
    from opentelemetry_instrumentation_litellm import LiteLLMInstrumentor

    instrumentor = LiteLLMInstrumentor()
    instrumentor.instrument(
        tracer_provider=provider,
        capture_message_content="NO_CONTENT" if no_content else "SPAN_ONLY",
    )
    return instrumentor


def _run_app(provider: Any, no_content: bool) -> str:
    from opentelemetry_instrumentation_litellm.demo import run

    instrumentor = _instrument(provider, no_content)
    try:
        print("Running the demo app (litellm mock responses)...", file=sys.stderr)
        return run(provider.get_tracer("litellm-demo"))
    finally:
        instrumentor.uninstrument()


def console(args: argparse.Namespace) -> int:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )

    provider = TracerProvider(resource=Resource.create({"service.name": "litellm-demo"}))
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    try:
        trace_id = _run_app(provider, args.no_content)
    finally:
        provider.shutdown()
    print(f"Done: trace {trace_id} printed above as JSON spans.", file=sys.stderr)
    return 0


def _count_spans(tracking_uri: str, trace_id: str, timeout: float = 20.0) -> int | None:
    """Spans MLflow stored for the trace (None if the mlflow client is not installed)."""
    try:
        import mlflow
    except ImportError:
        return None
    mlflow.set_tracking_uri(tracking_uri)
    deadline = time.monotonic() + timeout
    while True:
        try:
            trace = mlflow.get_trace(trace_id)
        except Exception:
            trace = None
        if trace is not None and trace.data.spans:
            return len(trace.data.spans)
        if time.monotonic() > deadline:
            return 0
        time.sleep(0.5)


def to_mlflow(args: argparse.Namespace) -> int:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    from opentelemetry_instrumentation_litellm._local_mlflow import (
        LocalMLflowServer,
    )
    from opentelemetry_instrumentation_litellm.exporters import (
        MLflowSpanExporter,
        configure,
    )

    server = None
    if args.tracking_uri:
        tracking_uri = args.tracking_uri.rstrip("/")
    else:
        server = LocalMLflowServer(args.data_dir, args.port)
        server.start(sys.stderr)
        tracking_uri = server.url
    try:
        provider = TracerProvider(resource=Resource.create({"service.name": "litellm-demo"}))
        configure(
            "mlflow",
            tracer_provider=provider,
            tracking_uri=tracking_uri,
            experiment_name=EXPERIMENT,
            # A freshly started MLflow can take longer than the default 5 s to ingest its
            # first spans on a busy machine: the export timed out and reported the spans as
            # dropped while MLflow went on to store them.
            timeout=30,
        )
        trace_id = _run_app(provider, args.no_content)
        provider.shutdown()  # flushes the batch processor
        experiment = MLflowSpanExporter(tracking_uri, experiment_name=EXPERIMENT).experiment_id
        mlflow_trace_id = f"tr-{trace_id}"
        spans = _count_spans(tracking_uri, mlflow_trace_id)
        print()
        traces_page = f"{tracking_uri}/#/experiments/{experiment}/traces"
        print(f"MLflow UI:   {traces_page}  (experiment {EXPERIMENT!r})")
        print(f"Trace:       {mlflow_trace_id}", end="")
        print(f" ({spans} spans stored)" if spans else "")
        print(f"Open it:     {traces_page}?selectedEvaluationId={mlflow_trace_id}")
        if spans == 0:
            print("The trace did not arrive in MLflow; see the log lines above.", file=sys.stderr)
            return 1
        if server is None or server.reused or args.stop:
            return 0
        print(f"The MLflow server keeps running (data in {server.data_dir}); Ctrl-C stops it.")
        _wait_for_interrupt()
        return 0
    finally:
        if server is not None:
            server.stop()


def _wait_for_interrupt() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("\nStopping the MLflow server.")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    if args.console:
        return console(args)
    try:
        return to_mlflow(args)
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
