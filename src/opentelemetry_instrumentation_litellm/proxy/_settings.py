"""What ``instrument()`` set for the proxy's spans: read by every proxy wrapper at call time.

``None`` until :func:`~._seams.enable`, and again after :func:`~._seams.disable`: a wrapper
that finds no settings passes the call straight to litellm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from opentelemetry.trace import Tracer

PHASE_SPANS_VARIABLE: Final = "OTEL_INSTRUMENTATION_LITELLM_PROXY_PHASE_SPANS"
"""``true`` (``1``, ``yes``, ``on``): the key check, the hook phases and the Router as spans of
their own instead of attributes of the server span; ``instrument(proxy_phase_spans=...)``
wins over it. Off by default: four more spans per request cost the proxy about 5% more CPU
(docs/performance.md)."""


@dataclass(frozen=True)
class Settings:
    tracer: Tracer
    capture_content: Callable[[], bool]
    phase_spans: bool = False
    handler: Any = None
    """util-genai's ``TelemetryHandler``: MCP tool calls are its tool invocations."""


active: Settings | None = None
"""The settings in force, or ``None`` when the proxy's spans are off. Read as an attribute of
this module at call time (no function call of ours before a wrapper's guard)."""


def set_active(settings: Settings | None) -> None:
    global active
    active = settings
