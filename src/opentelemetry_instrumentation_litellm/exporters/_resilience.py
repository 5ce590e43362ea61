"""Keep a down or slow trace backend from disturbing the application.

What the SDK (1.45) already does, so it is not repeated here: ``BatchSpanProcessor``
exports on its own thread from a bounded queue (``OTEL_BSP_MAX_QUEUE_SIZE``, 2048), so
``span.end()`` never waits for the network; when the queue is full it drops the span
and logs ``Queue full, dropping Span.`` (the SDK's duplicate filter lets that line
through at most once per 20 s).

What it does not do is the job of :class:`ResilientSpanExporter`: the processor ignores
the exporter's result, so spans in a failed export vanish uncounted. The wrapper counts the
spans of failed exports, reports them in one WARNING at most once per ``drop_log_interval``
seconds (with the last error it knows of), says once when export resumes, and turns any
exception of the wrapped exporter into a failed export, so nothing escapes to the export
thread.

It touches nothing outside itself: what the wrapped exporter logs is that exporter's
business (the SDK's OTLP exporters log each failed batch; ``docs/configure.md`` shows the
standard ``logging`` configuration that quiets them).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

_logger = logging.getLogger(__name__)

DEFAULT_DROP_LOG_INTERVAL = 60.0
"""Seconds between two reports of dropped spans."""

_MAX_REASON_LENGTH = 500
_URL_USERINFO = re.compile(r"//[^/@\s]+@")


def _redact(text: str) -> str:
    """Hide ``user:password@`` in any URL an exporter put into its error text."""
    return _URL_USERINFO.sub("//***@", text)


class ResilientSpanExporter(SpanExporter):
    """Wraps a ``SpanExporter``: counts dropped spans and reports them at a bounded rate.

    ``export`` never raises. Spans of a failed export are dropped (a retry queue would
    only grow while the backend is down); the count is logged at WARNING on this module's
    logger at most once per ``drop_log_interval`` seconds, and the first failure is
    reported at once. The reason given is the exception the wrapped exporter raised, else
    what :meth:`_failure_reason` says (:class:`MLflowSpanExporter` knows its last HTTP error).
    ``dropped_spans`` is the running total, for health checks and tests.

    ``destination`` names the backend in log messages; it must not contain secrets.
    """

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        destination: str,
        drop_log_interval: float = DEFAULT_DROP_LOG_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._exporter = exporter
        self._destination = destination
        self.drop_log_interval = drop_log_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._dropped_total = 0
        self._dropped_unreported = 0
        self._last_report: float | None = None
        self._failing = False
        self._reported_outage = False

    @property
    def exporter(self) -> SpanExporter:
        """The wrapped exporter."""
        return self._exporter

    @property
    def destination(self) -> str:
        return self._destination

    @property
    def dropped_spans(self) -> int:
        """Spans dropped because their export failed, since this exporter was created."""
        return self._dropped_total

    @property
    def drop_log_interval(self) -> float:
        return self._drop_log_interval

    @drop_log_interval.setter
    def drop_log_interval(self, seconds: float) -> None:
        if not seconds >= 0:
            raise ValueError(f"drop_log_interval must be >= 0 seconds, got {seconds!r}")
        self._drop_log_interval = float(seconds)

    def _prepare(self, spans: Sequence[ReadableSpan]) -> Sequence[ReadableSpan]:
        """Hook for subclasses: the spans to hand to the wrapped exporter."""
        return spans

    def _failure_reason(self) -> str | None:
        """Hook for subclasses: why the last export failed, when the wrapped exporter
        returned FAILURE without raising (it only logged the reason itself)."""
        return None

    def _reason(self, error: BaseException | None) -> str:
        try:
            text = (
                f"{type(error).__name__}: {error}" if error is not None else self._failure_reason()
            )
        except Exception:  # a broken hook must not break the report
            _logger.debug(
                "Could not tell why the %s export failed", self._destination, exc_info=True
            )
            text = None
        if not text:
            return "the exporter reported a failure (see its own log)"
        return _redact(text)[:_MAX_REASON_LENGTH]

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if not spans:
            return SpanExportResult.SUCCESS
        error: BaseException | None = None
        try:
            result = self._exporter.export(self._prepare(spans))
        except Exception as exc:
            error, result = exc, SpanExportResult.FAILURE
        try:
            if result is SpanExportResult.SUCCESS:
                self._succeeded()
            else:
                self._failed(len(spans), self._reason(error))
        except Exception:
            _logger.debug("Accounting for a %s export failed", self._destination, exc_info=True)
        return result

    def _succeeded(self) -> None:
        with self._lock:
            if not self._failing:
                return
            self._failing = False
            if not self._reported_outage:
                return
            self._reported_outage = False
            unreported, self._dropped_unreported = self._dropped_unreported, 0
            total = self._dropped_total
        _logger.warning(
            "Trace export to %s resumed (%d more span(s) dropped since the last report, "
            "%d since start).",
            self._destination,
            unreported,
            total,
        )

    def _failed(self, count: int, reason: str) -> None:
        with self._lock:
            self._failing = True
            self._dropped_total += count
            self._dropped_unreported += count
            now = self._clock()
            if self._last_report is not None and now - self._last_report < self._drop_log_interval:
                return
            self._last_report = now
            self._reported_outage = True
            unreported, self._dropped_unreported = self._dropped_unreported, 0
            total = self._dropped_total
        _logger.warning(
            "Trace export to %s failed: %d span(s) dropped (%d since start); the application "
            "is not affected and export resumes when the backend answers again. "
            "Next report in %g s at the earliest. Last error: %s",
            self._destination,
            unreported,
            total,
            self._drop_log_interval,
            reason,
        )

    def shutdown(self) -> None:
        with self._lock:
            unreported, self._dropped_unreported = self._dropped_unreported, 0
        if unreported:
            _logger.warning(
                "Trace export to %s: %d more span(s) dropped before shutdown.",
                self._destination,
                unreported,
            )
        try:
            self._exporter.shutdown()
        except Exception:
            _logger.debug("Shutting down the %s exporter failed", self._destination, exc_info=True)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        try:
            return self._exporter.force_flush(timeout_millis)
        except Exception:
            _logger.debug("Flushing the %s exporter failed", self._destination, exc_info=True)
            return False
