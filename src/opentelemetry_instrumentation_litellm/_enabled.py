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

from opentelemetry.metrics import MeterProvider, NoOpMeterProvider, get_meter_provider
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


_SILENT_METER_PROVIDERS = frozenset(
    kind for kind in (NoOpMeterProvider, _ProxyMeterProvider) if kind is not None
)
"""Meter providers that drop every point: the API's no-op one, and its global placeholder
until an SDK provider is set (points recorded then are lost, not replayed). Compared by
exact type: ``isinstance`` against the API's abstract classes runs ``ABC.__instancecheck__``."""


class MetricsKept:
    """``metrics_kept()``: would a metric point recorded now be kept?

    False while the meter provider (``instrument()``'s, else the global one) drops every
    point. The global one is asked on each call until an SDK provider is set; the API sets
    it only once, so from then on the answer is a stored True.
    """

    __slots__ = ("_explicit", "_kept")

    def __init__(self, meter_provider: MeterProvider | None) -> None:
        self._explicit = meter_provider is not None
        self._kept = self._explicit and type(meter_provider) not in _SILENT_METER_PROVIDERS

    def __call__(self) -> bool:
        if self._kept:
            return True
        if self._explicit:
            return False
        if type(get_meter_provider()) in _SILENT_METER_PROVIDERS:
            return False
        self._kept = True
        return True
