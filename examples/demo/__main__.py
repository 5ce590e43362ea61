"""``bash scripts/dev.sh demo`` (``python -m demo`` with ``examples/`` on the path).

Traces a small mock litellm app. By default it starts a local MLflow server (sqlite,
127.0.0.1, data in ``--data-dir``), sends the app's traces there, prints where to look,
and keeps the server running until Ctrl-C (``--stop`` stops it right away).
``--console`` prints the spans as JSON instead and needs no server. No API key is
needed: litellm's ``mock_response`` answers every call.

Every mistake the user can fix ends the run with a one-line ``error: ...`` on stderr
and exit status 2; a failure that is not theirs with one line and status 1.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from demo.errors import UsageError

EXPERIMENT = "litellm-demo"
SERVICE = "litellm-demo"
DATA_DIR = Path("mlflow-demo-data")
LOCAL_SERVER_OPTIONS = ("data_dir", "port", "stop")


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a TCP port (1-65535)")
    return port


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bash scripts/dev.sh demo",
        description="Trace a small litellm app (mock responses, no API key) with OpenTelemetry "
        "and show it in a local MLflow server.",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--console", action="store_true", help="print spans to stdout instead")
    where.add_argument(
        "--tracking-uri", help="use this running MLflow server instead of starting one"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help=f"where the local MLflow server keeps its data (default: ./{DATA_DIR})",
    )
    parser.add_argument(
        "--port",
        type=_port,
        help="port of the local MLflow server: used, or the demo stops and says why "
        "(default: 5000, or a free port if 5000 is taken)",
    )
    parser.add_argument("--stop", action="store_true", help="stop the MLflow server after the run")
    parser.add_argument(
        "--no-content",
        action="store_true",
        help="do not capture message content (the demo captures it to show it)",
    )
    return parser


def _run_app(provider: Any, no_content: bool) -> str:
    from demo.app import run
    from opentelemetry_instrumentation_litellm import LiteLLMInstrumentor

    instrumentor = LiteLLMInstrumentor()
    instrumentor.instrument(
        tracer_provider=provider,
        capture_message_content="NO_CONTENT" if no_content else "SPAN_ONLY",
    )
    try:
        print("Running the demo app (litellm mock responses)...", file=sys.stderr)
        return run(provider.get_tracer("litellm-demo"))
    finally:
        instrumentor.uninstrument()


def _provider() -> Any:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    return TracerProvider(resource=Resource.create({"service.name": SERVICE}))


def console(args: argparse.Namespace) -> int:
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

    provider = _provider()
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    try:
        trace_id = _run_app(provider, args.no_content)
    finally:
        provider.shutdown()
    print(f"Done: trace {trace_id} printed above as JSON spans.", file=sys.stderr)
    return 0


def _mlflow_exporter(tracking_uri: str) -> Any:
    from opentelemetry_instrumentation_litellm.exporters.mlflow import MLflowSpanExporter

    try:
        # A freshly started MLflow can take longer than the default 5 s to ingest its
        # first spans on a busy machine: the export timed out and reported the spans as
        # dropped while MLflow went on to store them.
        return MLflowSpanExporter(tracking_uri, experiment_name=EXPERIMENT, timeout=30)
    except ValueError as error:  # the exporter's configuration error: the URI is wrong
        raise UsageError(f"--tracking-uri {tracking_uri}: {error}") from None


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
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from demo.mlflow_server import LocalMLflowServer

    server = None
    if args.tracking_uri:
        tracking_uri = args.tracking_uri.rstrip("/")
    else:
        server = LocalMLflowServer(args.data_dir, args.port)
        server.start(sys.stderr)
        tracking_uri = server.url
    try:
        exporter = _mlflow_exporter(tracking_uri)
        provider = _provider()
        provider.add_span_processor(BatchSpanProcessor(exporter))
        trace_id = _run_app(provider, args.no_content)
        provider.shutdown()  # flushes the batch processor
        mlflow_trace_id = f"tr-{trace_id}"
        spans = _count_spans(tracking_uri, mlflow_trace_id)
        print()
        print(f"Trace:       {mlflow_trace_id}", end="")
        print(f" ({spans} spans stored)" if spans else "")
        if spans == 0:
            print("The trace did not arrive in MLflow; see the log lines above.", file=sys.stderr)
            return 1
        if server is not None and args.stop and not server.reused:
            server.stop()
            print(
                f"The MLflow server is stopped; its data stays in {server.data_dir} "
                "(run the demo again without --stop to browse it)."
            )
            return 0
        traces_page = f"{tracking_uri}/#/experiments/{exporter.experiment_id}/traces"
        print(f"MLflow UI:   {traces_page}  (experiment {EXPERIMENT!r})")
        print(f"Open it:     {traces_page}?selectedEvaluationId={mlflow_trace_id}")
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


def _parse(argv: list[str] | None) -> argparse.Namespace:
    """The options; a bad one exits with status 2 and a one-line ``error:`` (argparse)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.console or args.tracking_uri:
        given = [name for name in LOCAL_SERVER_OPTIONS if getattr(args, name) not in (None, False)]
        if given:
            option = "--" + given[0].replace("_", "-")
            chosen = "--console" if args.console else "--tracking-uri"
            parser.error(f"{option} is for the local MLflow server, which {chosen} does not start")
    args.data_dir = args.data_dir or DATA_DIR
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        return console(args) if args.console else to_mlflow(args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
