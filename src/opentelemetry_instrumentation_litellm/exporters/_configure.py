"""``configure``: send this process's spans to a trace exporter, with SDK objects only.

For people who set up OpenTelemetry in code rather than with ``opentelemetry-instrument``.
Exporters are named the way the SDK names them: entry points of the group
``opentelemetry_traces_exporter`` (``otlp_proto_http``, ``otlp_proto_grpc``, ``console``,
``zipkin_json``, this package's ``mlflow``, any other installed package's), plus ``otlp``,
which the protocol variables resolve as ``OTEL_TRACES_EXPORTER=otlp`` does. There is no
second registry and no second name.

It cooperates with a provider that already exists (the user's, a framework's, MLflow's): it
adds a processor to it and never replaces it, because replacing the global provider
silently cuts off whoever set it up.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
import weakref
from importlib.metadata import entry_points
from typing import Any, Final

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from opentelemetry_instrumentation_litellm.exporters._errors import ExporterConfigurationError
from opentelemetry_instrumentation_litellm.exporters._resilience import (
    DEFAULT_DROP_LOG_INTERVAL,
    ResilientSpanExporter,
)

_logger = logging.getLogger(__name__)

TRACES_EXPORTER_GROUP: Final = "opentelemetry_traces_exporter"
"""The SDK's entry point group for span exporters (what ``OTEL_TRACES_EXPORTER`` names)."""

TRACES_EXPORTER_VARIABLE: Final = "OTEL_TRACES_EXPORTER"
OTLP: Final = "otlp"
OTLP_PROTOCOL_VARIABLES: Final = (
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
)
OTLP_BY_PROTOCOL: Final = {"http/protobuf": "otlp_proto_http", "grpc": "otlp_proto_grpc"}
DEFAULT_OTLP_PROTOCOL: Final = "http/protobuf"
"""The specification's default, and the exporter the ``exporters`` extra installs (the SDK's
own configurator picks grpc when no protocol is set)."""

_EXTRAS: Final = {
    "otlp_proto_http": "exporters",
    "otlp_proto_grpc": "grpc",
    "zipkin_json": "zipkin",
    "console": "exporters",
    "mlflow": "exporters",
}
"""The extra of this distribution that installs each well-known exporter."""

_lock = threading.Lock()
_configured: weakref.WeakKeyDictionary[TracerProvider, set[Any]] = weakref.WeakKeyDictionary()
"""Per provider, the exporters already wired to it: (name, options) or the instance."""


def otlp_exporter_name(protocol: str | None = None) -> str:
    """The entry point ``otlp`` stands for: by ``protocol``, else the OTLP protocol
    variables, else ``http/protobuf``."""
    source = "protocol="
    if protocol is None:
        for source in OTLP_PROTOCOL_VARIABLES:
            if protocol := os.environ.get(source, "").strip():
                break
        else:
            return OTLP_BY_PROTOCOL[DEFAULT_OTLP_PROTOCOL]
    name = OTLP_BY_PROTOCOL.get(protocol.strip().lower())
    if name is None:
        raise ExporterConfigurationError(
            f"{source.rstrip('=')}={protocol!r} is not supported: "
            f"use one of {', '.join(OTLP_BY_PROTOCOL)}."
        )
    return name


def _entry_point_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ExporterConfigurationError(
            f"An exporter name (an {TRACES_EXPORTER_GROUP} entry point such as "
            f"{', '.join(available_exporters())}) or a SpanExporter is needed, got {name!r}."
        )
    name = name.strip()
    return otlp_exporter_name() if name == OTLP else name


def available_exporters() -> list[str]:
    """Exporter names :func:`configure` accepts here: ``otlp`` and the installed entry
    points of ``opentelemetry_traces_exporter``, sorted. Nothing is loaded."""
    return sorted({OTLP, *(ep.name for ep in entry_points(group=TRACES_EXPORTER_GROUP))})


def exporter_class(name: str) -> type[SpanExporter]:
    """The class behind exporter ``name`` (its entry point is loaded here)."""
    key = _entry_point_name(name)
    found = entry_points(group=TRACES_EXPORTER_GROUP, name=key)
    if not found:
        if key in _EXTRAS:
            raise ExporterConfigurationError(
                f"The {key} trace exporter is not installed: "
                f"pip install 'otel-genai-litellm[{_EXTRAS[key]}]'"
            )
        raise ExporterConfigurationError(
            f"Unknown trace exporter {name!r}; installed: {', '.join(available_exporters())}."
        )
    entry_point = next(iter(found))
    try:
        return entry_point.load()
    except ImportError as error:
        extra = _EXTRAS.get(key, "exporters")
        raise ExporterConfigurationError(
            f"The {key} trace exporter cannot be imported ({error.name or error}): "
            f"pip install 'otel-genai-litellm[{extra}]'"
        ) from None
    except Exception as error:
        raise ExporterConfigurationError(
            f"Trace exporter {key!r} ({entry_point.value}) could not be loaded: "
            f"{type(error).__name__}: {error}"
        ) from error


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


def _options_key(options: dict[str, Any]) -> str:
    return repr(sorted(options.items(), key=lambda item: item[0]))


