"""``guardrail {name}`` on a streamed answer.

litellm checks a streamed answer with one post-call layer per guardrail around the stream
(``ProxyLogging._wrap_streaming_iterator_with_enrichment``; for ``apply_guardrail``
guardrails, ``UnifiedLLMGuardrails``'s ``async_post_call_streaming_iterator_hook``): one span
per layer, from the first chunk to the layer's end. A block litellm catches there and sends
as an in-stream error (``handle_streaming_block`` / ``emit_streaming_http_error``) still ends
the span as ``blocked``.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from contextvars import ContextVar
from typing import Any

from opentelemetry import context
from opentelemetry.trace import Span, set_span_in_context

from opentelemetry_instrumentation_litellm._response import field
from opentelemetry_instrumentation_litellm._upstream import PROXY_STREAMING_FLAG
from opentelemetry_instrumentation_litellm.proxy import _guardrails as guardrails
from opentelemetry_instrumentation_litellm.proxy import _settings
from opentelemetry_instrumentation_litellm.proxy._settings import Settings

_logger = logging.getLogger(__name__)


class _StreamCheck:
    """What one guardrail's check of one streamed answer saw: the answer text it got and
    the text it passed on (chat chunks' ``delta.content``; ``None`` when unknown), and a
    block litellm caught mid-stream and turned into an in-stream error or block message."""

    __slots__ = ("block", "received", "sent")

    def __init__(self, tapped: bool) -> None:
        self.received: list[str] | None = [] if tapped else None
        self.sent: list[str] | None = [] if tapped else None
        self.block: BaseException | None = None


_stream_check: ContextVar[_StreamCheck | None] = ContextVar(
    "litellm_guardrail_stream_check", default=None
)
"""The check whose guardrail code is running: set while its layer makes a chunk."""


def _delta_text(chunk: Any) -> str:
    """The text of a streamed chat chunk (other chunk types: empty)."""
    try:
        choices = field(chunk, "choices") or ()
        texts = [field(field(choice, "delta"), "content") for choice in choices]
        return "".join(text for text in texts if isinstance(text, str))
    except Exception:
        _logger.debug("litellm instrumentation: no chunk text", exc_info=True)
        return ""


async def _tap(stream: Any, received: list[str]) -> Any:
    """``stream``'s chunks, unchanged, noting their text in ``received``."""
    async for chunk in stream:
        try:
            received.append(_delta_text(chunk))
        except Exception:
            _logger.debug("litellm instrumentation: no chunk text", exc_info=True)
        yield chunk


def _end_stream_check(
    span: Span, settings: Settings, check: _StreamCheck, error: BaseException | None
) -> None:
    if error is None:
        error = check.block
    if error is not None:
        guardrails.end_guardrail(span, settings, None, None, error=error)
    elif check.received is not None and check.sent is not None:
        before = ("".join(check.received),)
        after = ("".join(check.sent),)
        guardrails.end_guardrail(span, settings, before, lambda _result: after)
    else:
        guardrails.end_guardrail(span, settings, None, None)


async def _checked_stream(
    settings: Settings, callback: Any, layer: Any, check: _StreamCheck, parent: context.Context
) -> Any:
    """``layer``'s chunks, unchanged, in one ``guardrail {name}`` span (mode ``post_call``)
    from the first chunk asked for to the layer's end. The span is current while the layer
    makes a chunk, and so is ``check``, for :func:`note_stream_block`.

    The layers of one answer are nested iterators: each asks the one below for chunks. Their
    spans are siblings, children of ``parent``, what was current when the chain was built
    (the request), not of each other."""
    iterator: AsyncIterator[Any] = layer.__aiter__()
    span = span_context = None
    try:
        span = guardrails.start_guardrail(settings, callback, "post_call", parent)
        span_context = set_span_in_context(span)
    except Exception:
        _logger.debug("litellm instrumentation: no streamed guardrail span", exc_info=True)
    sent = check.sent
    error: BaseException | None = None
    try:
        while True:
            checking = _stream_check.set(check)
            current = context.attach(span_context) if span_context is not None else None
            try:
                chunk = await iterator.__anext__()
            except StopAsyncIteration:
                break
            finally:
                if current is not None:
                    context.detach(current)
                _stream_check.reset(checking)
            if sent is not None:
                try:
                    sent.append(_delta_text(chunk))
                except Exception:
                    _logger.debug("litellm instrumentation: no chunk text", exc_info=True)
            yield chunk
    except (GeneratorExit, asyncio.CancelledError):
        # the client went away: the check did not finish, no outcome
        if span is not None:
            span.end()
            span = None
        raise
    except BaseException as caught:
        error = caught
        raise
    finally:
        if span is not None:
            try:
                _end_stream_check(span, settings, check, error)
            except Exception:
                _logger.debug("litellm instrumentation: streamed guardrail span", exc_info=True)
                if span.is_recording():
                    span.end()
            error = None  # no reference cycle through this frame


def _is_checked(stream: Any) -> bool:
    return getattr(stream, "ag_code", None) is _checked_stream.__code__


def _may_rewrite(unified: Any, guardrail: Any) -> bool:
    """Whether litellm sends ``guardrail``'s rewrites of a stream: only in its
    ``incremental_diff`` streaming mode; the default, ``block_only``, drops them (and then
    nothing needs reading to tell a rewrite, which costs some microseconds a chunk)."""
    resolve = getattr(unified, PROXY_STREAMING_FLAG, None)
    if resolve is None:
        return True
    try:
        mode = resolve(guardrail, "streaming_transform_mode", "block_only")
    except Exception:
        return True
    return mode == "incremental_diff"


def unified_stream_hook(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """``UnifiedLLMGuardrails.async_post_call_streaming_iterator_hook(user_api_key_dict,
    response, request_data, guardrail_to_apply, ...)``: one ``apply_guardrail`` guardrail's
    check of a streamed answer. Its input is tapped, to tell a rewrite from a pass, when
    litellm would send a rewrite."""
    settings = _settings.active
    callback = check = None
    call_args, call_kwargs = args, kwargs
    if settings is not None:
        try:
            callback = guardrails.argument(args, kwargs, 3, "guardrail_to_apply")
            if callback is not None:
                tapped = ("response" in kwargs or len(args) > 1) and _may_rewrite(
                    instance, callback
                )
                check = _StreamCheck(tapped=tapped)
                received = check.received
                if received is not None and "response" in kwargs:
                    call_kwargs = {**kwargs, "response": _tap(kwargs["response"], received)}
                elif received is not None:
                    call_args = (args[0], _tap(args[1], received), *args[2:])
        except Exception:
            _logger.debug("litellm instrumentation: no streamed guardrail span", exc_info=True)
            check, call_args, call_kwargs = None, args, kwargs
    if settings is None or check is None:
        return wrapped(*args, **kwargs)
    layer = wrapped(*call_args, **call_kwargs)
    return _checked_stream(settings, callback, layer, check, context.get_current())


def stream_layer(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """``ProxyLogging._wrap_streaming_iterator_with_enrichment(callback, gen)``: one layer of
    a streamed answer's post-call chain. A guardrail's layer not already checked by
    :func:`unified_stream_hook` (one overriding ``async_post_call_streaming_iterator_hook``)
    gets its span here: passed, or blocked by what it raises."""
    settings = _settings.active
    callback = layer = check = None
    if settings is not None:
        try:
            callback = guardrails.argument(args, kwargs, 0, "callback")
            layer = guardrails.argument(args, kwargs, 1, "gen")
            module = sys.modules.get(guardrails.GUARDRAIL_MODULE)
            guardrail_class = getattr(module, "CustomGuardrail", None)
            if (
                layer is not None
                and not _is_checked(layer)
                and guardrail_class is not None
                and isinstance(callback, guardrail_class)
            ):
                check = _StreamCheck(tapped=False)
        except Exception:
            _logger.debug("litellm instrumentation: no streamed guardrail span", exc_info=True)
            check = None
    if settings is None or check is None:
        return wrapped(*args, **kwargs)
    return wrapped(
        callback, _checked_stream(settings, callback, layer, check, context.get_current())
    )


def note_stream_block(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """``UnifiedLLMGuardrails.handle_streaming_block(exc, ...)`` /
    ``emit_streaming_http_error(exc, ...)``: litellm ends a streamed answer with a block
    message or an in-stream error instead of raising ``exc``; the check running is told."""
    try:
        check = _stream_check.get()
        if check is not None and check.block is None:
            error = guardrails.argument(args, kwargs, 0, "exc")
            if isinstance(error, BaseException):
                check.block = error
    except Exception:
        _logger.debug("litellm instrumentation: a streamed block not noted", exc_info=True)
    return wrapped(*args, **kwargs)
