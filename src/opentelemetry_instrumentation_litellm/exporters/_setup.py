"""``configure_tracing``: one call that sends this process's spans to a destination.

For people who configure OpenTelemetry in code rather than with
``opentelemetry-instrument``. It cooperates with a provider that already exists (the
user's, a framework's, MLflow's): it adds a processor to it and never replaces it,
because replacing the global provider silently cuts off whoever set it up.
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from opentelemetry_instrumentation_litellm.exporters._errors import ExporterConfigurationError
from opentelemetry_instrumentation_litellm.exporters._registry import (
    create_exporter,
    destination_factory,
)
from opentelemetry_instrumentation_litellm.exporters._resilience import (
    DEFAULT_DROP_LOG_INTERVAL,
    ResilientSpanExporter,
)

_logger = logging.getLogger(__name__)

_lock = threading.Lock()
_configured: weakref.WeakKeyDictionary[TracerProvider, set[tuple[str, str]]] = (
    weakref.WeakKeyDictionary()
)
"""Per provider, the (destination, options) pairs already wired to it."""


def _options_key(options: dict[str, Any]) -> str:
    return repr(sorted(options.items(), key=lambda item: item[0]))


def _target_provider(tracer_provider: TracerProvider | None) -> TracerProvider | None:
    """The provider to add to, or None when a new global one must be made."""
    if tracer_provider is not None:
        if not isinstance(tracer_provider, TracerProvider):
            raise ExporterConfigurationError(
                f"tracer_provider must be an OpenTelemetry SDK TracerProvider, "
                f"got {type(tracer_provider).__name__}."
            )
        return tracer_provider
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    if isinstance(current, trace.ProxyTracerProvider):
        return None
    raise ExporterConfigurationError(
        f"The global tracer provider is a {type(current).__name__}, not an OpenTelemetry SDK "
        "TracerProvider, so no span processor can be added to it; pass tracer_provider=."
    )


def configure_tracing(
    destination: str = "mlflow",
    *,
    service_name: str | None = None,
    tracer_provider: TracerProvider | None = None,
    drop_log_interval: float | None = None,
    **options: Any,
) -> TracerProvider:
    """Export spans to ``destination`` (see ``available_destinations()``); return the provider.

    - ``options`` go to the destination, e.g. ``experiment_name=`` for ``mlflow``,
      ``endpoint=``/``protocol=`` for ``otlp``; unset ones come from the environment.
    - The exporter is wrapped in a ``BatchSpanProcessor`` (bounded queue; tune it with the
      standard ``OTEL_BSP_*`` variables) and, unless it already is one, in a
      :class:`ResilientSpanExporter` that logs dropped spans at most once per
      ``drop_log_interval`` seconds (default 60).
    - The processor is added to ``tracer_provider`` if given, else to the global SDK
      provider if one is set. Otherwise a provider is created with ``service.name`` from
      ``service_name`` (else ``OTEL_SERVICE_NAME``/``OTEL_RESOURCE_ATTRIBUTES``) and set
      as the global one. An existing provider keeps its resource: ``service_name`` is
      then ignored, with a warning.
    - Idempotent: calling again with the same destination and options for the same
      provider changes nothing, so spans are never exported twice. A different
      destination, or the same one with different options (say a second MLflow
      experiment), adds another processor: spans then go to both.

    Raises :class:`ExporterConfigurationError` (a ``ValueError``) for an unknown
    destination or a misconfigured one; nothing is changed then.
    """
    name = destination.strip().lower() if isinstance(destination, str) else destination
    destination_factory(name)  # an unknown name fails before anything else happens
    key = (name, _options_key(options))
    with _lock:
        provider = _target_provider(tracer_provider)
        if provider is not None and key in _configured.get(provider, set()):
            _logger.debug("Tracing to %s is already configured on this provider", name)
            return provider
        exporter = create_exporter(name, **options)
        if isinstance(exporter, ResilientSpanExporter):
            if drop_log_interval is not None:
                exporter.drop_log_interval = drop_log_interval
        else:
            exporter = ResilientSpanExporter(
                exporter,
                destination=name,
                drop_log_interval=(
                    DEFAULT_DROP_LOG_INTERVAL if drop_log_interval is None else drop_log_interval
                ),
            )
        processor = BatchSpanProcessor(exporter)
        if provider is None:
            resource = Resource.create({SERVICE_NAME: service_name} if service_name else {})
            provider = TracerProvider(resource=resource)
            provider.add_span_processor(processor)
            trace.set_tracer_provider(provider)
        else:
            current_name = provider.resource.attributes.get(SERVICE_NAME)
            if service_name and current_name != service_name:
                _logger.warning(
                    "configure_tracing(service_name=%r) ignored: the existing tracer provider "
                    "keeps its resource (service.name=%r).",
                    service_name,
                    current_name,
                )
            provider.add_span_processor(processor)
        _configured.setdefault(provider, set()).add(key)
        return provider
