"""The ``otel`` callback entry of a proxy's config.yaml and :func:`instrument_proxy`, which it
runs once per process (see :mod:`opentelemetry_instrumentation_litellm.proxy`)."""

from __future__ import annotations

import logging
import os
import sys
import threading

from litellm.integrations.custom_logger import CustomLogger

from opentelemetry_instrumentation_litellm.instrumentor import LiteLLMInstrumentor
from opentelemetry_instrumentation_litellm.proxy import _shutdown
from opentelemetry_instrumentation_litellm.proxy._sdk import (
    configure_sdk,
    instrumentation_providers,
)
from opentelemetry_instrumentation_litellm.proxy._server_span import instrument_app

_logger = logging.getLogger(__name__)

_lock = threading.Lock()
_done = False
_callback: OpenTelemetryProxyCallback | None = None


def _disabled_instrumentations() -> set[str]:
    raw = os.environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "")
    return {name.strip() for name in raw.split(",") if name.strip()}


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
            configured = configure_sdk(traces_exporter)
        except Exception:
            _logger.exception("OpenTelemetry SDK setup failed: the proxy runs without exporting")
        try:
            providers = instrumentation_providers(configured)
            instrumentor = LiteLLMInstrumentor()
            if "litellm" not in disabled and not instrumentor.is_instrumented_by_opentelemetry:
                instrumentor.instrument(**providers)
            server = sys.modules.get(_shutdown.PROXY_SERVER_MODULE)  # never imported by us
            if server is not None and "fastapi" not in disabled:
                instrument_app(server.app, providers)
            _shutdown.enable()  # also when litellm's instrumentation is disabled
        except Exception:
            _logger.exception("Instrumenting the LiteLLM proxy failed")


class OpenTelemetryProxyCallback(CustomLogger):
    """The ``litellm_settings.callbacks`` entry; :func:`instrument_proxy` did the work."""


def callback() -> OpenTelemetryProxyCallback:
    """The proxy's ``otel`` callback entry: instruments the proxy the first time it is asked
    for (see :mod:`opentelemetry_instrumentation_litellm.proxy`)."""
    global _callback
    if _callback is None:
        instrument_proxy()
        _callback = OpenTelemetryProxyCallback()
    return _callback
