"""LiteLLM Proxy: trace every request the proxy serves, switched on from its own config.yaml.

.. code-block:: yaml

    litellm_settings:
      callbacks: ["opentelemetry_instrumentation_litellm.proxy.otel"]

The proxy resolves a dotted ``callbacks`` entry with ``importlib.import_module`` plus
``getattr`` (``litellm.proxy.types_utils.utils.get_instance_fn``) while it loads the
config. That happens in every worker process, in the app's startup (lifespan), before the
first request is served. Importing this module changes nothing; asking it for ``otel``
(what that entry names) is the hook: it calls :func:`instrument_proxy` once, which

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
   finished), see :mod:`opentelemetry_instrumentation_litellm._shutdown`: uvicorn's
   SIGTERM handling skips ``atexit``, where the SDK would flush. The instrumentor does this
   too, so it also happens under ``opentelemetry-instrument`` alone.

Each step is done once per process, so the config being loaded again, or the module also
being run under ``opentelemetry-instrument``, changes nothing. ``litellm`` or ``fastapi``
in ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS`` skips that instrumentation.

``otel`` is what the ``callbacks`` entry resolves to: the proxy requires a
``CustomLogger`` instance there. It overrides no hook, so litellm never calls it per request.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any, Final

from litellm.integrations.custom_logger import CustomLogger
from opentelemetry import metrics, trace

from opentelemetry_instrumentation_litellm import _shutdown, _upstream
from opentelemetry_instrumentation_litellm.instrumentor import LiteLLMInstrumentor

__all__ = [
    "DEFAULT_SERVICE_NAME",
    "EXCLUDE_SPANS_VARIABLE",
    "PROBE_URLS",
    "OpenTelemetryProxyCallback",
    "instrument_proxy",
]  # not "otel": a star import must not instrument the proxy

_logger = logging.getLogger(__name__)

DEFAULT_SERVICE_NAME: Final = "litellm-proxy"
"""``service.name`` unless ``OTEL_SERVICE_NAME`` or ``OTEL_RESOURCE_ATTRIBUTES`` names one."""

PROBE_URLS: Final = "/health/liveliness,/health/liveness,/health/readiness"
"""Not traced by default: an orchestrator calls them every few seconds, on every worker."""

_EXCLUDED_URLS_VARIABLES: Final = ("OTEL_PYTHON_FASTAPI_EXCLUDED_URLS", "OTEL_PYTHON_EXCLUDED_URLS")

EXCLUDE_SPANS_VARIABLE: Final = "OTEL_INSTRUMENTATION_LITELLM_PROXY_EXCLUDE_SPANS"
"""The ASGI instrumentation's per-message spans left out, ``receive,send`` by default; empty
records both (one ``http send`` span per streamed chunk)."""
_ASGI_MESSAGE_SPANS: Final = ("receive", "send")

_lock = threading.Lock()
_done = False


def _disabled_instrumentations() -> set[str]:
    raw = os.environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "")
    return {name.strip() for name in raw.split(",") if name.strip()}


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


def _configure_sdk(traces_exporter: str | None) -> bool:
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

    from opentelemetry_instrumentation_litellm._export_report import reporting_batch_processor

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


def _instrumentation_providers(configured: bool) -> dict[str, Any]:
    """Providers for the instrumentations: a no-op meter provider when this module set up
    the SDK without a metrics exporter (the configurator installs a meter provider anyway,
    and one without readers still builds each measurement: ~1% of the proxy's instructions
    per request); otherwise the global ones."""
    if configured and not _exports_metrics():
        return {"meter_provider": metrics.NoOpMeterProvider()}
    return {}


def _excluded_spans() -> list[str]:
    raw = os.environ.get(EXCLUDE_SPANS_VARIABLE)
    if raw is None:
        return list(_ASGI_MESSAGE_SPANS)
    return [name for name in (n.strip() for n in raw.split(",")) if name in _ASGI_MESSAGE_SPANS]


def _instrument_app(app: Any, providers: dict[str, Any]) -> None:
    """Give the proxy's FastAPI app HTTP server spans and W3C trace context propagation."""
    try:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    except ImportError:
        _logger.info(
            "opentelemetry-instrumentation-fastapi is not installed: the proxy's requests get "
            "no HTTP server span and a client's traceparent header is not honoured"
        )
        return
    if _upstream.is_app_instrumented(app):
        return  # opentelemetry-instrument did it when the app was created
    configured = any(os.environ.get(name, "").strip() for name in _EXCLUDED_URLS_VARIABLES)
    FastAPIInstrumentor.instrument_app(
        app,
        excluded_urls=None if configured else PROBE_URLS,  # None: the variables' value
        # No span per ASGI message: a streamed answer would otherwise get one per chunk.
        exclude_spans=_excluded_spans(),
        **providers,
    )
    # Starlette builds its middleware stack on the app's first ASGI call, which is the
    # startup now running this code: the next request must build it again, with
    # OpenTelemetry's middleware outermost.
    _upstream.rebuild_middleware_stack(app)


def instrument_proxy(*, traces_exporter: str | None = None) -> None:
    """Trace this proxy process: SDK from the environment, litellm, the FastAPI app.

    ``traces_exporter``: the ``opentelemetry_traces_exporter`` entry point name to export
    with when ``OTEL_TRACES_EXPORTER`` is unset (default ``otlp``). The environment is read,
    never written.

    Idempotent and thread-safe. Errors are logged, never raised: the proxy keeps serving.
    """
    global _done
    with _lock:
        if _done:
            return
        _done = True
        disabled = _disabled_instrumentations()
        configured = False
        try:
            configured = _configure_sdk(traces_exporter)
        except Exception:
            _logger.exception("OpenTelemetry SDK setup failed: the proxy runs without exporting")
        try:
            providers = _instrumentation_providers(configured)
            instrumentor = LiteLLMInstrumentor()
            if "litellm" not in disabled and not instrumentor.is_instrumented_by_opentelemetry:
                instrumentor.instrument(**providers)
            server = sys.modules.get(_shutdown.PROXY_SERVER_MODULE)  # never imported by us
            if server is not None and "fastapi" not in disabled:
                _instrument_app(server.app, providers)
            _shutdown.enable()  # also when litellm's instrumentation is disabled
        except Exception:
            _logger.exception("Instrumenting the LiteLLM proxy failed")


class OpenTelemetryProxyCallback(CustomLogger):
    """The ``litellm_settings.callbacks`` entry; :func:`instrument_proxy` did the work."""


_callback: OpenTelemetryProxyCallback | None = None


def __getattr__(name: str) -> Any:
    """``otel``, the ``callbacks: ["opentelemetry_instrumentation_litellm.proxy.otel"]``
    entry: the proxy asks for it while loading config.yaml, and that instruments the proxy.
    Plain ``import`` of this module does nothing (PEP 562 module ``__getattr__``)."""
    global _callback
    if name != "otel":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _callback is None:
        instrument_proxy()
        _callback = OpenTelemetryProxyCallback()
    return _callback
