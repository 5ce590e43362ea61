"""The proxied request's HTTP server span: the proxy's FastAPI app instrumented with
``opentelemetry-instrumentation-fastapi`` (W3C ``traceparent`` honoured), health probes and
per-ASGI-message spans left out by default."""

from __future__ import annotations

import logging
import os
from typing import Any, Final

from opentelemetry_instrumentation_litellm import _upstream

_logger = logging.getLogger(__name__)

PROBE_URLS: Final = "/health/liveliness,/health/liveness,/health/readiness"
"""Not traced by default: an orchestrator calls them every few seconds, on every worker."""

_EXCLUDED_URLS_VARIABLES: Final = ("OTEL_PYTHON_FASTAPI_EXCLUDED_URLS", "OTEL_PYTHON_EXCLUDED_URLS")

EXCLUDE_SPANS_VARIABLE: Final = "OTEL_INSTRUMENTATION_LITELLM_PROXY_EXCLUDE_SPANS"
"""The ASGI instrumentation's per-message spans left out, ``receive,send`` by default; empty
records both (one ``http send`` span per streamed chunk)."""
_ASGI_MESSAGE_SPANS: Final = ("receive", "send")


def _excluded_spans() -> list[str]:
    raw = os.environ.get(EXCLUDE_SPANS_VARIABLE)
    if raw is None:
        return list(_ASGI_MESSAGE_SPANS)
    return [name for name in (n.strip() for n in raw.split(",")) if name in _ASGI_MESSAGE_SPANS]


def instrument_app(app: Any, providers: dict[str, Any]) -> None:
    """Give the proxy's FastAPI app HTTP server spans and W3C trace context propagation."""
    try:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        from opentelemetry_instrumentation_litellm.proxy._route_names import (
            name_from_matched_route,  # needs opentelemetry-util-http, as the instrumentation
        )
    except ImportError:
        _logger.info(
            "opentelemetry-instrumentation-fastapi is not installed: the proxy's requests get "
            "no HTTP server span and a client's traceparent header is not honoured"
        )
        return
    if _upstream.is_app_instrumented(app):
        return  # opentelemetry-instrument did it when the app was created
    configured = any(os.environ.get(name, "").strip() for name in _EXCLUDED_URLS_VARIABLES)
    excluded_spans = _excluded_spans()
    FastAPIInstrumentor.instrument_app(
        app,
        excluded_urls=None if configured else PROBE_URLS,  # None: the variables' value
        # No span per ASGI message: a streamed answer would otherwise get one per chunk.
        exclude_spans=excluded_spans,
        **providers,
    )
    # The span named from the route Starlette matches, not from a search of ~550 routes.
    name_from_matched_route(app, excluded_spans)
    # Starlette builds its middleware stack on the app's first ASGI call, which is the
    # startup now running this code: the next request must build it again, with
    # OpenTelemetry's middleware outermost.
    _upstream.rebuild_middleware_stack(app)
