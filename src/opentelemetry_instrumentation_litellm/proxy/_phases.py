"""The key check and the pre-/post-call hook phases of a proxied request.

The key check (``_user_api_key_auth_builder``, which the FastAPI dependency
``user_api_key_auth`` looks up at call time) and the hook phases
(``ProxyLogging.pre_call_hook`` / ``post_call_success_hook``: rate limits, budgets, callbacks'
hooks and the guardrails of those modes): by default their durations as attributes of the
span current when they run, the request's server span (``litellm.proxy.auth.duration``,
...); with phase spans switched on (:data:`._settings.PHASE_SPANS_VARIABLE`,
``instrument(proxy_phase_spans=True)``) a span each, ``proxy auth`` / ``proxy pre_call`` /
``proxy post_call``. Never the key or its hash.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Final

from opentelemetry.trace import SpanKind, get_current_span, use_span
from opentelemetry.util.genai.utils import fq_exception_type

from opentelemetry_instrumentation_litellm import attributes as attrs
from opentelemetry_instrumentation_litellm.proxy import _guardrails as guardrails
from opentelemetry_instrumentation_litellm.proxy import _settings
from opentelemetry_instrumentation_litellm.proxy._request import mark_request

_logger = logging.getLogger(__name__)


def _make_phase(name: str, attribute: str, *, describe_errors: bool) -> Callable[..., Any]:
    """A wrapper timing an async proxy function: ``attribute`` on the current span, or with
    phase spans switched on a span named ``name``."""

    async def phase(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        settings = _settings.active
        if settings is not None and not settings.phase_spans:
            # timed on the current span (the request's server span), also when it raises;
            # inline, not in a helper of ours that awaits litellm's function
            server = get_current_span()
            if not server.is_recording():
                return await wrapped(*args, **kwargs)
            try:
                mark_request(server)
            except Exception:
                _logger.debug("litellm instrumentation: request not marked", exc_info=True)
            started = time.perf_counter()
            try:
                return await wrapped(*args, **kwargs)
            finally:
                try:
                    server.set_attribute(attribute, time.perf_counter() - started)
                except Exception:
                    _logger.debug("litellm instrumentation: no %s", attribute, exc_info=True)
        span = None
        if settings is not None:
            try:
                span = settings.tracer.start_span(name, kind=SpanKind.INTERNAL)
            except Exception:
                _logger.debug("litellm instrumentation: no %s span", name, exc_info=True)
        if span is None:
            return await wrapped(*args, **kwargs)
        try:
            with use_span(
                span, end_on_exit=False, record_exception=False, set_status_on_exception=False
            ):
                return await wrapped(*args, **kwargs)
        except BaseException as error:
            try:
                # An auth error's message can carry part of the key: never recorded.
                description = str(error) if describe_errors else None
                guardrails.fail(span, fq_exception_type(error), description, settings)
            except Exception:
                _logger.debug("litellm instrumentation: %s span", name, exc_info=True)
            raise
        finally:
            try:  # a span processor's error stays here, not in the proxy's request
                span.end()
            except Exception:
                _logger.debug("litellm instrumentation: %s span not ended", name, exc_info=True)

    return phase


AUTH_SPAN: Final = "proxy auth"
PRE_CALL_SPAN: Final = "proxy pre_call"
POST_CALL_SPAN: Final = "proxy post_call"

auth = _make_phase(AUTH_SPAN, attrs.LITELLM_PROXY_AUTH_DURATION, describe_errors=False)
pre_call = _make_phase(PRE_CALL_SPAN, attrs.LITELLM_PROXY_PRE_CALL_DURATION, describe_errors=True)
post_call = _make_phase(
    POST_CALL_SPAN, attrs.LITELLM_PROXY_POST_CALL_DURATION, describe_errors=True
)
