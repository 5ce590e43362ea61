"""``guardrail {name}``: one guardrail run in a LiteLLM Proxy request, with its mode and outcome
(:data:`~opentelemetry_instrumentation_litellm.attributes.LITELLM_GUARDRAIL_OUTCOME`).

A pre-call guardrail is wrapped at ``ProxyLogging._execute_guardrail_hook``, the one place
that runs one guardrail's pre-call hook (load-balanced or not); during-call and post-call
guardrails at ``ProxyLogging._run_guardrail_with_metrics``, which awaits one guardrail's hook
coroutine. During-call guardrails run concurrently with the model call: their spans overlap
the litellm span, under the server span. The span helpers here serve the streamed and the
pipeline guardrail spans too (:mod:`._guardrail_streams`, :mod:`._pipelines`).
"""

from __future__ import annotations

import inspect
import logging
import sys
from collections.abc import Callable, Mapping
from typing import Any, Final

from opentelemetry import context
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, use_span
from opentelemetry.util.genai.utils import fq_exception_type

from opentelemetry_instrumentation_litellm import attributes as attrs
from opentelemetry_instrumentation_litellm.proxy import _settings
from opentelemetry_instrumentation_litellm.proxy._settings import Settings
from opentelemetry_instrumentation_litellm.proxy._texts import request_texts, response_texts

_logger = logging.getLogger(__name__)

GUARDRAIL_MODULE: Final = "litellm.integrations.custom_guardrail"

PASSED: Final = "passed"
BLOCKED: Final = "blocked"
MODIFIED: Final = "modified"
FAILED: Final = "error"
"""Values of ``litellm.guardrail.outcome``: the guardrail let the text through unchanged,
rejected the request, rewrote its text, or failed (an error that is not a block)."""

REJECTED: Final = "litellm.RejectedRequestError"
"""``error.type`` of a pre-call guardrail that blocks by returning a message instead of
raising: litellm turns that message into the error it raises."""


def is_block(error: BaseException) -> bool:
    module = sys.modules.get(GUARDRAIL_MODULE)
    is_intervention = getattr(module, "is_guardrail_intervention", None)
    if is_intervention is None or not isinstance(error, Exception):
        return False
    try:
        return bool(is_intervention(error))
    except Exception:
        return False


def fail(span: Span, error_type: str, description: str | None, settings: Settings) -> None:
    span.set_attribute(ERROR_TYPE, error_type)
    # An error's message may quote the user's text: content, so opt-in.
    span.set_status(Status(StatusCode.ERROR, description if settings.capture_content() else None))


def start_guardrail(
    settings: Settings, callback: Any, mode: Any, parent: context.Context | None = None
) -> Span:
    name = getattr(callback, "guardrail_name", None) or type(callback).__name__
    return start_named(settings, name, mode, parent)


def start_named(
    settings: Settings, name: Any, mode: Any, parent: context.Context | None = None
) -> Span:
    mode = getattr(mode, "value", mode)
    return settings.tracer.start_span(
        f"guardrail {name}",
        context=parent,
        kind=SpanKind.INTERNAL,
        attributes={
            attrs.LITELLM_GUARDRAIL_NAME: str(name),
            attrs.LITELLM_GUARDRAIL_MODE: str(mode),
        },
    )


def end_guardrail(
    span: Span,
    settings: Settings,
    before: tuple[str, ...] | None,
    texts: Callable[[Any], tuple[str, ...]] | None,
    result: Any = None,
    error: BaseException | None = None,
) -> None:
    try:
        if error is not None:
            blocked = is_block(error)
            span.set_attribute(attrs.LITELLM_GUARDRAIL_OUTCOME, BLOCKED if blocked else FAILED)
            fail(span, fq_exception_type(error), str(error), settings)
        elif isinstance(result, (str, Exception)):  # a pre-call hook's block: litellm raises it
            span.set_attribute(attrs.LITELLM_GUARDRAIL_OUTCOME, BLOCKED)
            error_type = fq_exception_type(result) if isinstance(result, Exception) else REJECTED
            fail(span, error_type, str(result), settings)
        else:
            changed = before is not None and texts is not None and texts(result) != before
            span.set_attribute(attrs.LITELLM_GUARDRAIL_OUTCOME, MODIFIED if changed else PASSED)
    except Exception:
        _logger.debug("litellm instrumentation: guardrail span outcome", exc_info=True)
    finally:
        span.end()


def argument(args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str) -> Any:
    return kwargs[name] if name in kwargs else args[index] if len(args) > index else None


