"""LiteLLM Proxy: trace every request the proxy serves, switched on from its own config.yaml.

.. code-block:: yaml

    litellm_settings:
      callbacks: ["opentelemetry_instrumentation_litellm.proxy.otel"]

The proxy resolves a dotted ``callbacks`` entry with ``importlib.import_module`` plus
``getattr`` (``litellm.proxy.types_utils.utils.get_instance_fn``) while it loads the
config. That happens in every worker process, in the app's startup (lifespan), before the
first request is served. Importing this package changes nothing (and imports no
litellm); asking it for ``otel`` (what that entry names) is the hook: it calls
:func:`instrument_proxy` once, which

1. sets up the OpenTelemetry SDK from the standard environment, the way
   ``opentelemetry-instrument`` does (``OTEL_TRACES_EXPORTER``, default ``otlp`` over
   ``OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL``, itself default ``http/protobuf``;
   ``OTEL_METRICS_EXPORTER`` / ``OTEL_LOGS_EXPORTER``, default none; ``OTEL_SERVICE_NAME``,
   default ``litellm-proxy``; the OTLP, sampler and resource variables), unless the process
   already has a tracer provider (``opentelemetry-instrument``, or code of yours). Set up
   so, without a metrics exporter, the instrumentations record no metrics: the SDK's
   meter provider without a reader would still build every measurement, for nothing. Spans
   an outage of the backend cost are counted, in one warning when export resumes;
2. instruments litellm with :class:`LiteLLMInstrumentor`, unless it already is;
3. instruments the proxy's FastAPI app with ``opentelemetry-instrumentation-fastapi``, if
   installed and not done already, so each request gets an HTTP server span and an incoming
   W3C ``traceparent`` header makes the proxy's spans part of the caller's trace. The
   liveness and readiness probes are not traced unless ``OTEL_PYTHON_FASTAPI_EXCLUDED_URLS``
   (or ``OTEL_PYTHON_EXCLUDED_URLS``) says otherwise, nor is each ASGI message (a span per
   streamed chunk) unless ``OTEL_INSTRUMENTATION_LITELLM_PROXY_EXCLUDE_SPANS`` says otherwise;
4. flushes the providers at the end of the proxy's shutdown (after in-flight requests
   finished), see :mod:`._shutdown`: uvicorn's
   SIGTERM handling skips ``atexit``, where the SDK would flush. The instrumentor does this
   too, so it also happens under ``opentelemetry-instrument`` alone.

Each step is done once per process, so the config being loaded again, or the module also
being run under ``opentelemetry-instrument``, changes nothing. ``litellm`` or ``fastapi``
in ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS`` skips that instrumentation.

``otel`` is what the ``callbacks`` entry resolves to: the proxy requires a
``CustomLogger`` instance there. It overrides no hook, so litellm never calls it per request.

The package's modules, one concern each: ``_callback`` (the entry, :func:`instrument_proxy`),
``_sdk`` (the SDK from the environment), ``_server_span`` (the FastAPI app's server span),
``_seams`` (the proxy functions wrapped: :func:`~._seams.enable`, done by the instrumentor),
``_phases`` (key check and hook phases), ``_request`` (the request those phases saw, and the
Router's facts on its span), ``_guardrails``, ``_guardrail_streams`` and ``_pipelines``
(guardrail spans), ``_texts`` (what a guardrail saw), ``_settings``, ``_shutdown`` (flush at
shutdown) and ``_export_report`` (spans lost during an outage).
"""

from __future__ import annotations

from typing import Any

from opentelemetry_instrumentation_litellm.proxy._sdk import DEFAULT_SERVICE_NAME
from opentelemetry_instrumentation_litellm.proxy._server_span import (
    EXCLUDE_SPANS_VARIABLE,
    PROBE_URLS,
)

__all__ = [
    "DEFAULT_SERVICE_NAME",
    "EXCLUDE_SPANS_VARIABLE",
    "PROBE_URLS",
    "OpenTelemetryProxyCallback",
    "instrument_proxy",
]  # not "otel": a star import must not instrument the proxy

_LITELLM_NAMES = ("OpenTelemetryProxyCallback", "instrument_proxy")
"""Names of ``_callback``, which imports litellm: loaded when first asked for."""


def __getattr__(name: str) -> Any:
    """``otel``, the ``callbacks: ["opentelemetry_instrumentation_litellm.proxy.otel"]``
    entry: the proxy asks for it while loading config.yaml, and that instruments the proxy.
    Plain ``import`` of this package does nothing (PEP 562 module ``__getattr__``)."""
    if name != "otel" and name not in _LITELLM_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from opentelemetry_instrumentation_litellm.proxy import _callback

    if name == "otel":
        return _callback.callback()
    return getattr(_callback, name)
