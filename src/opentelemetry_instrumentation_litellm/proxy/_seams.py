"""The LiteLLM Proxy functions wrapped to give its work spans, and wrapping them.

litellm has no public per-guardrail or auth seam, so the private functions of
:data:`WRAPPERS` are wrapped, here and nowhere else; their names come from ``_upstream``
(the one door to private APIs), where ``tests/test_upstream.py`` pins them. A litellm
release without one of them loses that span only; nothing else changes. The wrapping is
installed when ``litellm.proxy.proxy_server`` is imported (at once if it already is) and
never imports the proxy itself; :func:`disable` restores litellm's own functions.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any, Final

from opentelemetry.trace import Tracer
from wrapt import FunctionWrapper

from opentelemetry_instrumentation_litellm._upstream import (
    PROXY_AUTH_BUILDER,
    PROXY_AUTH_MODULE,
    PROXY_GUARDRAIL_WITH_METRICS,
    PROXY_PIPELINE_EXECUTOR,
    PROXY_PIPELINE_MODULE,
    PROXY_PIPELINE_RUN,
    PROXY_PIPELINE_STEP,
    PROXY_PRE_CALL_GUARDRAIL,
    PROXY_STREAM_BLOCK_HANDLERS,
    PROXY_STREAM_LAYER,
    PROXY_UNIFIED_GUARDRAIL,
    PROXY_UNIFIED_GUARDRAIL_MODULE,
    PROXY_UTILS_MODULE,
)
from opentelemetry_instrumentation_litellm.proxy import _settings
from opentelemetry_instrumentation_litellm.proxy._guardrail_streams import (
    note_stream_block,
    stream_layer,
    unified_stream_hook,
)
from opentelemetry_instrumentation_litellm.proxy._guardrails import (
    guardrail_with_metrics,
    pre_call_guardrail,
)
from opentelemetry_instrumentation_litellm.proxy._phases import auth, post_call, pre_call
from opentelemetry_instrumentation_litellm.proxy._pipelines import pipeline, pipeline_step
from opentelemetry_instrumentation_litellm.proxy._shutdown import on_proxy_import

_logger = logging.getLogger(__name__)

_lock = threading.Lock()
_originals: list[tuple[Any, str, Any]] = []
"""(owner, attribute, original value) of each wrapped function, to put back."""

WRAPPERS: Final = (
    (PROXY_AUTH_MODULE, None, PROXY_AUTH_BUILDER, auth),
    (PROXY_UTILS_MODULE, "ProxyLogging", "pre_call_hook", pre_call),
    (PROXY_UTILS_MODULE, "ProxyLogging", "post_call_success_hook", post_call),
    (PROXY_UTILS_MODULE, "ProxyLogging", PROXY_PRE_CALL_GUARDRAIL, pre_call_guardrail),
    (PROXY_UTILS_MODULE, "ProxyLogging", PROXY_GUARDRAIL_WITH_METRICS, guardrail_with_metrics),
    (PROXY_UTILS_MODULE, "ProxyLogging", PROXY_STREAM_LAYER, stream_layer),
    (
        PROXY_UNIFIED_GUARDRAIL_MODULE,
        PROXY_UNIFIED_GUARDRAIL,
        "async_post_call_streaming_iterator_hook",
        unified_stream_hook,
    ),
    *(
        (PROXY_UNIFIED_GUARDRAIL_MODULE, PROXY_UNIFIED_GUARDRAIL, name, note_stream_block)
        for name in PROXY_STREAM_BLOCK_HANDLERS
    ),
    (PROXY_PIPELINE_MODULE, PROXY_PIPELINE_EXECUTOR, PROXY_PIPELINE_RUN, pipeline),
    (PROXY_PIPELINE_MODULE, PROXY_PIPELINE_EXECUTOR, PROXY_PIPELINE_STEP, pipeline_step),
)
"""(module, class or None, function, wrapper): what is wrapped."""


# -- enabling -------------------------------------------------------------------------


def wrap_proxy(server: ModuleType) -> None:
    """The post-import hook of ``litellm.proxy.proxy_server``: wrap what it uses."""
    with _lock:
        if _settings.active is None or _originals:
            return
        for module_name, class_name, name, wrapper in WRAPPERS:
            try:
                owner: Any = sys.modules.get(module_name)
                if owner is not None and class_name is not None:
                    owner = getattr(owner, class_name, None)
                original = vars(owner).get(name) if owner is not None else None
                if original is None:
                    _logger.debug("litellm has no %s.%s: not traced", module_name, name)
                    continue
                setattr(owner, name, FunctionWrapper(original, wrapper))
                _originals.append((owner, name, original))
            except Exception:
                _logger.debug("Could not wrap %s.%s", module_name, name, exc_info=True)


def enable(
    tracer: Tracer, capture_content: Callable[[], bool], *, phase_spans: bool = False
) -> None:
    """Trace the proxy's auth, hook phases and guardrails, now or once the proxy loads;
    ``phase_spans``: the auth and phases as spans, not as server span attributes."""
    with _lock:
        _settings.set_active(_settings.Settings(tracer, capture_content, phase_spans))
    on_proxy_import(wrap_proxy)


def disable() -> None:
    """Put litellm's own functions back."""
    with _lock:
        _settings.set_active(None)
        while _originals:
            owner, name, original = _originals.pop()
            current = vars(owner).get(name)
            if isinstance(current, FunctionWrapper) and current.__wrapped__ is original:
                setattr(owner, name, original)
