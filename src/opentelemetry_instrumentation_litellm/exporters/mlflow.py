"""``MLflowSpanExporter``: OpenTelemetry spans into an MLflow tracking server.

MLflow (3.5+) ingests OTLP/HTTP at ``{tracking_uri}/v1/traces`` and files each trace
under the experiment named by the ``x-mlflow-experiment-id`` header. This exporter is
the SDK's OTLP/HTTP exporter pointed there, plus what a plain OTLP setup lacks:

- the experiment from MLflow's own variables (``MLFLOW_EXPERIMENT_ID`` or
  ``MLFLOW_EXPERIMENT_NAME``, the name resolved, and created if missing, through the
  REST API) and MLflow's credentials (``MLFLOW_TRACKING_USERNAME``/``_PASSWORD`` or
  ``MLFLOW_TRACKING_TOKEN``), checked once at construction so mistakes fail there;
- OpenAI-shaped ``mlflow.spanInputs``/``mlflow.spanOutputs`` for spans that captured
  GenAI messages, which MLflow's chat view and trace previews read (see ``_mlflow_io``);
- the trace list's Request/Response previews for traces whose root is the application's
  own span, set through MLflow's REST API from the captured messages (``_mlflow_previews``);
- the resilience of :class:`ResilientSpanExporter`: short timeout, failures counted and
  logged at a bounded rate, never an exception.

It is also the ``mlflow`` entry point of ``opentelemetry_traces_exporter``, so
``OTEL_TRACES_EXPORTER=mlflow opentelemetry-instrument python app.py`` builds it with
no arguments, from the environment. The ``mlflow`` package is never imported.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import requests
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult

from opentelemetry_instrumentation_litellm.exporters._mlflow_api import (
    RestClient,
    resolve_experiment,
    tracking_server,
)
from opentelemetry_instrumentation_litellm.exporters._mlflow_io import mlflow_io_attributes
from opentelemetry_instrumentation_litellm.exporters._mlflow_previews import TracePreviews
from opentelemetry_instrumentation_litellm.exporters._resilience import (
    DEFAULT_DROP_LOG_INTERVAL,
    ResilientSpanExporter,
)

__all__ = ["DEFAULT_TIMEOUT", "EXPERIMENT_HEADER", "MLflowSpanExporter"]

_logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 5.0
"""Seconds for one export (retries included) and for each setup request. Short, so an
unreachable server costs the export thread little and the process exits promptly."""

EXPERIMENT_HEADER = "x-mlflow-experiment-id"

_FORWARDED_HEADERS = frozenset({"content-type", "content-encoding", EXPERIMENT_HEADER})


class _MLflowSession(requests.Session):
    """Sends MLflow only its own headers.

    The OTLP exporter merges ``OTEL_EXPORTER_OTLP_(TRACES_)HEADERS`` into every request.
    Those are meant for the ``otlp`` destination (often a collector's API key) and must
    not leak to MLflow, so only the protocol headers pass, plus MLflow's credentials.
    """

    def __init__(self, authorization: str | None) -> None:
        super().__init__()
        self._authorization = authorization
        self.last_error: str | None = None
        """Why the last request failed (exception or HTTP status), for the drop report."""

    def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        *args: Any,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        own = {k: v for k, v in (headers or {}).items() if k.lower() in _FORWARDED_HEADERS}
        if self._authorization:
            own["Authorization"] = self._authorization
        try:
            response = super().request(method, url, *args, headers=own, **kwargs)
        except requests.RequestException as error:
            self.last_error = f"{type(error).__name__}: {error}"
            raise
        self.last_error = None if response.ok else f"HTTP {response.status_code} {response.reason}"
        return response


class _SpanWithAttributes(ReadableSpan):
    """A copy of a finished span with more attributes; the original stays untouched
    (other processors and exporters see it as it was)."""

    def __init__(self, span: ReadableSpan, extra: Mapping[str, str]) -> None:
        attributes = BoundedAttributes(
            maxlen=None, attributes={**(span.attributes or {}), **extra}, immutable=True
        )
        super().__init__(
            name=span.name,
            context=span.context,
            parent=span.parent,
            resource=span.resource,
            attributes=attributes,
            events=span.events,
            links=span.links,
            kind=span.kind,
            status=span.status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )
        self._original = span

    @property
    def dropped_attributes(self) -> int:
        return self._original.dropped_attributes

    @property
    def dropped_events(self) -> int:
        return self._original.dropped_events

    @property
    def dropped_links(self) -> int:
        return self._original.dropped_links


class MLflowSpanExporter(ResilientSpanExporter):
    """Exports spans to an MLflow tracking server over OTLP/HTTP.

    Every argument overrides its environment variable:

    - ``tracking_uri`` (``MLFLOW_TRACKING_URI``): ``http(s)://host:port`` of ``mlflow server``.
    - ``experiment_id`` (``MLFLOW_EXPERIMENT_ID``) or ``experiment_name``
      (``MLFLOW_EXPERIMENT_NAME``, created if missing); neither: the Default experiment "0".
    - ``username``/``password`` (``MLFLOW_TRACKING_USERNAME``/``MLFLOW_TRACKING_PASSWORD``,
      Basic) or ``token`` (``MLFLOW_TRACKING_TOKEN``, Bearer).
    - ``timeout``: seconds per export and per setup request (default 5).
    - ``add_span_io``: add OpenAI-shaped ``mlflow.spanInputs``/``mlflow.spanOutputs`` (and
      ``mlflow.chat.tools``) to spans that captured GenAI messages (default True).
    - ``trace_previews``: when a trace's root is not a GenAI span (the application's own),
      set the trace list's Request/Response previews from the first question and the last
      answer its LLM spans captured, through MLflow's REST API after export (default
      True). Spans are not changed; without captured content nothing is written.
    - ``drop_log_interval``: seconds between two WARNINGs about dropped spans (default 60).

    Raises :class:`ExporterConfigurationError` (a ``ValueError``) naming the variable to
    fix when the URI is missing or not http(s), the server is unreachable or refuses the
    credentials, or the experiment id is not a number or does not exist.
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        *,
        experiment_id: str | int | None = None,
        experiment_name: str | None = None,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        add_span_io: bool = True,
        trace_previews: bool = True,
        drop_log_interval: float = DEFAULT_DROP_LOG_INTERVAL,
    ) -> None:
        server = tracking_server(
            tracking_uri, username=username, password=password, token=token, timeout=timeout
        )
        session = _MLflowSession(server.authorization)
        try:
            experiment = resolve_experiment(
                RestClient(server, session), server, experiment_id, experiment_name
            )
        except BaseException:
            session.close()
            raise
        self._tracking_uri = server.base_url
        self._experiment_id = experiment
        self._add_span_io = add_span_io
        self._session = session
        self._previews = (
            TracePreviews(server.base_url, session, server.timeout) if trace_previews else None
        )
        exporter = OTLPSpanExporter(
            endpoint=f"{server.base_url}/v1/traces",
            headers={EXPERIMENT_HEADER: experiment},
            timeout=server.timeout,
            compression=Compression.Gzip,
            session=session,
        )
        super().__init__(
            exporter,
            destination=f"MLflow at {server.base_url} (experiment {experiment})",
            drop_log_interval=drop_log_interval,
        )
        _logger.debug(
            "Exporting traces to MLflow at %s, experiment %s", server.base_url, experiment
        )

    @property
    def tracking_uri(self) -> str:
        """The server's URL, without any credentials."""
        return self._tracking_uri

    @property
    def experiment_id(self) -> str:
        """The id of the experiment traces go to (resolved from a name if one was given)."""
        return self._experiment_id

    def _failure_reason(self) -> str | None:
        return self._session.last_error

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = super().export(spans)
        if result is SpanExportResult.SUCCESS and self._previews is not None:
            self._previews.exported(spans)
        return result

    def _prepare(self, spans: Sequence[ReadableSpan]) -> Sequence[ReadableSpan]:
        if not self._add_span_io:
            return spans
        return [self._with_io(span) for span in spans]

    @staticmethod
    def _with_io(span: ReadableSpan) -> ReadableSpan:
        try:
            extra = mlflow_io_attributes(span.attributes or {})
            return _SpanWithAttributes(span, extra) if extra else span
        except Exception:  # a span we cannot convert is still worth exporting as it is
            _logger.debug(
                "Could not add MLflow inputs/outputs to span %s", span.name, exc_info=True
            )
            return span
