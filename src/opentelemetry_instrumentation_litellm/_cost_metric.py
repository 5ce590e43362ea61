"""``gen_ai.usage.cost``: a histogram of what each litellm call cost, in USD.

Not a semantic convention (v1.41.1 has no cost metric). The name, unit and description
are those of the cost histogram of litellm's own OpenTelemetry engine
(``litellm/integrations/otel``), so one dashboard reads both.

A point is recorded only when litellm priced the call (``litellm.response.cost`` on the
span): a model without a price gets no point, never a made-up zero. Its attributes are
those of ``gen_ai.client.operation.duration``, taken from the invocation itself.

Private API, on purpose and only here: util-genai builds the duration metric's attributes
in ``_get_metric_attributes()`` (operation, provider, request and response model, server,
``error.type``). Rebuilding them would copy util-genai's rules, and the two metrics
would drift apart when it changes them.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from opentelemetry.metrics import MeterProvider, get_meter
from opentelemetry.semconv.schemas import Schemas

from opentelemetry_instrumentation_litellm.attributes import LITELLM_RESPONSE_COST

_logger = logging.getLogger(__name__)

GEN_AI_USAGE_COST: Final = "gen_ai.usage.cost"
"""Histogram name, as litellm's OpenTelemetry engine names its cost metric."""

_BUCKETS: Final = (
    0.00001,
    0.00005,
    0.0001,
    0.0005,
    0.001,
    0.005,
    0.01,
    0.05,
    0.1,
    0.5,
    1.0,
    5.0,
    10.0,
)
"""USD. Most calls cost fractions of a cent: the SDK's default buckets (0, 5, 10, ...)
would put nearly every call in the first one."""


class CostMetric:
    """Records a finished invocation's cost, when litellm knows it."""

    __slots__ = ("_histogram",)

    def __init__(self, scope_name: str, version: str, meter_provider: MeterProvider | None):
        meter = get_meter(
            scope_name, version, meter_provider=meter_provider, schema_url=Schemas.V1_37_0.value
        )
        self._histogram = meter.create_histogram(
            name=GEN_AI_USAGE_COST,
            unit="USD",
            description="GenAI request cost",
            explicit_bucket_boundaries_advisory=list(_BUCKETS),
        )

    def record(self, invocation: Any) -> None:
        """Call after the invocation finished: its metric attributes are final then."""
        cost = invocation.attributes.get(LITELLM_RESPONSE_COST)
        if cost is None:
            return
        try:
            self._histogram.record(
                cost, attributes=invocation._get_metric_attributes(), context=invocation.context
            )
        except Exception:
            _logger.debug("litellm instrumentation: could not record the cost", exc_info=True)
