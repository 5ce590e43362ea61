"""What ``instrument()`` options add to each call beyond util-genai's telemetry.

One object, built once at ``instrument()`` time and handed to every wrapper and stream,
so each call pays only for what is switched on: the cost metric (a dict lookup when
litellm priced nothing) and, opt-in, OpenInference attributes.
"""

from __future__ import annotations

from typing import Any

from opentelemetry_instrumentation_litellm import _openinference
from opentelemetry_instrumentation_litellm._cost_metric import CostMetric


class CallExtras:
    __slots__ = ("_cost", "_openinference", "_span_content")

    def __init__(self, cost: CostMetric | None, openinference: bool, span_content: bool) -> None:
        self._cost = cost
        self._openinference = openinference
        self._span_content = span_content

    def on_request(self, invocation: Any) -> None:
        """Once the request was read: what is known before the answer (a failed call keeps
        it). Called inside the caller's guard, like :meth:`on_response`."""
        if self._openinference:
            _openinference.add_attributes(invocation, self._span_content)

    def on_response(self, invocation: Any) -> None:
        """Once the call's facts are on the invocation, before its span ends.

        Called inside the caller's guard (the response or stream reading step): a failure
        here is logged there and the span still ends."""
        if self._openinference:
            _openinference.add_attributes(invocation, self._span_content)
        if self._cost is not None:
            self._cost.record(invocation)
