"""What ``instrument()`` options add to each call beyond util-genai's telemetry.

One object, built once at ``instrument()`` time and handed to every wrapper and stream,
so each call pays only for what is switched on: the cost metric (a dict lookup when
litellm priced nothing) and, opt-in, OpenInference attributes.
"""

from __future__ import annotations

import logging
from typing import Any

from opentelemetry_instrumentation_litellm import _openinference
from opentelemetry_instrumentation_litellm._cost_metric import CostMetric

_logger = logging.getLogger(__name__)


class CallExtras:
    __slots__ = ("_cost", "_openinference", "_span_content")

    def __init__(self, cost: CostMetric | None, openinference: bool, span_content: bool) -> None:
        self._cost = cost
        self._openinference = openinference
        self._span_content = span_content

    def before_end(self, invocation: Any) -> None:
        """While the span is open: attributes that come from the whole call."""
        if self._openinference:
            try:
                _openinference.add_attributes(invocation, self._span_content)
            except Exception:
                _logger.debug("litellm instrumentation: no OpenInference attributes", exc_info=True)

    def after_end(self, invocation: Any) -> None:
        """Once util-genai finished the invocation (its metric attributes are final)."""
        if self._cost is not None:
            self._cost.record(invocation)
