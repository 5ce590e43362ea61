"""Shared fixtures: in-memory OpenTelemetry providers, the instrumentor, and a
local OpenAI-compatible server that litellm really talks to over HTTP."""

from __future__ import annotations

import os

# Before litellm is imported anywhere: without network its import would retry
# downloading the model cost map for ~10 s.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import json
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from matrix import MARKER, MATRIX
from opentelemetry_instrumentation_litellm import LiteLLMInstrumentor
from processes import stop_process_group

pytest_plugins = ["mlflow_fixtures", "proxy_fixtures"]

TESTS = Path(__file__).resolve().parent
SECRET = "sk-TOPSECRET-0123456789"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test of a module that calls litellm for the other litellm columns (matrix.py)."""
    for item in items:
        if item.path.relative_to(TESTS).as_posix() in MATRIX:
            item.add_marker(MARKER)


@dataclass
class FakeLLM:
    """A running tests/fake_openai_server.py (or fake_anthropic_server.py) process."""

    port: int

    @property
    def root(self) -> str:
        """The server's root URL: the ``api_base`` of litellm's ``anthropic/...`` models."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root}/v1"

    def requests(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/__requests", timeout=5) as r:
            return json.load(r)

    def reset(self) -> None:
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/__reset", method="POST", data=b""
        )
        urllib.request.urlopen(req, timeout=5).close()


def start_process_group(cmd: list[str], ready_prefix: str, timeout: float = 30.0, **kw: Any):
    """Start ``cmd`` in its own process group; return (process, the ready line)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, start_new_session=True, **kw)
    line: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for out in proc.stdout:
            if out.startswith(ready_prefix):
                line.append(out.strip())
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    if not line:
        stop_process_group(proc)
        raise RuntimeError(f"{cmd} did not print {ready_prefix!r} within {timeout}s")
    return proc, line[0]


def serve(script: str) -> Iterator[FakeLLM]:
    """Run one of the fake servers in tests/ until the generator is closed."""
    proc, line = start_process_group(
        [sys.executable, str(TESTS / script), "--port", "0"], "LISTENING"
    )
    try:
        yield FakeLLM(port=int(line.split()[1]))
    finally:
        stop_process_group(proc)


@pytest.fixture(scope="session")
def fake_llm() -> Iterator[FakeLLM]:
    yield from serve("fake_openai_server.py")


@pytest.fixture(scope="session")
def fake_anthropic() -> Iterator[FakeLLM]:
    """The fake Anthropic Messages API (``api_base=fake_anthropic.root``)."""
    yield from serve("fake_anthropic_server.py")


@pytest.fixture
def anthropic_llm(fake_anthropic: FakeLLM) -> FakeLLM:
    fake_anthropic.reset()
    return fake_anthropic


@pytest.fixture
def llm(fake_llm: FakeLLM) -> FakeLLM:
    fake_llm.reset()
    return fake_llm


@pytest.fixture
def litellm_callbacks() -> Iterator[None]:
    """Restore every litellm callback list afterwards: litellm copies what a test puts in
    ``litellm.callbacks`` into its per-event lists, where it would outlive the test."""
    import litellm

    names = [n for n in dir(litellm) if n.endswith(("callbacks", "callback"))]
    saved = {n: list(v) for n in names if isinstance(v := getattr(litellm, n), list)}
    yield
    for name, value in saved.items():
        getattr(litellm, name)[:] = value


@dataclass
class Telemetry:
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader
    logs: InMemoryLogRecordExporter
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    logger_provider: LoggerProvider

    def finished(self, name_prefix: str = "") -> list[Any]:
        return [s for s in self.spans.get_finished_spans() if s.name.startswith(name_prefix)]

    def only(self, name_prefix: str = "") -> Any:
        spans = self.finished(name_prefix)
        assert len(spans) == 1, [s.name for s in self.spans.get_finished_spans()]
        return spans[0]

    def histogram_points(self, metric_name: str) -> list[Any]:
        data = self.metrics.get_metrics_data()
        points = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == metric_name:
                        points.extend(metric.data.data_points)
        return points


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    metrics = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[metrics])
    logs = InMemoryLogRecordExporter()
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    yield Telemetry(spans, metrics, logs, tracer_provider, meter_provider, logger_provider)
    tracer_provider.shutdown()
    meter_provider.shutdown()
    logger_provider.shutdown()


@pytest.fixture
def instrument(telemetry: Telemetry) -> Iterator[Any]:
    """Instrument litellm with the test providers; ``instrument(**options)`` to pass options."""
    instrumentor = LiteLLMInstrumentor()

    def apply(**options: Any) -> LiteLLMInstrumentor:
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
        providers = {
            "tracer_provider": telemetry.tracer_provider,
            "meter_provider": telemetry.meter_provider,
            "logger_provider": telemetry.logger_provider,
        }
        instrumentor.instrument(**{**providers, **options})
        return instrumentor

    yield apply
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()


@pytest.fixture
def instrumented(instrument: Any, telemetry: Telemetry) -> Telemetry:
    """litellm instrumented with defaults (content capture off)."""
    instrument()
    return telemetry
