"""The exporter layer without MLflow: configure() over the SDK's exporter entry points,
real receivers for console/Zipkin/OTLP, the resilience wrapper, the MLflow input/output
conversion."""

from __future__ import annotations

import gzip
import io
import json
import logging
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import grpc
import litellm
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.exporter.zipkin.json import ZipkinExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.trace.v1 import trace_pb2
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

from mlflow_fixtures import LocalHTTPServer, child_env
from opentelemetry_instrumentation_litellm.exporters import (
    ExporterConfigurationError,
    ResilientSpanExporter,
    available_exporters,
    configure,
    configure_tracing,
)
from opentelemetry_instrumentation_litellm.exporters._mlflow_io import mlflow_io_attributes
from opentelemetry_instrumentation_litellm.exporters.mlflow import _SpanWithAttributes

MODEL = "openai/gpt-4o-mini"
RESILIENCE_LOGGER = "opentelemetry_instrumentation_litellm.exporters._resilience"


def run_python(code: str, tmp_path: Path, **env: str) -> str:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(code))
    done = subprocess.run(
        [sys.executable, str(script)],
        env=child_env(**env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    return done.stdout


def chat(provider: TracerProvider, instrument: Any) -> None:
    """One mock litellm call traced with ``provider``, content captured."""
    instrument(tracer_provider=provider, capture_message_content="SPAN_ONLY")
    litellm.completion(
        model=MODEL,
        messages=[{"role": "user", "content": "hi"}],
        mock_response="hello",
        user="u-1",
    )
    provider.force_flush()


# exporter names: the SDK's opentelemetry_traces_exporter entry points, nothing else


def test_names_are_the_sdks_entry_points():
    names = available_exporters()
    assert {
        "mlflow",
        "otlp",
        "otlp_proto_http",
        "otlp_proto_grpc",
        "zipkin_json",
        "console",
    } <= set(names)
    assert "zipkin" not in names, "no second naming"
    assert names == sorted(names)


@pytest.mark.parametrize("name", ["mlfow", "zipkin", "jaeger", "", 42])
def test_unknown_exporter_lists_the_installed_ones(name: Any):
    with pytest.raises(ExporterConfigurationError) as caught:
        configure(name, tracer_provider=TracerProvider())
    assert isinstance(caught.value, ValueError)
    assert "\n" not in str(caught.value)
    for known in ("console", "mlflow", "otlp", "zipkin_json"):
        assert known in str(caught.value)


def test_missing_extra_is_one_line_naming_the_extra(monkeypatch: pytest.MonkeyPatch):
    """The grpc exporter's entry point absent (its distribution not installed): one line
    naming the extra of the new distribution."""
    from importlib.metadata import EntryPoints

    from opentelemetry_instrumentation_litellm.exporters import _configure

    installed = _configure.entry_points

    def entry_points(**selection: Any) -> EntryPoints:
        found = installed(**selection)
        return EntryPoints([ep for ep in found if ep.name != "otlp_proto_grpc"])

    monkeypatch.setattr(_configure, "entry_points", entry_points)
    with pytest.raises(ExporterConfigurationError) as caught:
        configure("otlp_proto_grpc", tracer_provider=TracerProvider())
    assert str(caught.value) == (
        "The otlp_proto_grpc trace exporter is not installed: "
        "pip install 'otel-genai-litellm[grpc]'"
    )


def test_otlp_follows_the_protocol_variables(monkeypatch: pytest.MonkeyPatch):
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as Grpc
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as Http

    from opentelemetry_instrumentation_litellm.exporters._configure import exporter_class

    monkeypatch.delenv("OTEL_EXPORTER_OTLP_PROTOCOL", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", raising=False)
    assert exporter_class("otlp") is Http  # the specification's default
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    assert exporter_class("otlp") is Grpc
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json")
    with pytest.raises(ExporterConfigurationError, match="OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"):
        configure("otlp", tracer_provider=TracerProvider())


def test_configure_tracing_is_a_deprecated_alias(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", raising=False)
    provider = TracerProvider()
    with pytest.warns(DeprecationWarning, match="configure"):
        assert configure_tracing("console", tracer_provider=provider, out=io.StringIO()) is provider
    with (
        pytest.warns(DeprecationWarning),
        pytest.raises(ExporterConfigurationError, match="thrift"),
    ):
        configure_tracing("otlp", tracer_provider=provider, protocol="thrift")
    provider.shutdown()


PLUGIN = """
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

class ListExporter(SpanExporter):
    def __init__(self, label):
        self.label = label
        self.names = []

    def export(self, spans):
        self.names.extend(s.name for s in spans)
        return SpanExportResult.SUCCESS

CREATED = []

class CountingExporter(ListExporter):
    def __init__(self, label):
        super().__init__(label)
        CREATED.append(self)
"""


def test_third_party_exporter_through_the_sdks_entry_point_group(tmp_path: Path):
    """A real distribution on sys.path (a .dist-info with entry_points.txt) adds 'acme' to
    the SDK's group: configure() and opentelemetry-instrument see the same names."""
    site = tmp_path / "site"
    info = site / "acme_tracing-1.0.dist-info"
    info.mkdir(parents=True)
    (site / "acme_tracing.py").write_text(PLUGIN)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-tracing\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[opentelemetry_traces_exporter]\n"
        "acme = acme_tracing:CountingExporter\n"
        "broken = acme_tracing_missing:Exporter\n"
    )
    out = run_python(
        """
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry_instrumentation_litellm.exporters import (
            ExporterConfigurationError, available_exporters, configure,
        )

        names = available_exporters()
        assert {"acme", "broken"} <= set(names), names
        try:
            configure("broken", tracer_provider=TracerProvider())
        except ExporterConfigurationError as error:
            assert "acme_tracing_missing" in str(error), str(error)
        else:
            raise AssertionError("broken")

        provider = configure("acme", tracer_provider=TracerProvider(), label="x")
        with provider.get_tracer("t").start_as_current_span("through-acme"):
            pass
        provider.force_flush()
        import acme_tracing
        (exporter,) = acme_tracing.CREATED
        print("EXPORTED", exporter.label, exporter.names)
        """,
        tmp_path,
        PYTHONPATH=str(site),
    )
    assert "EXPORTED x ['through-acme']" in out


# configure and the global provider (subprocesses: the global provider is set once)


def test_configure_adds_to_the_global_provider_and_never_replaces_it(tmp_path: Path):
    out = run_python(
        """
        import io, json
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from opentelemetry_instrumentation_litellm.exporters import configure

        mine = InMemorySpanExporter()
        users = TracerProvider(resource=Resource.create({"service.name": "users-app"}))
        users.add_span_processor(SimpleSpanProcessor(mine))
        trace.set_tracer_provider(users)

        console = io.StringIO()
        assert configure("console", out=console, service_name="ignored") is users
        assert configure("console", out=console) is users  # same again: no-op
        assert trace.get_tracer_provider() is users

        with trace.get_tracer("t").start_as_current_span("one-span"):
            pass
        users.force_flush()
        assert [s.name for s in mine.get_finished_spans()] == ["one-span"]
        printed = console.getvalue()
        assert printed.count('"name": "one-span"') == 1, printed
        assert '"service.name": "users-app"' in printed

        other = io.StringIO()
        configure("console", out=other)  # other options: a second destination
        with trace.get_tracer("t").start_as_current_span("two-span"):
            pass
        users.force_flush()
        assert console.getvalue().count('"two-span"') == 1
        assert other.getvalue().count('"two-span"') == 1
        print("OK")
        """,
        tmp_path,
    )
    assert "OK" in out


def test_configure_creates_a_global_provider_when_there_is_none(tmp_path: Path):
    out = run_python(
        """
        import io
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry_instrumentation_litellm.exporters import configure

        assert not isinstance(trace.get_tracer_provider(), TracerProvider)
        provider = configure("console", out=io.StringIO())
        assert trace.get_tracer_provider() is provider
        print("SERVICE", provider.resource.attributes["service.name"])
        """,
        tmp_path,
        OTEL_SERVICE_NAME="from-env",
    )
    assert "SERVICE from-env" in out
    out = run_python(
        """
        import io
        from opentelemetry_instrumentation_litellm.exporters import configure

        provider = configure("console", out=io.StringIO(), service_name="from-arg")
        print("SERVICE", provider.resource.attributes["service.name"])
        """,
        tmp_path,
        OTEL_SERVICE_NAME="from-env",
    )
    assert "SERVICE from-arg" in out


def test_configure_refuses_a_global_provider_it_cannot_add_to(tmp_path: Path):
    out = run_python(
        """
        from opentelemetry import trace
        from opentelemetry_instrumentation_litellm.exporters import configure

        trace.set_tracer_provider(trace.NoOpTracerProvider())
        try:
            configure("console")
        except ValueError as error:
            print("ERROR", error)
        """,
        tmp_path,
    )
    assert "ERROR The global tracer provider is a NoOpTracerProvider" in out
    assert "tracer_provider=" in out


def test_explicit_provider_leaves_the_global_one_alone():
    from opentelemetry import trace

    before = trace.get_tracer_provider()
    provider = TracerProvider()
    assert configure("console", tracer_provider=provider, out=io.StringIO()) is provider
    assert trace.get_tracer_provider() is before
    provider.shutdown()


def test_importing_the_package_imports_neither_the_sdk_nor_mlflow(tmp_path: Path):
    out = run_python(
        """
        import sys
        import opentelemetry_instrumentation_litellm
        assert not [m for m in sys.modules if m.startswith("opentelemetry.sdk")], "SDK imported"
        import opentelemetry_instrumentation_litellm.exporters
        assert "mlflow" not in sys.modules and "litellm" not in sys.modules
        print("OK")
        """,
        tmp_path,
    )
    assert "OK" in out


# console, Zipkin and OTLP, each against something that really receives the spans


def decode_json_stream(text: str) -> list[dict[str, Any]]:
    decoder, position, found = json.JSONDecoder(), 0, []
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        value, position = decoder.raw_decode(text, position)
        found.append(value)
    return found


def test_console_destination_prints_the_chat_span(instrument: Any):
    out = io.StringIO()
    provider = configure("console", tracer_provider=TracerProvider(), out=out)
    chat(provider, instrument)
    (span,) = decode_json_stream(out.getvalue())
    assert span["name"] == "chat gpt-4o-mini"
    assert span["kind"] == "SpanKind.CLIENT"
    assert span["attributes"]["gen_ai.operation.name"] == "chat"
    assert span["attributes"]["gen_ai.usage.output_tokens"] == 20
    provider.shutdown()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A tiny HTTP server on 127.0.0.1 that records what it is sent."""

    requests: list[Received] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(receiver.delay)
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.requests.append(Received(self.path, headers, body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.http = LocalHTTPServer(Handler)
        self.url = self.http.url

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


def test_zipkin_destination(receiver: Receiver, instrument: Any):
    provider = configure(
        "zipkin_json",
        tracer_provider=TracerProvider(),
        service_name="ignored-for-explicit-provider",
        endpoint=f"{receiver.url}/api/v2/spans",
    )
    chat(provider, instrument)
    (request,) = receiver.requests
    assert request.path == "/api/v2/spans"
    (span,) = json.loads(request.body)
    assert span["name"] == "chat gpt-4o-mini"
    assert span["kind"] == "CLIENT"
    assert span["tags"]["gen_ai.operation.name"] == "chat"
    assert span["tags"]["gen_ai.provider.name"] == "openai"
    assert span["tags"]["gen_ai.usage.input_tokens"] == "10"
    assert span["tags"]["user.id"] == "u-1"
    provider.shutdown()


def otlp_spans(request: trace_service_pb2.ExportTraceServiceRequest) -> list[trace_pb2.Span]:
    return [s for r in request.resource_spans for scope in r.scope_spans for s in scope.spans]


def attributes(span: trace_pb2.Span) -> dict[str, Any]:
    return {a.key: getattr(a.value, a.value.WhichOneof("value")) for a in span.attributes}


def test_otlp_http_destination_with_arguments(receiver: Receiver, instrument: Any):
    provider = configure(
        "otlp_proto_http",
        tracer_provider=TracerProvider(),
        endpoint=f"{receiver.url}/custom/v1/traces",
        headers={"x-api-key": "k-1"},
    )
    chat(provider, instrument)
    (request,) = receiver.requests
    assert request.path == "/custom/v1/traces"
    assert request.headers["x-api-key"] == "k-1"
    assert request.headers["content-type"] == "application/x-protobuf"
    (span,) = otlp_spans(trace_service_pb2.ExportTraceServiceRequest.FromString(request.body))
    assert span.name == "chat gpt-4o-mini"
    assert span.kind == trace_pb2.Span.SPAN_KIND_CLIENT
    assert attributes(span)["gen_ai.request.model"] == "gpt-4o-mini"
    provider.shutdown()


def test_otlp_destination_from_the_standard_environment(
    receiver: Receiver, instrument: Any, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"{receiver.url}/v1/traces")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "authorization=Bearer%20abc")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf")
    provider = configure(tracer_provider=TracerProvider())  # OTEL_TRACES_EXPORTER unset: otlp
    chat(provider, instrument)
    (request,) = receiver.requests
    assert request.path == "/v1/traces"
    assert request.headers["authorization"] == "Bearer abc"
    (span,) = otlp_spans(trace_service_pb2.ExportTraceServiceRequest.FromString(request.body))
    assert attributes(span)["gen_ai.operation.name"] == "chat"
    provider.shutdown()


class _TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.requests: list[tuple[trace_service_pb2.ExportTraceServiceRequest, dict[str, str]]] = []

    def Export(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.requests.append((request, dict(context.invocation_metadata())))
        return trace_service_pb2.ExportTraceServiceResponse()


def test_otlp_grpc_destination(instrument: Any):
    service = _TraceService()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(service, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        provider = configure(
            "otlp_proto_grpc",
            tracer_provider=TracerProvider(),
            endpoint=f"http://127.0.0.1:{port}",
            headers={"x-tenant": "t-1"},
        )
        chat(provider, instrument)
        provider.shutdown()
    finally:
        server.stop(None)
    (request, metadata) = service.requests[0]
    assert metadata["x-tenant"] == "t-1"
    (span,) = otlp_spans(request)
    assert span.name == "chat gpt-4o-mini"
    assert span.kind == trace_pb2.Span.SPAN_KIND_CLIENT
    assert attributes(span)["gen_ai.usage.input_tokens"] == 10


# the resilience wrapper, with a fake clock and an exporter that fails on demand


class FlakyExporter(SpanExporter):
    """Fails while ``down``: by returning FAILURE and logging like the OTLP exporters do,
    or by raising when ``raises`` is set."""

    log = logging.getLogger(__name__)  # exporters log through their module's logger

    def __init__(self) -> None:
        self.down = False
        self.raises = False
        self.exported: list[str] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self.down:
            if self.raises:
                raise ConnectionError("http://user:pw@backend:1 refused")
            self.log.error("Failed to export batch code: 503, reason: backend down")
            return SpanExportResult.FAILURE
        self.exported.extend(s.name for s in spans)
        return SpanExportResult.SUCCESS


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def spans(*names: str) -> list[ReadableSpan]:
    return [ReadableSpan(name=name) for name in names]


def reports(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == RESILIENCE_LOGGER]


def test_failures_are_counted_and_reported_once_per_interval(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG, logger=__name__)
    caplog.set_level(logging.WARNING, logger=RESILIENCE_LOGGER)
    clock, inner = Clock(), FlakyExporter()
    exporter = ResilientSpanExporter(inner, destination="flaky", drop_log_interval=60, clock=clock)

    assert exporter.export(spans("a")) is SpanExportResult.SUCCESS
    inner.down = True
    for _ in range(5):
        assert exporter.export(spans("b", "c")) is SpanExportResult.FAILURE
        clock.now += 10
    assert exporter.dropped_spans == 10
    (first,) = reports(caplog)
    assert "failed: 2 span(s) dropped (2 since start)" in first
    assert "the exporter reported a failure" in first
    own = [r.getMessage() for r in caplog.records if r.name == __name__]
    assert len(own) == 5, "what the wrapped exporter logs is its own business"

    clock.now += 20  # 70 s after the first report
    exporter.export(spans("d"))
    assert "failed: 9 span(s) dropped (11 since start)" in reports(caplog)[-1]
    assert len(reports(caplog)) == 2

    inner.down = False
    exporter.export(spans("e"))
    exporter.export(spans("f"))
    assert "resumed" in reports(caplog)[-1]
    assert len(reports(caplog)) == 3
    assert inner.exported == ["a", "e", "f"]


def test_exceptions_never_escape_and_secrets_are_masked(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.WARNING, logger=RESILIENCE_LOGGER)
    inner = FlakyExporter()
    inner.down = inner.raises = True
    exporter = ResilientSpanExporter(inner, destination="flaky")
    assert exporter.export(spans("x")) is SpanExportResult.FAILURE
    (report,) = reports(caplog)
    assert "ConnectionError" in report and "//***@backend" in report and "pw" not in report


def test_the_wrapper_touches_no_logger():
    """No filter, handler or level is added to any logger, the exporter's or another's."""
    import logging as logging_module

    def loggers() -> dict[str, tuple[Any, ...]]:
        manager = logging_module.Logger.manager
        found = {"": logging_module.getLogger()}
        found.update(
            (name, lg) for name, lg in manager.loggerDict.items() if isinstance(lg, logging.Logger)
        )
        return {n: (tuple(lg.filters), tuple(lg.handlers), lg.level) for n, lg in found.items()}

    FlakyExporter.log.debug("make sure the logger exists")
    before = loggers()
    inner = FlakyExporter()
    exporter = ResilientSpanExporter(inner, destination="flaky")
    inner.down = True
    exporter.export(spans("a"))
    after = loggers()
    assert {n: v for n, v in after.items() if n in before} == before


class ExplainingExporter(ResilientSpanExporter):
    def _failure_reason(self) -> str | None:
        return "HTTP 503 Service Unavailable from http://u:secret@backend"


def test_a_subclass_gives_the_reason_of_a_failed_export(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.WARNING, logger=RESILIENCE_LOGGER)
    inner = FlakyExporter()
    inner.down = True
    ExplainingExporter(inner, destination="flaky").export(spans("a"))
    (report,) = reports(caplog)
    assert "HTTP 503 Service Unavailable" in report and "secret" not in report


def test_shutdown_reports_what_was_not_reported_yet(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.WARNING, logger=RESILIENCE_LOGGER)
    inner = FlakyExporter()
    inner.down = True
    exporter = ResilientSpanExporter(inner, destination="flaky", drop_log_interval=60)
    exporter.export(spans("a"))
    exporter.export(spans("b", "c"))
    exporter.shutdown()
    assert "2 more span(s) dropped before shutdown" in reports(caplog)[-1]


# MLflow's inputs/outputs from the GenAI message attributes (pure conversion)


def msgs(*messages: dict[str, Any]) -> str:
    return json.dumps(list(messages))


def test_conversion_covers_the_conventions_parts():
    extra = mlflow_io_attributes(
        {
            "gen_ai.request.model": "m",
            "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Be nice."}]),
            "gen_ai.input.messages": msgs(
                {
                    "role": "user",
                    "parts": [
                        {"type": "text", "content": "Look:"},
                        {
                            "type": "blob",
                            "modality": "image",
                            "mime_type": "image/png",
                            "content": "AAA",
                        },
                        {"type": "uri", "modality": "image", "uri": "https://x/y.png"},
                        {"type": "uri", "modality": "video", "uri": "https://x/v.mp4"},
                    ],
                },
                {
                    "role": "assistant",
                    "parts": [
                        {"type": "reasoning", "content": "hmm"},
                        {"type": "tool_call", "id": "c1", "name": "f", "arguments": {"a": 1}},
                    ],
                    "name": "bot",
                },
                {
                    "role": "tool",
                    "parts": [
                        {"type": "tool_call_response", "id": "c1", "response": {"ok": True}},
                        {"type": "tool_call_response", "id": "c2", "response": "plain"},
                    ],
                },
            ),
            "gen_ai.output.messages": msgs(
                {
                    "role": "assistant",
                    "parts": [{"type": "tool_call", "id": "c3", "name": "g", "arguments": "{}"}],
                    "finish_reason": "tool_call",
                }
            ),
        }
    )
    inputs = json.loads(extra["mlflow.spanInputs"])
    assert inputs["model"] == "m"
    system, user, assistant, tool1, tool2 = inputs["messages"]
    assert system == {"role": "system", "content": "Be nice."}
    assert user["content"] == [
        {"type": "text", "text": "Look:"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}},
        {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
        {"type": "uri", "modality": "video", "uri": "https://x/v.mp4"},
    ]
    assert assistant == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}
        ],
        "reasoning_content": "hmm",
        "name": "bot",
    }
    assert tool1 == {"role": "tool", "tool_call_id": "c1", "content": '{"ok":true}'}
    assert tool2 == {"role": "tool", "tool_call_id": "c2", "content": "plain"}
    outputs = json.loads(extra["mlflow.spanOutputs"])
    assert outputs["choices"][0]["finish_reason"] == "tool_calls"
    assert outputs["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == "{}"
    assert "usage" not in outputs  # no token counts on the span: none invented


@pytest.mark.parametrize(
    "attributes",
    [
        {},
        {"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 3},
        {"gen_ai.input.messages": "not json"},
        {"gen_ai.input.messages": json.dumps({"not": "a list"})},
    ],
)
def test_no_content_means_no_mlflow_io(attributes: dict[str, Any]):
    assert mlflow_io_attributes(attributes) == {}


def test_explicit_mlflow_io_is_kept():
    extra = mlflow_io_attributes(
        {
            "mlflow.spanInputs": '{"question": "kept"}',
            "gen_ai.input.messages": msgs(
                {"role": "user", "parts": [{"type": "text", "content": "q"}]}
            ),
            "gen_ai.output.messages": msgs(
                {"role": "assistant", "parts": [], "finish_reason": "stop"}
            ),
        }
    )
    assert set(extra) == {"mlflow.spanOutputs"}


def test_exported_copy_leaves_the_original_span_alone():
    provider = TracerProvider(span_limits=None)
    with provider.get_tracer("t").start_as_current_span("s", attributes={"k": "v"}) as span:
        pass
    copy = _SpanWithAttributes(span, {"mlflow.spanInputs": "{}"})
    assert dict(copy.attributes) == {"k": "v", "mlflow.spanInputs": "{}"}
    assert dict(span.attributes) == {"k": "v"}
    assert (copy.context, copy.parent, copy.name, copy.kind) == (
        span.context,
        span.parent,
        span.name,
        span.kind,
    )
    assert (copy.start_time, copy.end_time, copy.dropped_attributes) == (
        span.start_time,
        span.end_time,
        span.dropped_attributes,
    )


def test_simple_processor_sees_no_exception_from_a_failing_destination(
    receiver: Receiver, instrument: Any
):
    """A backend answering 500 through a synchronous processor: the app call still works."""
    receiver.status = 500
    provider = TracerProvider()
    exporter = ResilientSpanExporter(
        ZipkinExporter(endpoint=f"{receiver.url}/api/v2/spans"), destination="zipkin"
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    chat(provider, instrument)
    assert exporter.dropped_spans == 1
    provider.shutdown()


def test_a_slow_backend_never_blocks_the_app(receiver: Receiver, instrument: Any):
    """The receiver answers after 3 s; the export times out after 0.5 s on the export
    thread while litellm calls return at once."""
    receiver.delay = 3.0
    exporter = ResilientSpanExporter(
        OTLPSpanExporter(endpoint=f"{receiver.url}/v1/traces", timeout=0.5),
        destination="slow",
    )
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=10))
    instrument(tracer_provider=provider)
    durations = []
    for _ in range(5):
        began = time.perf_counter()
        litellm.completion(
            model=MODEL, messages=[{"role": "user", "content": "hi"}], mock_response="x"
        )
        durations.append(time.perf_counter() - began)
        time.sleep(0.05)
    assert max(durations) < 0.3, durations
    deadline = time.monotonic() + 10
    while exporter.dropped_spans < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert exporter.dropped_spans == 5
    provider.shutdown()
