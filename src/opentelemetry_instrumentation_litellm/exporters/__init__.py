"""Send the spans of this process to a trace backend: MLflow, or any SDK span exporter.

This layer knows nothing of litellm: it exports whatever spans the SDK hands it. It is
the only part of the package that imports the OpenTelemetry SDK (the ``exporters``
extra), so ``import opentelemetry_instrumentation_litellm`` stays SDK-free.

- :func:`configure` ``(exporter=None, *, tracer_provider=None, service_name=None,
  drop_log_interval=None, **options)``: one call in code. Exporters are named as the SDK
  names them, by their ``opentelemetry_traces_exporter`` entry point (``otlp``,
  ``otlp_proto_http``, ``otlp_proto_grpc``, ``console``, ``zipkin_json``, ``mlflow``, ...),
  or given as a ``SpanExporter`` instance. :func:`available_exporters` lists the names.
- :class:`MLflowSpanExporter`: also ``OTEL_TRACES_EXPORTER=mlflow`` for
  ``opentelemetry-instrument``.
- :class:`ResilientSpanExporter`: counts spans lost to a failing backend and logs them
  at a bounded rate.
- :class:`ExporterConfigurationError`: the ``ValueError`` raised at setup.
- :func:`configure_tracing`: deprecated alias of :func:`configure` (one release).
"""

from opentelemetry_instrumentation_litellm.exporters import _extra  # noqa: F401  (first)
from opentelemetry_instrumentation_litellm.exporters._configure import (
    available_exporters,
    configure,
    configure_tracing,
)
from opentelemetry_instrumentation_litellm.exporters._errors import ExporterConfigurationError
from opentelemetry_instrumentation_litellm.exporters._resilience import ResilientSpanExporter
from opentelemetry_instrumentation_litellm.exporters.mlflow import MLflowSpanExporter

__all__ = [
    "ExporterConfigurationError",
    "MLflowSpanExporter",
    "ResilientSpanExporter",
    "available_exporters",
    "configure",
    "configure_tracing",
]
