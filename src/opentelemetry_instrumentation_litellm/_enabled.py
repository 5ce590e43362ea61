"""Whether a call can produce any telemetry at all, checked before util-genai is asked.

With only the OpenTelemetry API in the process (no SDK installed as the global
provider, none passed to ``instrument()``) every span is a no-op and every metric
record is dropped, yet util-genai's invocation still builds its data, context and
attribute dicts: about 8% of a ``mock_response`` completion. Such calls go straight
to litellm. The check is made on every call, so a provider installed globally later
is picked up at once; it is skipped entirely (``None``) when a real provider, content
capture, a completion hook or events are configured.

The API's global meter provider, until an SDK one is set, is an instance of a class the API
does not export (``_upstream.PROXY_METER_PROVIDER``); should the API move it, the check is
simply never skipped.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from opentelemetry.metrics import NoOpMeterProvider, get_meter_provider
from opentelemetry.trace import NoOpTracerProvider, ProxyTracerProvider, get_tracer_provider
from opentelemetry.util.genai.environment_variables import OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT

from opentelemetry_instrumentation_litellm._upstream import PROXY_METER_PROVIDER

_logger = logging.getLogger(__name__)

_ProxyMeterProvider = PROXY_METER_PROVIDER


def events_requested() -> bool:
    """``OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT=true``: util-genai emits events (with the
    request's facts) even without content capture."""
    return os.environ.get(OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT, "").strip().lower() == "true"


def telemetry_check(
    tracer_provider: Any, meter_provider: Any, capture_content: bool
) -> Callable[[], bool] | None:
    """A cheap ``() -> bool``: does a call need util-genai now? ``None``: always.

    ``capture_content`` is the handler's: content capture or a completion hook.
    """
    if capture_content or _ProxyMeterProvider is None:
        return None
    if events_requested():
        return None  # events without content go to the logger provider
    if tracer_provider is not None and not isinstance(tracer_provider, NoOpTracerProvider):
        return None
    if meter_provider is not None and not isinstance(meter_provider, NoOpMeterProvider):
        return None
    global_tracer = tracer_provider is None
    global_meter = meter_provider is None

    def needed() -> bool:
        try:
            return (
                global_tracer and not isinstance(get_tracer_provider(), ProxyTracerProvider)
            ) or (global_meter and not isinstance(get_meter_provider(), _ProxyMeterProvider))
        except Exception:  # never in the user's way: trace as usual
            _logger.debug("litellm instrumentation: provider check failed", exc_info=True)
            return True

    return needed