Texts = Callable[[Any], tuple[str, ...]]
"""Reads the texts a guardrail checks, before (given ``None``) or after it (given its result)."""
Opened = tuple[Span, "tuple[str, ...] | None", "Texts | None"]
"""A guardrail span, the texts before the guardrail ran, how to read them after."""


def spanned(
    open_span: Callable[[Settings, tuple[Any, ...], dict[str, Any]], Opened],
    close_span: Callable[[Span, Settings, Any, Any, Any], None],
) -> Callable[..., Any]:
    """A wrapper awaiting an async proxy function in the span ``open_span(settings, args,
    kwargs)`` starts; ``close_span(span, settings, result, before, texts)`` ends it from the
    result, an error ends it as the guardrail's error.

    The wrapper is the boundary between litellm and our code: every step of ours it runs is
    guarded, litellm's function runs once whatever fails, and the span ends exactly once."""

    async def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        settings = _settings.active
        opened = None
        if settings is not None:
            try:
                opened = open_span(settings, args, kwargs)
            except Exception:
                _logger.debug("litellm instrumentation: no guardrail span", exc_info=True)
        if settings is None or opened is None:
            return await wrapped(*args, **kwargs)
        span, before, texts = opened
        try:
            with use_span(
                span, end_on_exit=False, record_exception=False, set_status_on_exception=False
            ):
                result = await wrapped(*args, **kwargs)
        except BaseException as error:
            try:
                end_guardrail(span, settings, None, None, error=error)
            except Exception:
                _logger.debug("litellm instrumentation: guardrail span", exc_info=True)
                if span.is_recording():
                    span.end()
            raise
        try:
            close_span(span, settings, result, before, texts)
        except Exception:
            _logger.debug("litellm instrumentation: guardrail span", exc_info=True)
            if span.is_recording():
                span.end()
        return result

    return wrapper


def _open_guardrail(settings: Settings, callback: Any, mode: Any, texts: Texts | None) -> Opened:
    """A ``guardrail {name}`` span, and the text the guardrail got (``texts(None)``)."""
    span = start_guardrail(settings, callback, mode)
    before = None
    try:
        before = texts(None) if texts is not None else None
    except Exception:
        _logger.debug("litellm instrumentation: no guardrail text", exc_info=True)
    return span, before, texts


def _close_guardrail(span: Span, settings: Settings, result: Any, before: Any, texts: Any) -> None:
    """``texts(result)``, the text after the guardrail, differs from ``before`` when it
    rewrote it."""
    end_guardrail(span, settings, before, texts, result=result)


def _open_pre_call(settings: Settings, args: Any, kwargs: Any) -> Opened:
    """``ProxyLogging._execute_guardrail_hook(callback, hook_type, data, ...)``: one
    guardrail's pre-call hook. It may return the request, ``None`` (the request, changed in
    place or not) or a message or error that litellm raises."""
    data = argument(args, kwargs, 2, "data")

    def texts(result: Any) -> tuple[str, ...]:
        return request_texts(result if isinstance(result, Mapping) else data)

    callback = argument(args, kwargs, 0, "callback")
    return _open_guardrail(settings, callback, argument(args, kwargs, 1, "hook_type"), texts)


def _hook_texts(coro: Any) -> Texts | None:
    """How to read what a during-call or post-call hook coroutine checks, or ``None``.

    A coroutine that has not started holds just its arguments: the hook's ``data`` and,
    after the call, ``response``, which the hook changes in place or replaces."""
    try:
        arguments = inspect.getcoroutinelocals(coro) if inspect.iscoroutine(coro) else {}
    except Exception:
        return None
    if "response" in arguments:
        response = arguments["response"]
        return lambda result: response_texts(response if result is None else result)
    data = arguments.get("data")
    return lambda result: request_texts(data)


def _open_with_metrics(settings: Settings, args: Any, kwargs: Any) -> Opened:
    """``ProxyLogging._run_guardrail_with_metrics(callback, coro, hook_type)``: one
    during-call or post-call guardrail's hook coroutine, not yet started."""
    texts = None
    try:
        texts = _hook_texts(argument(args, kwargs, 1, "coro"))
    except Exception:
        _logger.debug("litellm instrumentation: no guardrail text", exc_info=True)
    callback = argument(args, kwargs, 0, "callback")
    return _open_guardrail(settings, callback, argument(args, kwargs, 2, "hook_type"), texts)


pre_call_guardrail = spanned(_open_pre_call, _close_guardrail)
guardrail_with_metrics = spanned(_open_with_metrics, _close_guardrail)
