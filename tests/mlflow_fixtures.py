"""pytest plugin: one real ``mlflow server`` per test session, and reading traces back.

The server uses a sqlite store in a temporary directory and a free port on 127.0.0.1.
``MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false`` keeps it to the server and one uvicorn
worker (no ``huey_consumer`` job workers). It runs in its own process group, stopped by
its PID at the end of the session, also when a test or the startup fails.
``stop()``/``start()`` restart it on the same port and database (the resilience test).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from conftest import stop_process_group
from processes import answers, free_port

MLFLOW = str(Path(sys.executable).with_name("mlflow"))
STARTUP_TIMEOUT = 90.0


def unique(prefix: str) -> str:
    """A name no other test uses, e.g. an MLflow experiment's."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _package_root() -> str:
    """The folder this test run imports the instrumentation from (a checkout's ``src``)."""
    import opentelemetry_instrumentation_litellm

    return str(Path(opentelemetry_instrumentation_litellm.__file__).resolve().parents[1])


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment for a child process (an app, a proxy): without the test
    run's OpenTelemetry, MLflow and litellm settings or PYTHONPATH, with litellm's local
    cost map, then ``extra``. The child imports the instrumentation from where this run does
    (PYTHONPATH is that folder unless ``extra`` names one): a second checkout tested with the
    first one's editable install still tests its own code in its children."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL_", "MLFLOW_", "LITELLM_")) and k != "PYTHONPATH"
    }
    env.update(LITELLM_LOCAL_MODEL_COST_MAP="True", PYTHONPATH=_package_root())
    env.update(extra)
    return env


class LocalHTTPServer:
    """``handler`` served on 127.0.0.1, ``port`` or a free one, from a daemon thread;
    ``close()`` stops it."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int = 0) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False  # do not wait for a deliberately slow answer
        self.port: int = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def server_env() -> dict[str, str]:
    env = {
        **os.environ,
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        env.pop(name, None)
    return env


@dataclass
class MLflowServer:
    """A ``mlflow server`` process on 127.0.0.1:``port`` with its sqlite store at ``db_path``."""

    port: int
    db_path: Path
    log_path: Path
    startup_seconds: list[float] = field(default_factory=list)
    warm_up_seconds: list[float] = field(default_factory=list)
    _proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def healthy(self) -> bool:
        return answers(f"{self.url}/health")

    def start(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Start the server, wait for ``/health``; fail with its output if it stays down."""
        assert self._proc is None or self._proc.poll() is not None, "already running"
        began = time.monotonic()
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [
                    MLFLOW,
                    "server",
                    "--backend-store-uri",
                    f"sqlite:///{self.db_path}",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--workers",
                    "1",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=server_env(),
                cwd=self.db_path.parent,
                start_new_session=True,
            )
        while time.monotonic() - began < timeout:
            if self._proc.poll() is not None:
                break
            if self.healthy():
                self.startup_seconds.append(time.monotonic() - began)
                self.warm_up()
                return
            time.sleep(0.2)
        self.stop()
        output = self.log_path.read_text(errors="replace")[-4000:]
        raise RuntimeError(
            f"mlflow server on port {self.port} was not healthy within {timeout:.0f}s "
            f"(exit code {self._proc.returncode}). Its output:\n{output}"
        )

    def warm_up(self) -> None:
        """Ingest one GenAI span, so tests do not pay MLflow's first-ingest cost.

        A fresh server takes seconds (3.7 s here) for its first span with token usage: it
        imports litellm to price it. Tests with short export timeouts would count that
        slow first export as failed; the seconds are recorded in ``warm_up_seconds``.
        """
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace import TracerProvider

        chat = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 1,
            "gen_ai.usage.output_tokens": 1,
        }
        with (
            TracerProvider()
            .get_tracer("warm-up")
            .start_as_current_span("chat warm-up", attributes=chat) as span
        ):
            pass
        exporter = OTLPSpanExporter(
            endpoint=f"{self.url}/v1/traces", headers={"x-mlflow-experiment-id": "0"}, timeout=60
        )
        began = time.monotonic()
        try:
            assert exporter.export([span]).name == "SUCCESS", "warm-up export failed"
        finally:
            exporter.shutdown()
        self.warm_up_seconds.append(time.monotonic() - began)

    def stop(self) -> None:
        if self._proc is not None:
            stop_process_group(self._proc)


_started: list[MLflowServer] = []


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MLflowServer]:
    directory = tmp_path_factory.mktemp("mlflow")
    server = MLflowServer(free_port(), directory / "mlflow.db", directory / "server.log")
    _started.append(server)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def mlflow_trace_id(otel_trace_id: int) -> str:
    return "tr-" + f"{otel_trace_id:032x}"


def read_trace(
    url: str,
    otel_trace_id: int,
    *,
    tracer_provider: Any = None,
    spans: int = 1,
    timeout: float = 15.0,
) -> Any:
    """Flush ``tracer_provider``, then poll MLflow until the trace has ``spans`` spans."""
    import mlflow

    if tracer_provider is not None:
        tracer_provider.force_flush()
    mlflow.set_tracking_uri(url)
    deadline = time.monotonic() + timeout
    found = None
    while time.monotonic() < deadline:
        try:
            found = mlflow.get_trace(mlflow_trace_id(otel_trace_id))
        except Exception:  # not stored yet
            found = None
        if found is not None and len(found.data.spans) >= spans:
            return found
        time.sleep(0.2)
    got = "no trace" if found is None else f"{len(found.data.spans)} span(s)"
    raise AssertionError(
        f"MLflow at {url} has {got} for trace {mlflow_trace_id(otel_trace_id)} "
        f"after {timeout}s (expected {spans} span(s))"
    )


def search_traces(url: str, experiment_id: str) -> list[Any]:
    import mlflow

    mlflow.set_tracking_uri(url)
    return mlflow.search_traces(locations=[experiment_id], return_type="list")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for server in _started:
        starts = ", ".join(f"{t:.1f}" for t in server.startup_seconds)
        warm = ", ".join(f"{t:.1f}" for t in server.warm_up_seconds)
        terminalreporter.write_line(
            f"mlflow server: healthy after {starts} s; first GenAI span ingested in {warm} s"
        )
