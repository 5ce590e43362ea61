"""``LiteLLMInstrumentor``: wires the wrappers into litellm and takes them out again."""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Collection
from typing import Any

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor
from opentelemetry.instrumentation.utils import unwrap
from opentelemetry.trace import get_tracer
from opentelemetry.util.genai.completion_hook import load_completion_hook
from opentelemetry.util.genai.handler import TelemetryHandler
from opentelemetry.util.genai.types import ContentCapturingMode
from opentelemetry.util.genai.utils import get_content_capturing_mode
from wrapt import FunctionWrapper, wrap_object

from opentelemetry_instrumentation_litellm import _openinference, _peers, _router, _upstream
from opentelemetry_instrumentation_litellm._call_extras import CallExtras
from opentelemetry_instrumentation_litellm._cost_metric import CostMetric
from opentelemetry_instrumentation_litellm._enabled import MetricsKept, telemetry_check
from opentelemetry_instrumentation_litellm._entrypoints import ENTRY_POINTS
from opentelemetry_instrumentation_litellm._messages import (
    DEFAULT_MAX_CONTENT_LENGTH,
    ContentPolicy,
)
from opentelemetry_instrumentation_litellm._metadata import parse_keys
from opentelemetry_instrumentation_litellm._request import positional_names
from opentelemetry_instrumentation_litellm.package import _instruments
from opentelemetry_instrumentation_litellm.patch import Switch, make_wrapper
from opentelemetry_instrumentation_litellm.proxy import _seams as proxy_seams
from opentelemetry_instrumentation_litellm.proxy import _shutdown
from opentelemetry_instrumentation_litellm.proxy._request import router_facts_span
from opentelemetry_instrumentation_litellm.proxy._settings import PHASE_SPANS_VARIABLE
from opentelemetry_instrumentation_litellm.version import __version__

_logger = logging.getLogger(__name__)

_SCOPE_NAME = "opentelemetry_instrumentation_litellm"

OTEL_INSTRUMENTATION_LITELLM_MAX_CONTENT_LENGTH = "OTEL_INSTRUMENTATION_LITELLM_MAX_CONTENT_LENGTH"
"""Environment variable: the most characters of one captured string (default 32768; 0: none)."""


def _capture_mode(value: ContentCapturingMode | str | bool) -> ContentCapturingMode:
    if isinstance(value, ContentCapturingMode):
        return value
    if isinstance(value, bool):
        return ContentCapturingMode.SPAN_ONLY if value else ContentCapturingMode.NO_CONTENT
    try:
        return ContentCapturingMode[str(value).strip().upper()]
    except KeyError:
        choices = ", ".join(mode.name for mode in ContentCapturingMode)
        raise ValueError(
            f"capture_message_content={value!r}: expected one of {choices} or a bool"
        ) from None


_TRUE = frozenset({"true", "1", "yes", "on"})


def _switch(argument: bool | None, variable: str) -> bool:
    """An on/off option of ``instrument()``: the argument if given, else the environment
    variable (``true``, ``1``, ``yes`` or ``on``; anything else or unset: off)."""
    if argument is not None:
        return bool(argument)
    return os.environ.get(variable, "").strip().lower() in _TRUE


def _max_length(value: int | None) -> int | None:
    if value is not None:
        return value
    raw = os.environ.get(OTEL_INSTRUMENTATION_LITELLM_MAX_CONTENT_LENGTH, "").strip()
    if not raw:
        return DEFAULT_MAX_CONTENT_LENGTH
    try:
        return int(raw)
    except ValueError:
        _logger.warning(
            "%s=%r is not an integer; using %d",
            OTEL_INSTRUMENTATION_LITELLM_MAX_CONTENT_LENGTH,
            raw,
            DEFAULT_MAX_CONTENT_LENGTH,
        )
        return DEFAULT_MAX_CONTENT_LENGTH


