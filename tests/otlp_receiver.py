"""A local OTLP/HTTP receiver for tests: ``POST /v1/traces`` and ``/v1/metrics``, protobuf.

A small threaded HTTP server on 127.0.0.1 that answers 200 to every
``ExportTraceServiceRequest`` and keeps its spans, flattened into :class:`ReceivedSpan`
(with their resource's attributes, so a worker is told apart by ``process.pid``), and
the names of the metrics in every ``ExportMetricsServiceRequest``.
``stop()`` closes the port and ``start()`` binds the same port again: a backend that
goes down and comes back. Point a child process at it with :meth:`OTLPReceiver.exporter_env`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from mlflow_fixtures import LocalHTTPServer

PATH = "/v1/traces"
METRICS_PATH = "/v1/metrics"


def value(any_value: AnyValue) -> Any:
    """An OTLP ``AnyValue`` as a Python value (arrays as lists)."""
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [value(v) for v in any_value.array_value.values]
    if kind == "kvlist_value":
        return attributes(any_value.kvlist_value.values)
    return getattr(any_value, kind) if kind else None


def attributes(pairs: Any) -> dict[str, Any]:
    return {pair.key: value(pair.value) for pair in pairs}


@dataclass(frozen=True)
class ReceivedSpan:
    name: str
    trace_id: int
    span_id: int
    parent_id: int | None
    kind: int
    """OTLP's ``SpanKind``: 1 internal, 2 server, 3 client."""
    start: int
    end: int
    attributes: dict[str, Any]
    status_code: int
    """OTLP's ``StatusCode``: 0 unset, 1 ok, 2 error."""
    status_message: str
    resource: dict[str, Any]

    @property
    def pid(self) -> Any:
        return self.resource.get("process.pid")

    def overlaps(self, other: ReceivedSpan) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass
class OTLPReceiver:
    """Spans received on ``url``; ``start()``/``stop()`` any number of times, same port."""

    port: int = 0
    spans: list[ReceivedSpan] = field(default_factory=list)
    metric_names: set[str] = field(default_factory=set)
    posts: int = 0
    _server: LocalHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{METRICS_PATH}"

    def exporter_env(self) -> dict[str, str]:
        """The SDK's variables that export traces over OTLP/HTTP protobuf to this receiver."""
        return {
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": self.url,
        }

    def start(self) -> OTLPReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = 404
                if self.path == PATH:
                    request = ExportTraceServiceRequest()
                    request.ParseFromString(body)
                    receiver._add(request)
                    status = 200
                elif self.path == METRICS_PATH:
                    metrics = ExportMetricsServiceRequest()
                    metrics.ParseFromString(body)
                    receiver._add_metrics(metrics)
                    status = 200
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = LocalHTTPServer(Handler, self.port)
        self.port = self._server.port
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    def _add(self, request: ExportTraceServiceRequest) -> None:
        received = []
        for resource_spans in request.resource_spans:
            resource = attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    received.append(
                        ReceivedSpan(
                            name=span.name,
                            trace_id=int.from_bytes(span.trace_id, "big"),
                            span_id=int.from_bytes(span.span_id, "big"),
                            parent_id=int.from_bytes(span.parent_span_id, "big") or None,
                            kind=span.kind,
                            start=span.start_time_unix_nano,
                            end=span.end_time_unix_nano,
                            attributes=attributes(span.attributes),
                            status_code=span.status.code,
                            status_message=span.status.message,
                            resource=resource,
                        )
                    )
        with self._lock:
            self.posts += 1
            self.spans.extend(received)

    def _add_metrics(self, request: ExportMetricsServiceRequest) -> None:
        names = {
            metric.name
            for resource_metrics in request.resource_metrics
            for scope_metrics in resource_metrics.scope_metrics
            for metric in scope_metrics.metrics
        }
        with self._lock:
            self.metric_names |= names

    def snapshot(self) -> list[ReceivedSpan]:
        with self._lock:
            return list(self.spans)

    def in_trace(self, trace_id: int) -> list[ReceivedSpan]:
        return [s for s in self.snapshot() if s.trace_id == trace_id]

    def wait_for(
        self, condition: Callable[[list[ReceivedSpan]], bool], timeout: float = 30.0
    ) -> list[ReceivedSpan]:
        """The spans once ``condition(spans)`` holds, or as they are at ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            spans = self.snapshot()
            if condition(spans) or time.monotonic() > deadline:
                return spans
            time.sleep(0.1)


def tree(spans: list[ReceivedSpan], attribute: str = "") -> str:
    """The spans as an indented tree, each with its ``attribute``'s value and its status, for
    assertion messages."""
    ids = {s.span_id for s in spans}
    ordered = sorted(spans, key=lambda s: s.start)
    lines: list[str] = []

    def walk(span: ReceivedSpan, depth: int) -> None:
        value = span.attributes.get(attribute, "")
        lines.append(f"{'  ' * depth}{span.name} {value} status={span.status_code}")
        for child in (s for s in ordered if s.parent_id == span.span_id):
            walk(child, depth + 1)

    for span in ordered:
        if span.parent_id not in ids:
            walk(span, 0)
    return "\n".join(lines)


def running() -> Iterator[OTLPReceiver]:
    """A started receiver, stopped afterwards: the body of a test module's fixture."""
    receiver = OTLPReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()
