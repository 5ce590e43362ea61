"""Nothing of a call outlives it: many calls and abandoned streams keep memory bounded."""

from __future__ import annotations

import gc
import tracemalloc

import litellm
import pytest

MESSAGES = [{"role": "user", "content": "hi"}]

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("litellm_callbacks")]

BOUND = 512 * 1024
"""Bytes the second half of a run may add over its first half (measured here: about 11 KB
for 5,000 calls, 6 KB for 2,500 abandoned streams). Leaking one span, invocation or
context token per call (hundreds of bytes each) over thousands of calls exceeds it; litellm's
own caches fill during the first half."""


def _growth(run, count: int) -> int:
    """Memory still allocated after ``count`` more calls, once ``count`` calls warmed up."""
    run(count)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        run(count)
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_ten_thousand_calls(instrument, telemetry):
    instrument(capture_message_content="SPAN_AND_EVENT")

    def calls(n: int) -> None:
        for i in range(n):
            litellm.completion("gpt-4o-mini", MESSAGES, mock_response="ok", user=f"u{i}")
        telemetry.spans.clear()  # the test's exporter keeps spans; the application's does not
        telemetry.logs.clear()

    growth = _growth(calls, 5000)
    print(f"5,000 calls after 5,000: {growth} bytes")
    assert growth < BOUND, growth
    assert not telemetry.spans.get_finished_spans()


def test_five_thousand_abandoned_streams(instrument, telemetry):
    instrument()

    def abandon(n: int) -> None:
        for _ in range(n):
            stream = litellm.completion("gpt-4o-mini", MESSAGES, mock_response="a b c", stream=True)
            next(stream)
            del stream
        gc.collect()
        spans = telemetry.spans.get_finished_spans()
        assert len(spans) == n  # every abandoned stream's span ended
        assert all(s.attributes["error.type"] == "_OTHER" for s in spans)
        telemetry.spans.clear()

    growth = _growth(abandon, 2500)
    print(f"2,500 abandoned streams after 2,500: {growth} bytes")
    assert growth < BOUND, growth
