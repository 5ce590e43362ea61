"""What the reliability tests check on every run: spans ended exactly once, nothing of
ours reaching the application, a log record naming the failed step."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry.sdk.trace import SpanProcessor

PACKAGE = "opentelemetry_instrumentation_litellm"


class SpanTracker(SpanProcessor):
    """Counts, per span, how often it was started and ended."""

    def __init__(self) -> None:
        self.started: dict[int, Any] = {}
        self.ended: dict[int, int] = {}

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        self.started[span.context.span_id] = span

    def on_end(self, span: Any) -> None:
        span_id = span.context.span_id
        self.ended[span_id] = self.ended.get(span_id, 0) + 1

    def open_spans(self) -> list[str]:
        return [s.name for i, s in self.started.items() if i not in self.ended]

    def assert_each_ended_once(self, caplog: Any) -> None:
        assert not self.open_spans(), f"spans never ended: {self.open_spans()}"
        assert all(n == 1 for n in self.ended.values()), self.ended
        twice = [r for r in caplog.records if "on an ended span" in r.getMessage()]
        assert not twice, "a span was ended twice"


@contextmanager
def unraisable() -> Iterator[list[Any]]:
    """Exceptions Python could only print (raised in ``__del__``, e.g. at garbage collection)."""
    seen: list[Any] = []
    previous = sys.unraisablehook
    sys.unraisablehook = seen.append
    try:
        yield seen
    finally:
        sys.unraisablehook = previous


def our_records(caplog: Any) -> list[logging.LogRecord]:
    """Our package's log records, less instrument()'s own debug notes of what this litellm
    lacks (an older or newer release without some entry point, Router seam or optional
    module): those are set-up, not a fault of the call under test."""
    return [
        r
        for r in caplog.records
        if r.name.startswith(PACKAGE)
        and not (r.name in _SET_UP and r.levelno == logging.DEBUG and not r.exc_info)
    ]


_SET_UP = (f"{PACKAGE}.instrumentor", f"{PACKAGE}._router")
"""Where instrument() notes, at debug level and without a traceback, what this litellm lacks."""
