"""Send the spans of this process to a trace backend: MLflow, OTLP, Zipkin, the console.

This layer knows nothing of litellm: it exports whatever spans the SDK hands it. It is
the only part of the package that imports the OpenTelemetry SDK (the ``exporters``
extra), so ``import opentelemetry_instrumentation_litellm`` stays SDK-free.

- :func:`configure_tracing` ``(destination="mlflow", *, service_name=None,
  tracer_provider=None, drop_log_interval=None, **options)``: one call in code.
- :func:`create_exporter` ``(name, **options)`` and :func:`available_destinations`:
  the registry, open to other packages through the entry point group
  ``opentelemetry_instrumentation_litellm.destinations``.
- :class:`MLflowSpanExporter`: also ``OTEL_TRACES_EXPORTER=mlflow`` for
  ``opentelemetry-instrument``.
- :class:`ResilientSpanExporter`: counts spans lost to a failing backend and logs them
  at a bounded rate.
- :class:`ExporterConfigurationError`: the ``ValueError`` raised at setup.
"""

from opentelemetry_instrumentation_litellm.exporters import _extra  # noqa: F401  (first)
from opentelemetry_instrumentation_litellm.exporters._errors import ExporterConfigurationError
from opentelemetry_instrumentation_litellm.exporters._registry import (
    ENTRY_POINT_GROUP,
    available_destinations,
    create_exporter,
)
from opentelemetry_instrumentation_litellm.exporters._resilience import ResilientSpanExporter
from opentelemetry_instrumentation_litellm.exporters._setup import configure_tracing
from opentelemetry_instrumentation_litellm.exporters.mlflow import MLflowSpanExporter

__all__ = [
    "ENTRY_POINT_GROUP",
    "ExporterConfigurationError",
    "MLflowSpanExporter",
    "ResilientSpanExporter",
    "available_destinations",
    "configure_tracing",
    "create_exporter",
]