def configure(
    exporter: str | SpanExporter | None = None,
    *,
    tracer_provider: TracerProvider | None = None,
    service_name: str | None = None,
    drop_log_interval: float | None = None,
    **options: Any,
) -> TracerProvider:
    """Export spans through ``exporter``; return the provider it was added to.

    - ``exporter``: None (the default) for the names in ``OTEL_TRACES_EXPORTER``
      (comma-separated, ``otlp`` if unset), as ``opentelemetry-instrument`` reads it; an
      ``opentelemetry_traces_exporter`` entry point name (see
      :func:`available_exporters`; ``otlp`` follows ``OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL``,
      default ``http/protobuf``), built with ``options`` (unset ones come from the standard
      ``OTEL_*`` variables, as the SDK's exporters read them); or a ready ``SpanExporter``
      instance (then no ``options``).
    - Wrapped, unless it already is one, in a :class:`ResilientSpanExporter` (dropped spans
      counted and reported at most once per ``drop_log_interval`` seconds, default 60) and
      in a ``BatchSpanProcessor`` (bounded queue; ``OTEL_BSP_*``).
    - Added to ``tracer_provider`` if given, else to the global SDK provider if one is set;
      otherwise a provider is created (``service.name`` from ``service_name``, else
      ``OTEL_SERVICE_NAME``/``OTEL_RESOURCE_ATTRIBUTES``) and set as the global one. An
      existing provider keeps its resource (``service_name`` is then ignored, with a warning).
    - Idempotent: the same exporter name and options (or the same instance) for the same
      provider changes nothing, so spans are never exported twice.

    Raises :class:`ExporterConfigurationError` (a ``ValueError``, one line naming what to
    fix or the extra to install); nothing is changed then.
    """
    if exporter is None:
        names = [n.strip() for n in os.environ.get(TRACES_EXPORTER_VARIABLE, "").split(",")]
        names = [n for n in names if n and n != "none"] or [OTLP]
        if options and len(names) > 1:
            raise ExporterConfigurationError(
                f"{TRACES_EXPORTER_VARIABLE} names {len(names)} exporters: pass one by name "
                "to give it options."
            )
        settings = {"service_name": service_name, "drop_log_interval": drop_log_interval}
        for name in names:
            tracer_provider = configure(
                name, tracer_provider=tracer_provider, **settings, **options
            )
        return tracer_provider
    if isinstance(exporter, SpanExporter):
        if options:
            raise ExporterConfigurationError(
                f"Options {sorted(options)} only apply to an exporter given by name."
            )
        key: Any = exporter
        label = type(exporter).__name__
    else:
        label = _entry_point_name(exporter)
        key = (label, _options_key(options))
    with _lock:
        provider = _target_provider(tracer_provider)
        if provider is not None and key in _configured.get(provider, set()):
            _logger.debug("Tracing to %s is already configured on this provider", label)
            return provider
        if not isinstance(exporter, SpanExporter):
            exporter = exporter_class(label)(**options)
        processor = BatchSpanProcessor(_resilient(exporter, label, drop_log_interval))
        if provider is None:
            resource = Resource.create({SERVICE_NAME: service_name} if service_name else {})
            provider = TracerProvider(resource=resource)
            provider.add_span_processor(processor)
            trace.set_tracer_provider(provider)
        else:
            current_name = provider.resource.attributes.get(SERVICE_NAME)
            if service_name and current_name != service_name:
                _logger.warning(
                    "configure(service_name=%r) ignored: the existing tracer provider keeps "
                    "its resource (service.name=%r).",
                    service_name,
                    current_name,
                )
            provider.add_span_processor(processor)
        _configured.setdefault(provider, set()).add(key)
        return provider


def _resilient(
    exporter: SpanExporter, label: str, drop_log_interval: float | None
) -> ResilientSpanExporter:
    if isinstance(exporter, ResilientSpanExporter):
        if drop_log_interval is not None:
            exporter.drop_log_interval = drop_log_interval
        return exporter
    if drop_log_interval is None:
        drop_log_interval = DEFAULT_DROP_LOG_INTERVAL
    return ResilientSpanExporter(exporter, destination=label, drop_log_interval=drop_log_interval)


_RENAMED: Final = {"zipkin": "zipkin_json"}
"""``configure_tracing``'s own destination names that the SDK spells differently."""


def configure_tracing(
    destination: str = "mlflow",
    *,
    service_name: str | None = None,
    tracer_provider: TracerProvider | None = None,
    drop_log_interval: float | None = None,
    **options: Any,
) -> TracerProvider:
    """Deprecated alias of :func:`configure`, kept for one release.

    ``destination`` keeps its old default (``mlflow``) and old names: ``zipkin`` is the
    SDK's ``zipkin_json``; ``otlp`` with ``protocol=`` is ``otlp_proto_grpc`` or
    ``otlp_proto_http``.
    """
    warnings.warn(
        "configure_tracing() is deprecated: use configure() with an "
        "opentelemetry_traces_exporter name (zipkin is zipkin_json)",
        DeprecationWarning,
        stacklevel=2,
    )
    name = destination.strip().lower() if isinstance(destination, str) else destination
    name = _RENAMED.get(name, name)
    if name == OTLP:
        name = otlp_exporter_name(options.pop("protocol", None))
    return configure(
        name,
        tracer_provider=tracer_provider,
        service_name=service_name,
        drop_log_interval=drop_log_interval,
        **options,
    )
