"""Request/Response previews in MLflow's trace list for traces whose root is the application's.

Why: MLflow (3.17) fills a trace's ``request_preview``/``response_preview`` (the trace
list's Request and Response columns) once, when it stores the trace's root span, from
that span's inputs and outputs. Its documentation's only way for OTLP traces is to put
``gen_ai.input.messages``/``gen_ai.output.messages`` on the root span. When the root is
the application's own span (a web request, an agent turn), it has neither, and the
list shows ``-``; writing messages onto a span the application owns is not ours to do.

So, after a batch holding such a root was stored, the exporter sets the two previews
through MLflow's REST API, the way MLflow's own client records trace info: it reads the
trace info (``GET /api/3.0/mlflow/traces/{id}``) and writes it back with the previews
(``POST /api/3.0/mlflow/traces``, StartTraceV3, an upsert). The request preview is the
last user message of the trace's first LLM call, the response preview the text of its
last LLM answer, both from content the spans captured: with content capture off there
is nothing to copy, and nothing is written. A root that is itself a GenAI span needs
none of this (MLflow reads it, with ``mlflow.spanInputs`` from ``_mlflow_io``).

MLflow marks a trace whose info was written this way as finalized: spans of that trace
that arrive after its root no longer extend its duration or add to its token and cost
totals. Roots end last in almost every application; a span that outlives its root (a
stream read after the request returned) is the exception.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from opentelemetry.sdk.trace import ReadableSpan

from opentelemetry_instrumentation_litellm._upstream import (
    GEN_AI_INPUT_MESSAGES as INPUT_MESSAGES,
)
from opentelemetry_instrumentation_litellm._upstream import (
    GEN_AI_OPERATION_NAME as OPERATION_NAME,
)
from opentelemetry_instrumentation_litellm._upstream import (
    GEN_AI_OUTPUT_MESSAGES as OUTPUT_MESSAGES,
)

_logger = logging.getLogger(__name__)


MAX_PREVIEW_LENGTH = 1000
"""MLflow's column holds 1000 characters; MLflow truncates its own previews the same way."""

_MAX_PENDING_TRACES = 1024
"""Traces whose LLM spans were seen but whose root was not yet: the oldest are forgotten."""


def _text(message: Any) -> str | None:
    if not isinstance(message, Mapping) or not isinstance(message.get("parts"), list):
        return None
    texts = [
        p["content"]
        for p in message["parts"]
        if isinstance(p, Mapping) and p.get("type") == "text" and isinstance(p.get("content"), str)
    ]
    return "\n".join(texts) or None


def _messages(span: ReadableSpan, key: str) -> list[Any]:
    value = (span.attributes or {}).get(key)
    if not isinstance(value, str):
        return []
    try:
        decoded = json.loads(value)
    except ValueError:
        return []
    return decoded if isinstance(decoded, list) else []


def request_text(span: ReadableSpan) -> str | None:
    """The last user message's text of a GenAI span with captured input, as MLflow picks it."""
    for message in reversed(_messages(span, INPUT_MESSAGES)):
        if isinstance(message, Mapping) and message.get("role") == "user":
            return _text(message)
    return None


def response_text(span: ReadableSpan) -> str | None:
    """The answer's text of a GenAI span with captured output (tool calls alone: none)."""
    for message in _messages(span, OUTPUT_MESSAGES):
        if text := _text(message):
            return text
    return None


def _truncated(text: str) -> str:
    if len(text) <= MAX_PREVIEW_LENGTH:
        return text
    return text[: MAX_PREVIEW_LENGTH - 3] + "..."


@dataclass
class _Seen:
    request: str | None = None
    request_start: int = 0
    response: str | None = None
    response_end: int = 0

    def add(self, span: ReadableSpan) -> None:
        start, end = span.start_time or 0, span.end_time or 0
        if (self.request is None or start < self.request_start) and (text := request_text(span)):
            self.request, self.request_start = text, start
        if (self.response is None or end >= self.response_end) and (text := response_text(span)):
            self.response, self.response_end = text, end


class TracePreviews:
    """Follows exported spans per trace; sets the previews when an application root is stored."""

    def __init__(self, base_url: str, session: requests.Session, timeout: float) -> None:
        self._base_url = base_url
        self._session = session
        self._timeout = timeout
        self._lock = threading.Lock()
        self._pending: OrderedDict[int, _Seen] = OrderedDict()

    def exported(self, spans: Sequence[ReadableSpan]) -> None:
        """Call with each batch MLflow accepted. Never raises."""
        try:
            for trace_id, seen in self._completed(spans):
                self._set(trace_id, seen)
        except Exception:
            _logger.debug("Could not set MLflow trace previews", exc_info=True)

    def _completed(self, spans: Sequence[ReadableSpan]) -> list[tuple[int, _Seen]]:
        """Remember what the batch's LLM spans said; the traces whose app root is in it."""
        done = []
        with self._lock:
            for span in spans:
                if OPERATION_NAME in (span.attributes or {}):
                    trace_id = span.context.trace_id
                    seen = self._pending.get(trace_id)
                    if seen is None:
                        seen = self._pending[trace_id] = _Seen()
                        if len(self._pending) > _MAX_PENDING_TRACES:
                            self._pending.popitem(last=False)
                    seen.add(span)
            for span in spans:
                if span.parent is not None:
                    continue
                seen = self._pending.pop(span.context.trace_id, None)
                is_app_root = OPERATION_NAME not in (span.attributes or {})
                if seen is not None and is_app_root and (seen.request or seen.response):
                    done.append((span.context.trace_id, seen))
        return done

    def _set(self, trace_id: int, seen: _Seen) -> None:
        url = f"{self._base_url}/api/3.0/mlflow/traces"
        mlflow_id = f"tr-{trace_id:032x}"
        got = self._session.get(f"{url}/{mlflow_id}", timeout=self._timeout)
        if got.status_code != 200:
            _logger.debug("MLflow has no trace %s yet (HTTP %s)", mlflow_id, got.status_code)
            return
        body = got.json()
        info = body["trace"]["trace_info"]
        if info.get("request_preview") or info.get("response_preview"):
            return  # set by someone else; theirs stands
        if seen.request:
            info["request_preview"] = _truncated(seen.request)
        if seen.response:
            info["response_preview"] = _truncated(seen.response)
        put = self._session.post(url, json={"trace": {"trace_info": info}}, timeout=self._timeout)
        if put.status_code != 200:
            _logger.debug("MLflow refused the previews of %s (HTTP %s)", mlflow_id, put.status_code)
