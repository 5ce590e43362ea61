"""Spans an exporter could not export, counted and reported once per outage.

The OTLP exporter logs each retry and each failed batch, but never how many spans were
lost. :class:`ReportingSpanExporter` wraps an exporter: while its exports fail it counts
the spans, and the first export that succeeds again logs one warning with the count and
since when (a shutdown during an outage logs it too). It changes nothing else: results,
exceptions, flush and shutdown are the wrapped exporter's.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

_logger = logging.getLogger(__name__)


class ReportingSpanExporter(SpanExporter):
    def __init__(self, exporter: SpanExporter) -> None:
        self._exporter = exporter
        self._lock = threading.Lock()
        self._lost = 0
        self._batches = 0
        self._since = 0.0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self._exporter.export(spans)
        with self._lock:
            if result is SpanExportResult.SUCCESS:
                self._report("export resumed")
            else:
                if not self._lost:
                    self._since = time.time()
                self._lost += len(spans)
                self._batches += 1
        return result

    def _report(self, outcome: str) -> None:
        if self._lost:
            _logger.warning(
                "%d spans in %d batches could not be exported by %s since %s; %s",
                self._lost,
                self._batches,
                type(self._exporter).__name__,
                time.strftime("%H:%M:%S", time.localtime(self._since)),
                outcome,
            )
        self._lost = self._batches = 0

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._exporter.force_flush(timeout_millis)

    def shutdown(self) -> None:
        with self._lock:
            self._report("shutting down")
        self._exporter.shutdown()


def reporting_batch_processor(exporter: Any) -> BatchSpanProcessor:
    """The SDK configurator's ``export_span_processor``: a batch processor, as by default,
    around a :class:`ReportingSpanExporter`."""
    return BatchSpanProcessor(ReportingSpanExporter(exporter))
