"""The OpenTelemetry SDK of a proxy process, set up from the standard environment the way
``opentelemetry-instrument`` does, unless the process already has a tracer provider."""

from __future__ import annotations

import logging
import os
from typing import Any, Final

from opentelemetry import metrics, trace

_logger = logging.getLogger(__name__)

DEFAULT_SERVICE_NAME: Final = "litellm-proxy"
"""``service.name`` unless ``OTEL_SERVICE_NAME`` or ``OTEL_RESOURCE_ATTRIBUTES`` names one."""


def _has_service_name() -> bool:
    if os.environ.get("OTEL_SERVICE_NAME", "").strip():
        return True
    pairs = os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "").split(",")
    return any(pair.split("=", 1)[0].strip() == "service.name" for pair in pairs)


def _traces_exporter_names(traces_exporter: str | None) -> list[str]:
    """Entry point names for the configurator, besides ``OTEL_TRACES_EXPORTER``'s own."""
    if os.environ.get("OTEL_TRACES_EXPORTER", "").strip():
        return []  # the configurator reads the variable itself
    from opentelemetry_instrumentation_litellm.exporters._configure import (
        OTLP,
        otlp_exporter_name,
    )

    name = (traces_exporter or OTLP).strip()  # otlp: the specification's default
    return [otlp_exporter_name() if name == OTLP else name]


def configure_sdk(traces_exporter: str | None) -> bool:
    """Set up the global providers from the environment, unless a tracer provider is set.

    Whether it did."""
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        _logger.debug("A tracer provider is already set (opentelemetry-instrument?): using it")
        return False
    # The configurator opentelemetry-instrument uses, without the distro's other defaults
    # (it would also export metrics and logs over OTLP, to a collector that may not exist).
    try:
        from opentelemetry.distro import OpenTelemetryConfigurator
    except ImportError as error:
        raise ImportError(
            "opentelemetry-distro is needed to set up the OpenTelemetry SDK from the "
            "environment: pip install 'otel-genai-litellm[proxy]'"
        ) from error

    from opentelemetry_instrumentation_litellm.proxy._export_report import reporting_batch_processor

    resource = {} if _has_service_name() else {"service.name": DEFAULT_SERVICE_NAME}
    OpenTelemetryConfigurator().configure(  # keywords: see _upstream.CONFIGURATOR_KEYWORDS
        trace_exporter_names=_traces_exporter_names(traces_exporter),
        resource_attributes=resource,
        # batches as by default; spans lost while the backend is down: one warning per outage
        export_span_processor=reporting_batch_processor,
    )
    return True


def _exports_metrics() -> bool:
    names = os.environ.get("OTEL_METRICS_EXPORTER", "").split(",")
    return any(name.strip() not in ("", "none") for name in names)


def instrumentation_providers(configured: bool) -> dict[str, Any]:
    """Providers for the instrumentations: a no-op meter provider when this module set up
    the SDK without a metrics exporter (the configurator installs a meter provider anyway,
    and one without readers still builds each measurement: ~1% of the proxy's instructions
    per request); otherwise the global ones."""
    if configured and not _exports_metrics():
        return {"meter_provider": metrics.NoOpMeterProvider()}
    return {}
