"""The wrapper around each litellm entry point.

One call flows top-down: bind the arguments to litellm's signature, start the
util-genai invocation with what is known up front (operation, provider, model,
server), call litellm inside it, record the response, stop or fail. Streams
hand the invocation to a stream wrapper that finishes it.

Nothing here may change the user's call: our own errors are logged at debug
level and swallowed, the user's exceptions propagate as the same object.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from opentelemetry.util.genai.handler import TelemetryHandler

from opentelemetry_instrumentation_litellm._call_extras import CallExtras
from opentelemetry_instrumentation_litellm._enabled import events_requested
from opentelemetry_instrumentation_litellm._entrypoints import EntryPoint
from opentelemetry_instrumentation_litellm._messages import ContentPolicy
from opentelemetry_instrumentation_litellm._metadata import record_metadata
from opentelemetry_instrumentation_litellm._operations import Operation
from opentelemetry_instrumentation_litellm._request import call_arguments
from opentelemetry_instrumentation_litellm._streams import (
    UNREAD,
    AsyncTracedStream,
    SyncTracedStream,
)

_logger = logging.getLogger(__name__)

_INSIDE_CALL: ContextVar[bool] = ContextVar("litellm_instrumentation_inside_call", default=False)
"""True while one of our spans covers a litellm call: litellm calling itself (or a
custom provider calling litellm) is part of that call, not a new one."""


class Switch:
    """On while one ``instrument()`` lasts; ``uninstrument()`` turns it off for good.

    Each entry-point wrapper is made with it as wrapt's ``enabled``: a wrapper somebody kept
    (``from litellm import acompletion`` while instrumented; litellm 1.102.4's ``Router``
    keeps the litellm functions of the moment in closures) then passes calls straight to
    litellm after ``uninstrument()``, as the restored module attribute does. A later
    ``instrument()`` makes new wrappers with a new switch: the kept ones stay off."""

    __slots__ = ("on",)

    def __init__(self) -> None:
        self.on = True

    def __bool__(self) -> bool:
        return self.on


_STREAM_TYPES: dict[tuple[type, bool], type | None] = {}


def _stream_class(result: Any, is_async: bool) -> type | None:
    """The traced-stream class for ``result`` if it is a stream (an iterator), else None;
    known per type: asking litellm's pydantic responses for a missing ``__next__`` raises
    and catches an AttributeError each time. The function's own kind first (litellm's
    streams are both iterators and async iterators), else what the stream is: litellm's
    sync ``google_genai.generate_content_stream`` can return an async generator, and so can
    the sync ``anthropic_messages_handler`` (a stream through its chat adapter)."""
    kind = type(result)
    key = (kind, is_async)
    if key in _STREAM_TYPES:
        return _STREAM_TYPES[key]
    is_sync_stream = hasattr(kind, "__next__")
    is_async_stream = hasattr(kind, "__anext__")
    if is_async_stream and (is_async or not is_sync_stream):
        known: type | None = AsyncTracedStream
    elif is_sync_stream:
        known = SyncTracedStream
    else:
        known = None
    _STREAM_TYPES[key] = known
    return known


def _needed(needed: Callable[[], bool]) -> bool:
    """``needed()``, guarded: if the check fails, the call is traced as usual."""
    try:
        return needed()
    except Exception:
        _logger.debug("litellm instrumentation: the provider check failed", exc_info=True)
        return True


def make_wrapper(
    entry: EntryPoint,
    handler: TelemetryHandler,
    names: tuple[str, ...],
    policy: ContentPolicy,
    metadata_keys: tuple[str, ...] = (),
    extras: CallExtras | None = None,
    needed: Callable[[], bool] | None = None,
    metrics_kept: Callable[[], bool] | None = None,
) -> Callable[..., Any]:
    """A wrapt wrapper for one entry point (sync or async, as the entry point says).

    ``names`` are the positional parameter names of the wrapped function;
    ``metadata_keys`` the request metadata keys to record (``litellm.metadata.<key>``);
    ``extras`` adds what ``instrument()`` options switched on (cost metric, OpenInference).
    ``needed`` (see ``_enabled``) says whether a call can produce telemetry at all; calls
    that cannot go straight to litellm. ``metrics_kept`` (``_enabled.MetricsKept``) says
    whether a metric point recorded now would be kept; None: always.
    """
    operation: Operation = entry.operation
    capture = handler.should_capture_content()
    # Without content capture or events the request's facts go to the span only (metrics
    # take none of them): a span that is not recorded (sampled out) needs none read.
    span_only = not capture and not events_requested()
    # ... and when metric points are dropped too, nothing would keep the response's facts.
    skip_unkept = span_only and metrics_kept is not None
    on_request = extras.on_request if extras is not None else None
    on_response = extras.on_response if extras is not None else None

    def start(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The call's started invocation (raises if there is none: the call goes untraced)."""
        call = call_arguments(names, args, kwargs)
        invocation = operation.start(handler, operation.name, call)
        try:
            if span_only and not invocation.span.is_recording():
                return invocation  # sampled out: only the response's metric facts matter
            operation.read_request(invocation, call)
            if metadata_keys:
                record_metadata(invocation.attributes, call, metadata_keys)
            if capture and operation.input_content is not None:
                operation.input_content(invocation, call, policy)
            if on_request is not None:
                on_request(invocation)
        except Exception:
            _logger.debug("litellm instrumentation: could not read the request", exc_info=True)
        return invocation

    def finish(invocation: Any, result: Any) -> Any:
        """A traced stream that ends the span itself, or ``result`` with its facts recorded
        (the caller then ends the span)."""
        # Sampled out with metric points dropped: no one reads the response's facts.
        unkept = skip_unkept and not invocation.span.is_recording() and not metrics_kept()
        stream_class = (
            None if operation.stream_state is None else _stream_class(result, entry.is_async)
        )
        if stream_class is not None:
            if unkept:  # still wrapped: the span is current while litellm makes a chunk
                return stream_class(result, invocation, policy, UNREAD)
            state = operation.stream_state(capture)
            return stream_class(result, invocation, policy, state, on_response)
        if unkept:
            return result
        operation.read_response(invocation, result)
        if capture and operation.output_content is not None:
            operation.output_content(invocation, result, policy)
        if on_response is not None:
            on_response(invocation)
        return result

    # The wrappers below are the boundary between the user's call and our code: every
    # step of ours they run is guarded, and the span is ended with util-genai's own
    # (idempotent) stop/fail, so whatever step fails, the user's call is unchanged and
    # the span ends exactly once.

    if entry.is_async:

        async def async_wrapper(
            wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any
        ) -> Any:
            if _INSIDE_CALL.get() or (needed is not None and not _needed(needed)):
                return await wrapped(*args, **kwargs)
            try:
                invocation = start(args, kwargs)
            except Exception:
                _logger.debug("litellm instrumentation: could not start a span", exc_info=True)
                return await wrapped(*args, **kwargs)
            token = _INSIDE_CALL.set(True)
            try:
                result = await wrapped(*args, **kwargs)
            except BaseException as error:
                try:
                    invocation.fail(error)
                except Exception:
                    _logger.debug("litellm instrumentation: could not end a span", exc_info=True)
                raise
            finally:
                _INSIDE_CALL.reset(token)
            traced = result
            try:
                traced = finish(invocation, result)
            except Exception:
                _logger.debug("litellm instrumentation: could not read the response", exc_info=True)
            if traced is result:
                try:
                    invocation.stop()
                except Exception:
                    _logger.debug("litellm instrumentation: could not end a span", exc_info=True)
            return traced

        return async_wrapper

    def sync_wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if _INSIDE_CALL.get() or (needed is not None and not _needed(needed)):
            return wrapped(*args, **kwargs)
        try:
            invocation = start(args, kwargs)
        except Exception:
            _logger.debug("litellm instrumentation: could not start a span", exc_info=True)
            return wrapped(*args, **kwargs)
        token = _INSIDE_CALL.set(True)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as error:
            try:
                invocation.fail(error)
            except Exception:
                _logger.debug("litellm instrumentation: could not end a span", exc_info=True)
            raise
        finally:
            _INSIDE_CALL.reset(token)
        traced = result
        try:
            traced = finish(invocation, result)
        except Exception:
            _logger.debug("litellm instrumentation: could not read the response", exc_info=True)
        if traced is result:
            try:
                invocation.stop()
            except Exception:
                _logger.debug("litellm instrumentation: could not end a span", exc_info=True)
        return traced

    return sync_wrapper
