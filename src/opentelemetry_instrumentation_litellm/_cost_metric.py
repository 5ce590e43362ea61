"""``gen_ai.usage.cost``: a histogram of what each litellm call cost, in USD.

Not a semantic convention (v1.41.1 has no cost metric). The name, unit and description
are those of the cost histogram of litellm's own OpenTelemetry engine
(``litellm/integrations/otel``), so one dashboard reads both.

A point is recorded only when litellm priced the call (``litellm.response.cost`` on the
span): a model without a price gets no point, never a made-up zero. Its attributes are
those of ``gen_ai.client.operation.duration``, taken from the invocation itself.

The attributes come from util-genai's own (private) ``_get_metric_attributes()`` through
``_upstream.metric_attributes``: rebuilding them would copy util-genai's rules, and the two
metrics would drift apart when it changes them.
"""

from __future__ import annotations

from typing import Any, Final

from opentelemetry.metrics import MeterProvider, get_meter
from opentelemetry.semconv.schemas import Schemas

from opentelemetry_instrumentation_litellm._enabled import MetricsKept
from opentelemetry_instrumentation_litellm._upstream import metric_attributes
from opentelemetry_instrumentation_litellm.attributes import LITELLM_RESPONSE_COST

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

    __slots__ = ("_histogram", "_kept")

    def __init__(
        self,
        scope_name: str,
        version: str,
        meter_provider: MeterProvider | None,
        kept: MetricsKept | None = None,
    ):
        self._kept = MetricsKept(meter_provider) if kept is None else kept
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
        """Call once the response was read (its model, server and cost are known), before
        the span ends: a priced call is a successful one, so ``error.type`` never applies."""
        cost = invocation.attributes.get(LITELLM_RESPONSE_COST)
        if cost is None:
            return
        if not self._kept():
            return  # nothing would keep the point: skip building its attributes
        self._histogram.record(
            cost, attributes=metric_attributes(invocation), context=invocation.context
        )
