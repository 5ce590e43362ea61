"""What ``instrument()`` options add to each call beyond util-genai's telemetry.

One object, built once at ``instrument()`` time and handed to every wrapper and stream,
so each call pays only for what is switched on: the cost metric (a dict lookup when
litellm priced nothing) and, opt-in, OpenInference attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry_instrumentation_litellm import _openinference
from opentelemetry_instrumentation_litellm._cost_metric import CostMetric


class CallExtras:
    """``on_request``/``on_response``: the hooks switched on, or None when nothing is.

    Decided here, once: a call pays nothing for an option that is off.
    """

    __slots__ = ("_cost", "_openinference", "_span_content", "on_request", "on_response")

    def __init__(self, cost: CostMetric | None, openinference: bool, span_content: bool) -> None:
        self._cost = cost
        self._openinference = openinference
        self._span_content = span_content
        self.on_request: Callable[[Any], None] | None = (
            self._add_openinference if openinference else None
        )
        """Once the request was read: what is known before the answer (a failed call keeps
        it). Called inside the caller's guard, like ``on_response``."""
        self.on_response: Callable[[Any], None] | None = (
            self._finish if openinference or cost is not None else None
        )
        """Once the call's facts are on the invocation, before its span ends. Called inside
        the caller's guard (the response or stream reading step): a failure here is logged
        there and the span still ends."""

    def _add_openinference(self, invocation: Any) -> None:
        _openinference.add_attributes(invocation, self._span_content)

    def _finish(self, invocation: Any) -> None:
        if self._openinference:
            _openinference.add_attributes(invocation, self._span_content)
        if self._cost is not None:
            self._cost.record(invocation)
