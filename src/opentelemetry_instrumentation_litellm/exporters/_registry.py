"""Named trace destinations: a name plus options in, a ``SpanExporter`` out.

Built in: ``mlflow``, ``otlp``, ``zipkin`` and ``console``. Other packages add
destinations without touching this one, through entry points in the group
``opentelemetry_instrumentation_litellm.destinations``; each entry point loads a
callable ``(**options) -> SpanExporter``, e.g. in the other package's pyproject.toml::

    [project.entry-points."opentelemetry_instrumentation_litellm.destinations"]
    acme = "acme_tracing:make_exporter"

Built-in names win over an entry point of the same name. Exporter packages are
imported only when their destination is created, so a missing optional extra only
matters to the destination that needs it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from opentelemetry.sdk.trace.export import SpanExporter

from opentelemetry_instrumentation_litellm.exporters._errors import ExporterConfigurationError

ENTRY_POINT_GROUP = "opentelemetry_instrumentation_litellm.destinations"

OTEL_EXPORTER_OTLP_TRACES_PROTOCOL = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
OTEL_EXPORTER_OTLP_PROTOCOL = "OTEL_EXPORTER_OTLP_PROTOCOL"
OTLP_PROTOCOLS = ("http/protobuf", "grpc")

ExporterFactory = Callable[..., SpanExporter]


def _missing_extra(what: str, extra: str, error: ImportError) -> ExporterConfigurationError:
    return ExporterConfigurationError(
        f"The {what} exporter is not installed ({error.name or error}): "
        f"pip install 'otel-genai-litellm[{extra}]'"
    )


def _mlflow(**options: Any) -> SpanExporter:
    from opentelemetry_instrumentation_litellm.exporters.mlflow import MLflowSpanExporter

    return MLflowSpanExporter(**options)


def _otlp_protocol(protocol: str | None) -> str:
    if protocol is not None:
        chosen, source = protocol, "protocol="
    else:
        for source in (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, OTEL_EXPORTER_OTLP_PROTOCOL):
            if chosen := os.environ.get(source, "").strip():
                break
        else:
            return "http/protobuf"
    if chosen.strip().lower() not in OTLP_PROTOCOLS:
        raise ExporterConfigurationError(
            f"{source.rstrip('=')}={chosen!r} is not supported: "
            f"use one of {', '.join(OTLP_PROTOCOLS)}."
        )
    return chosen.strip().lower()


def _otlp(*, protocol: str | None = None, **options: Any) -> SpanExporter:
    """OTLP to a collector or any OTLP backend. ``endpoint``, ``headers``, ``timeout`` and
    the rest go to the SDK's exporter, which reads ``OTEL_EXPORTER_OTLP_*`` for anything
    not given; ``protocol`` (or ``OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL``) picks it."""
    if _otlp_protocol(protocol) == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
                OTLPSpanExporter as GrpcExporter,
            )
        except ImportError as error:
            raise _missing_extra("OTLP/gRPC", "grpc", error) from None
        return GrpcExporter(**options)
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter as HttpExporter,
        )
    except ImportError as error:
        raise _missing_extra("OTLP/HTTP", "exporters", error) from None
    return HttpExporter(**options)


def _zipkin(**options: Any) -> SpanExporter:
    try:
        from opentelemetry.exporter.zipkin.json import ZipkinExporter
    except ImportError as error:
        raise _missing_extra("Zipkin", "zipkin", error) from None
    return ZipkinExporter(**options)


def _console(**options: Any) -> SpanExporter:
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    return ConsoleSpanExporter(**options)


@dataclass(frozen=True)
class _Destination:
    factory: ExporterFactory
    summary: str


BUILTIN_DESTINATIONS: dict[str, _Destination] = {
    "mlflow": _Destination(_mlflow, "MLflow tracking server (OTLP/HTTP + MLflow experiment)"),
    "otlp": _Destination(_otlp, "any OTLP receiver, http/protobuf or grpc"),
    "zipkin": _Destination(_zipkin, "Zipkin v2 JSON API"),
    "console": _Destination(_console, "spans as JSON on stdout"),
}


def _normalize(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ExporterConfigurationError(
            f"A trace destination name is needed (one of {', '.join(available_destinations())}), "
            f"got {name!r}."
        )
    return name.strip().lower()


def _plugins() -> dict[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        name = entry_point.name.strip().lower()
        if name not in BUILTIN_DESTINATIONS:
            found.setdefault(name, entry_point)
    return found


def available_destinations() -> list[str]:
    """Names ``create_exporter`` accepts: the built-ins and installed entry points, sorted.

    Entry points are listed, not loaded.
    """
    return sorted({*BUILTIN_DESTINATIONS, *_plugins()})


def destination_factory(name: str) -> ExporterFactory:
    """The factory behind ``name`` (an entry point is loaded here)."""
    key = _normalize(name)
    if key in BUILTIN_DESTINATIONS:
        return BUILTIN_DESTINATIONS[key].factory
    entry_point = _plugins().get(key)
    if entry_point is None:
        raise ExporterConfigurationError(
            f"Unknown trace destination {name!r}; known destinations: "
            f"{', '.join(available_destinations())}."
        )
    try:
        factory = entry_point.load()
    except Exception as error:
        raise ExporterConfigurationError(
            f"Trace destination {key!r} ({entry_point.value}) could not be loaded: "
            f"{type(error).__name__}: {error}"
        ) from error
    if not callable(factory):
        raise ExporterConfigurationError(
            f"Trace destination {key!r} ({entry_point.value}) is not callable."
        )
    return factory


def create_exporter(name: str, **options: Any) -> SpanExporter:
    """Build the exporter of destination ``name`` with ``options``.

    Raises :class:`ExporterConfigurationError` (a ``ValueError``) for an unknown name,
    listing the known ones, and for what the destination itself rejects.
    """
    exporter = destination_factory(name)(**options)
    if not (
        callable(getattr(exporter, "export", None))
        and callable(getattr(exporter, "shutdown", None))
    ):
        raise ExporterConfigurationError(
            f"Trace destination {_normalize(name)!r} returned {type(exporter).__name__}, "
            "not a SpanExporter."
        )
    return exporter