def _module(name: str) -> Any:
    """litellm's module ``name``, or None in a litellm release without it (older ones lack
    ``litellm.google_genai``, ``litellm.interactions``, ...) or where it cannot be imported:
    litellm 1.102.4's ``litellm.a2a_protocol`` raises a TypeError when the optional
    ``a2a-sdk`` is not installed. Its functions are then not traced (nor usable)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None
    except Exception as error:  # a set-up note about this litellm, not a fault: no traceback
        _logger.debug("litellm's %s cannot be imported (%r); not instrumented", name, error)
        return None


class LiteLLMInstrumentor(BaseInstrumentor):
    """Traces litellm calls with OpenTelemetry GenAI spans and metrics.

    ``instrument()`` takes, all optional:

    - ``tracer_provider``, ``meter_provider``, ``logger_provider``: default to the global ones.
    - ``capture_message_content``: ``NO_CONTENT`` | ``SPAN_ONLY`` | ``EVENT_ONLY`` |
      ``SPAN_AND_EVENT`` (or a ``ContentCapturingMode``, or a bool). Defaults to
      ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``, itself ``NO_CONTENT``.
    - ``max_content_length``: the most characters of one captured string; defaults to
      ``OTEL_INSTRUMENTATION_LITELLM_MAX_CONTENT_LENGTH`` or 32768; 0 means no limit.
    - ``redact_content``: ``Callable[[str], str]`` applied to every captured string first.
    - ``completion_hook``: an ``opentelemetry.util.genai`` completion hook; defaults to the one
      ``OTEL_INSTRUMENTATION_GENAI_COMPLETION_HOOK`` names (``load_completion_hook()``).
    - ``metadata_keys``: request metadata keys to record as ``litellm.metadata.<key>``
      (an iterable or a comma-separated string); defaults to
      ``OTEL_INSTRUMENTATION_LITELLM_METADATA_KEYS``, itself empty.
    - ``openinference``: also add OpenInference attributes (``openinference.span.kind``,
      ``input.value``/``output.value``, ``llm.*``) for Arize Phoenix; defaults to
      ``OTEL_INSTRUMENTATION_LITELLM_OPENINFERENCE`` (``true``/``false``, default false).
    - ``proxy_phase_spans``: in a LiteLLM Proxy, the key check, the pre-/post-call hook
      phases and the Router as spans of their own (``proxy auth``, ``router {group}``, ...)
      instead of attributes of the server span; defaults to
      ``OTEL_INSTRUMENTATION_LITELLM_PROXY_PHASE_SPANS`` (default false).

    ``uninstrument()`` restores litellm's original functions.

    In a LiteLLM Proxy worker (``litellm.proxy.proxy_server`` imported, now or later) the
    providers are also flushed when the proxy shuts down: uvicorn's SIGTERM handling skips
    ``atexit``, where the SDK would flush; and the proxy's key check, pre-/post-call hook
    phases are timed and each guardrail run becomes a span (:mod:`.proxy`).
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        _peers.note_instrumenting(self)  # other litellm instrumentations: see _peers
        handler = TelemetryHandler(
            tracer_provider=kwargs.get("tracer_provider"),
            meter_provider=kwargs.get("meter_provider"),
            logger_provider=kwargs.get("logger_provider"),
            # As util-genai's own instrumentations do: an explicit hook, else the one named by
            # OTEL_INSTRUMENTATION_GENAI_COMPLETION_HOOK (entry point group
            # opentelemetry_genai_completion_hook), else none.
            completion_hook=kwargs.get("completion_hook") or load_completion_hook(),
            instrumentation_scope_name=_SCOPE_NAME,
            instrumentation_scope_version=__version__,
        )
        mode = kwargs.get("capture_message_content")
        if mode is not None:
            _upstream.set_capture_mode(handler, _capture_mode(mode))
        span_content = (get_content_capturing_mode() if mode is None else _capture_mode(mode)) in (
            ContentCapturingMode.SPAN_ONLY,
            ContentCapturingMode.SPAN_AND_EVENT,
        )
        redact: Callable[[str], str] | None = kwargs.get("redact_content")
        policy = ContentPolicy(
            max_length=_max_length(kwargs.get("max_content_length")), redact=redact
        )
        metadata_keys = parse_keys(kwargs.get("metadata_keys"))
        metrics_kept = MetricsKept(kwargs.get("meter_provider"))
        extras = CallExtras(
            CostMetric(_SCOPE_NAME, __version__, kwargs.get("meter_provider"), metrics_kept),
            openinference=_switch(
                kwargs.get("openinference"),
                _openinference.OTEL_INSTRUMENTATION_LITELLM_OPENINFERENCE,
            ),
            span_content=span_content,
        )
        needed = telemetry_check(
            kwargs.get("tracer_provider"),
            kwargs.get("meter_provider"),
            handler.should_capture_content(),
        )
        self._switch = switch = Switch()
        for entry in ENTRY_POINTS:
            module = _module(entry.module)
            if getattr(module, entry.name, None) is None:
                _logger.debug("litellm has no %s.%s; not instrumented", entry.module, entry.name)
                continue
            names = positional_names(
                getattr(module, entry.bind_like or "", None) or getattr(module, entry.name)
            )
            wrapper = make_wrapper(
                entry, handler, names, policy, metadata_keys, extras, needed, metrics_kept
            )
            wrap_object(module, entry.name, FunctionWrapper, (wrapper, switch))
        tracer = get_tracer(_SCOPE_NAME, __version__, kwargs.get("tracer_provider"))
        router = importlib.import_module("litellm").Router
        _router.instrument_router(router, tracer, router_facts_span)
        # In a LiteLLM Proxy worker, export what is buffered when it shuts down.
        providers = ("tracer_provider", "meter_provider", "logger_provider")
        _shutdown.enable(kwargs.get(name) for name in providers)
        # In a LiteLLM Proxy worker, its auth and hook phases timed, its guardrails as spans.
        proxy_seams.enable(
            tracer,
            handler.should_capture_content,
            phase_spans=_switch(kwargs.get("proxy_phase_spans"), PHASE_SPANS_VARIABLE),
            handler=handler,
        )

    def _uninstrument(self, **kwargs: Any) -> None:
        switch: Switch | None = getattr(self, "_switch", None)
        if switch is not None:
            switch.on = False  # wrappers kept elsewhere pass calls through from now on
        for entry in ENTRY_POINTS:
            module = _module(entry.module)
            if hasattr(getattr(module, entry.name, None), "__wrapped__"):
                unwrap(module, entry.name)
        _router.uninstrument_router(importlib.import_module("litellm").Router)
        _shutdown.disable()
        proxy_seams.disable()
