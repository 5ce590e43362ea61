"""LiteLLM Proxy: the gateway's own work as spans under the request.

A proxied request's trace gets, besides the HTTP server span and the litellm call:

- the key check (``_user_api_key_auth_builder``, which the FastAPI dependency
  ``user_api_key_auth`` looks up at call time) and the pre-call and post-call hook phases
  (``ProxyLogging.pre_call_hook`` / ``post_call_success_hook``: rate limits, budgets,
  callbacks' hooks and the guardrails of those modes): by default their durations as
  attributes of the span current when they run, the request's server span
  (``litellm.proxy.auth.duration``, ...), as are the Router's (:func:`router_facts_span`); with
  phase spans switched on (:data:`PHASE_SPANS_VARIABLE`, ``instrument(proxy_phase_spans=True)``)
  a span each, ``proxy auth`` / ``proxy pre_call`` / ``proxy post_call`` (and the Router's
  ``router {group}``). Never the key or its hash.
- ``guardrail {name}``: one guardrail run, with its mode and outcome
  (:data:`~opentelemetry_instrumentation_litellm.attributes.LITELLM_GUARDRAIL_OUTCOME`).
  A pre-call guardrail is wrapped at ``ProxyLogging._execute_guardrail_hook``, the one
  place that runs one guardrail's pre-call hook (load-balanced or not); during-call and
  post-call guardrails at ``ProxyLogging._run_guardrail_with_metrics``, which awaits one
  guardrail's hook coroutine. During-call guardrails run concurrently with the model call:
  their spans overlap the litellm span, under the server span.
- ``guardrail {name}`` on a streamed answer: litellm checks it with one post-call layer
  per guardrail around the stream (``ProxyLogging._wrap_streaming_iterator_with_enrichment``;
  for ``apply_guardrail`` guardrails, ``UnifiedLLMGuardrails``'s
  ``async_post_call_streaming_iterator_hook``), one span per layer from the first chunk to
  the layer's end. A block litellm catches there
  and sends as an in-stream error (``handle_streaming_block`` / ``emit_streaming_http_error``)
  still ends the span as ``blocked``.
- ``guardrail pipeline {policy}``: a policy's guardrail pipeline
  (``PipelineExecutor.execute_steps``), over a ``guardrail {name}`` span per step
  (``PipelineExecutor._run_step``).

litellm has no public per-guardrail or auth seam, so these private functions are wrapped,
here and nowhere else; their names come from ``_upstream`` (the one door to private APIs),
where ``tests/test_upstream.py`` pins them. A litellm release without one of them loses that span
only (logged at debug level); nothing else changes. The wrapping is installed when
``litellm.proxy.proxy_server`` is imported (at once if it already is) and never imports
the proxy itself; :func:`disable` restores litellm's own functions.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from types import ModuleType
from typing import Any, Final

from opentelemetry import context
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.trace import (
    Span,
    SpanKind,
    Status,
    StatusCode,
    Tracer,
    get_current_span,
    set_span_in_context,
    use_span,
)
from opentelemetry.util.genai.utils import fq_exception_type
from wrapt import FunctionWrapper

from opentelemetry_instrumentation_litellm import attributes as attrs
from opentelemetry_instrumentation_litellm._response import field
from opentelemetry_instrumentation_litellm._shutdown import on_proxy_import
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
    PROXY_STREAMING_FLAG,
    PROXY_UNIFIED_GUARDRAIL,
    PROXY_UNIFIED_GUARDRAIL_MODULE,
    PROXY_UTILS_MODULE,
)

_logger = logging.getLogger(__name__)

_GUARDRAIL_MODULE: Final = "litellm.integrations.custom_guardrail"

PASSED: Final = "passed"
BLOCKED: Final = "blocked"
MODIFIED: Final = "modified"
FAILED: Final = "error"
"""Values of ``litellm.guardrail.outcome``: the guardrail let the text through unchanged,
rejected the request, rewrote its text, or failed (an error that is not a block)."""

REJECTED: Final = "litellm.RejectedRequestError"
"""``error.type`` of a pre-call guardrail that blocks by returning a message instead of
raising: litellm turns that message into the error it raises."""

_REQUEST_TEXT_KEYS: Final = ("messages", "input", "prompt", "system", "instructions")
"""Request body fields that hold what a guardrail reads and rewrites, on every route."""

_MAX_DEPTH: Final = 8

PHASE_SPANS_VARIABLE: Final = "OTEL_INSTRUMENTATION_LITELLM_PROXY_PHASE_SPANS"
"""``true`` (``1``, ``yes``, ``on``): the key check, the hook phases and the Router as spans of
their own instead of attributes of the server span; ``instrument(proxy_phase_spans=...)``
wins over it. Off by default: four more spans per request cost the proxy about 5% more CPU
(docs/performance.md)."""


@dataclass(frozen=True)
class _Settings:
    tracer: Tracer
    capture_content: Callable[[], bool]
    phase_spans: bool = False


_lock = threading.Lock()
_settings: _Settings | None = None
_originals: list[tuple[Any, str, Any]] = []
"""(owner, attribute, original value) of each wrapped function, to put back."""


# -- what a guardrail saw -------------------------------------------------------------


_SCALARS: Final = (int, float, bool, bytes, type(None))


def _collect(value: Any, out: list[str], depth: int) -> None:
    """Append the strings in ``value`` (dicts, lists, litellm's pydantic objects) to ``out``."""
    if isinstance(value, str):
        out.append(value)
        return
    if depth >= _MAX_DEPTH or isinstance(value, _SCALARS):
        return
    if isinstance(value, (list, tuple)):
        if value and isinstance(value[0], (int, float)):
            return  # vectors and token ids: no text, and long
        items: Any = value
    elif isinstance(value, Mapping):
        items = value.values()
    else:
        fields = getattr(value, "__dict__", None)  # pydantic responses
        if fields is None or isinstance(value, type):
            return
        items = fields.values()
    for item in items:
        if type(item) is str:
            out.append(item)
        elif not isinstance(item, _SCALARS):
            _collect(item, out, depth + 1)


def request_texts(data: Any) -> tuple[str, ...]:
    """The strings of a request body's message fields, in order."""
    out: list[str] = []
    if isinstance(data, Mapping):
        for key in _REQUEST_TEXT_KEYS:
            _collect(data.get(key), out, 0)
    return tuple(out)


def response_texts(response: Any) -> tuple[str, ...]:
    """The strings of a response object (litellm's pydantic types or a dict), in order."""
    out: list[str] = []
    _collect(response, out, 0)
    return tuple(out)


# -- spans ----------------------------------------------------------------------------


def _is_block(error: BaseException) -> bool:
    module = sys.modules.get(_GUARDRAIL_MODULE)
    is_intervention = getattr(module, "is_guardrail_intervention", None)
    if is_intervention is None or not isinstance(error, Exception):
        return False
    try:
        return bool(is_intervention(error))
    except Exception:
        return False


def _fail(span: Span, error_type: str, description: str | None, settings: _Settings) -> None:
    span.set_attribute(ERROR_TYPE, error_type)
    # An error's message may quote the user's text: content, so opt-in.
    span.set_status(Status(StatusCode.ERROR, description if settings.capture_content() else None))


def _start_guardrail(
    settings: _Settings, callback: Any, mode: Any, parent: context.Context | None = None
) -> Span:
    name = getattr(callback, "guardrail_name", None) or type(callback).__name__
    return _start_named(settings, name, mode, parent)


def _start_named(
    settings: _Settings, name: Any, mode: Any, parent: context.Context | None = None
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


def _end_guardrail(
    span: Span,
    settings: _Settings,
    before: tuple[str, ...] | None,
    texts: Callable[[Any], tuple[str, ...]] | None,
    result: Any = None,
    error: BaseException | None = None,
) -> None:
    try:
        if error is not None:
            blocked = _is_block(error)
            span.set_attribute(attrs.LITELLM_GUARDRAIL_OUTCOME, BLOCKED if blocked else FAILED)
            _fail(span, fq_exception_type(error), str(error), settings)
        elif isinstance(result, (str, Exception)):  # a pre-call hook's block: litellm raises it
            span.set_attribute(attrs.LITELLM_GUARDRAIL_OUTCOME, BLOCKED)
            error_type = fq_exception_type(result) if isinstance(result, Exception) else REJECTED
            _fail(span, error_type, str(result), settings)
        else:
            changed = before is not None and texts is not None and texts(result) != before
            span.set_attribute(attrs.LITELLM_GUARDRAIL_OUTCOME, MODIFIED if changed else PASSED)
    except Exception:
        _logger.debug("litellm instrumentation: guardrail span outcome", exc_info=True)
    finally:
        span.end()


def _argument(args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str) -> Any:
    return kwargs[name] if name in kwargs else args[index] if len(args) > index else None


_Texts = Callable[[Any], tuple[str, ...]]
"""Reads the texts a guardrail checks, before (given ``None``) or after it (given its result)."""
_Opened = tuple[Span, "tuple[str, ...] | None", "_Texts | None"]
"""A guardrail span, the texts before the guardrail ran, how to read them after."""


def _spanned(
    open_span: Callable[[_Settings, tuple[Any, ...], dict[str, Any]], _Opened],
    close_span: Callable[[Span, _Settings, Any, Any, Any], None],
) -> Callable[..., Any]:
    """A wrapper awaiting an async proxy function in the span ``open_span(settings, args,
    kwargs)`` starts; ``close_span(span, settings, result, before, texts)`` ends it from the
    result, an error ends it as the guardrail's error.

    The wrapper is the boundary between litellm and our code: every step of ours it runs is
    guarded, litellm's function runs once whatever fails, and the span ends exactly once."""

    async def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        settings = _settings
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
                _end_guardrail(span, settings, None, None, error=error)
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


def _open_guardrail(settings: _Settings, callback: Any, mode: Any, texts: _Texts | None) -> _Opened:
    """A ``guardrail {name}`` span, and the text the guardrail got (``texts(None)``)."""
    span = _start_guardrail(settings, callback, mode)
    before = None
    try:
        before = texts(None) if texts is not None else None
    except Exception:
        _logger.debug("litellm instrumentation: no guardrail text", exc_info=True)
    return span, before, texts


def _close_guardrail(span: Span, settings: _Settings, result: Any, before: Any, texts: Any) -> None:
    """``texts(result)``, the text after the guardrail, differs from ``before`` when it
    rewrote it."""
    _end_guardrail(span, settings, before, texts, result=result)


def _open_pre_call(settings: _Settings, args: Any, kwargs: Any) -> _Opened:
    """``ProxyLogging._execute_guardrail_hook(callback, hook_type, data, ...)``: one
    guardrail's pre-call hook. It may return the request, ``None`` (the request, changed in
    place or not) or a message or error that litellm raises."""
    data = _argument(args, kwargs, 2, "data")

    def texts(result: Any) -> tuple[str, ...]:
        return request_texts(result if isinstance(result, Mapping) else data)

    callback = _argument(args, kwargs, 0, "callback")
    return _open_guardrail(settings, callback, _argument(args, kwargs, 1, "hook_type"), texts)


def _hook_texts(coro: Any) -> _Texts | None:
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


def _open_with_metrics(settings: _Settings, args: Any, kwargs: Any) -> _Opened:
    """``ProxyLogging._run_guardrail_with_metrics(callback, coro, hook_type)``: one
    during-call or post-call guardrail's hook coroutine, not yet started."""
    texts = None
    try:
        texts = _hook_texts(_argument(args, kwargs, 1, "coro"))
    except Exception:
        _logger.debug("litellm instrumentation: no guardrail text", exc_info=True)
    callback = _argument(args, kwargs, 0, "callback")
    return _open_guardrail(settings, callback, _argument(args, kwargs, 2, "hook_type"), texts)


_pre_call_guardrail = _spanned(_open_pre_call, _close_guardrail)
_guardrail_with_metrics = _spanned(_open_with_metrics, _close_guardrail)


# -- guardrails on a streamed answer ----------------------------------------------------


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
    span: Span, settings: _Settings, check: _StreamCheck, error: BaseException | None
) -> None:
    if error is None:
        error = check.block
    if error is not None:
        _end_guardrail(span, settings, None, None, error=error)
    elif check.received is not None and check.sent is not None:
        before = ("".join(check.received),)
        after = ("".join(check.sent),)
        _end_guardrail(span, settings, before, lambda _result: after)
    else:
        _end_guardrail(span, settings, None, None)


async def _checked_stream(
    settings: _Settings, callback: Any, layer: Any, check: _StreamCheck, parent: context.Context
) -> Any:
    """``layer``'s chunks, unchanged, in one ``guardrail {name}`` span (mode ``post_call``)
    from the first chunk asked for to the layer's end. The span is current while the layer
    makes a chunk, and so is ``check``, for :func:`_note_stream_block`.

    The layers of one answer are nested iterators: each asks the one below for chunks. Their
    spans are siblings, children of ``parent``, what was current when the chain was built
    (the request), not of each other."""
    iterator: AsyncIterator[Any] = layer.__aiter__()
    span = span_context = None
    try:
        span = _start_guardrail(settings, callback, "post_call", parent)
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


def _unified_stream_hook(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """``UnifiedLLMGuardrails.async_post_call_streaming_iterator_hook(user_api_key_dict,
    response, request_data, guardrail_to_apply, ...)``: one ``apply_guardrail`` guardrail's
    check of a streamed answer. Its input is tapped, to tell a rewrite from a pass, when
    litellm would send a rewrite."""
    settings = _settings
    callback = check = None
    call_args, call_kwargs = args, kwargs
    if settings is not None:
        try:
            callback = _argument(args, kwargs, 3, "guardrail_to_apply")
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


def _stream_layer(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """``ProxyLogging._wrap_streaming_iterator_with_enrichment(callback, gen)``: one layer of
    a streamed answer's post-call chain. A guardrail's layer not already checked by
    :func:`_unified_stream_hook` (one overriding ``async_post_call_streaming_iterator_hook``)
    gets its span here: passed, or blocked by what it raises."""
    settings = _settings
    callback = layer = check = None
    if settings is not None:
        try:
            callback = _argument(args, kwargs, 0, "callback")
            layer = _argument(args, kwargs, 1, "gen")
            module = sys.modules.get(_GUARDRAIL_MODULE)
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


def _note_stream_block(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """``UnifiedLLMGuardrails.handle_streaming_block(exc, ...)`` /
    ``emit_streaming_http_error(exc, ...)``: litellm ends a streamed answer with a block
    message or an in-stream error instead of raising ``exc``; the check running is told."""
    try:
        check = _stream_check.get()
        if check is not None and check.block is None:
            error = _argument(args, kwargs, 0, "exc")
            if isinstance(error, BaseException):
                check.block = error
    except Exception:
        _logger.debug("litellm instrumentation: a streamed block not noted", exc_info=True)
    return wrapped(*args, **kwargs)


# -- guardrail pipelines ----------------------------------------------------------------

PIPELINE_BLOCK: Final = "fastapi.exceptions.HTTPException"
"""``error.type`` of a pipeline block with no guardrail exception to re-raise: litellm
raises an ``HTTPException`` naming the policy."""
PIPELINE_MODIFY_RESPONSE: Final = "litellm.exceptions.ModifyResponseException"
"""``error.type`` of a pipeline that ends in ``modify_response``: litellm answers with the
pipeline's message instead of the model's, by raising this."""
_STEP_OUTCOMES: Final = {"pass": PASSED, "fail": BLOCKED, "error": FAILED}


def _end_failed(span: Span, settings: _Settings, outcome: str, error: Any, fallback: str) -> None:
    span.set_attribute(attrs.LITELLM_GUARDRAIL_OUTCOME, outcome)
    if isinstance(error, BaseException):
        _fail(span, fq_exception_type(error), str(error), settings)
    else:
        _fail(span, fallback, None, settings)


def _step_texts(mode: Any, data: Any) -> _Texts:
    """What a pipeline step checks: the request, or (post-call) the response in ``data``."""
    if mode == "post_call":
        response = data.get("response")
        return lambda changed: response_texts((changed or {}).get("response", response))
    return lambda changed: request_texts({**data, **(changed or {})})


def _piped_texts(mode: Any, data: Any) -> tuple[tuple[str, ...] | None, _Texts | None]:
    """What a ``PipelineExecutor`` function's guardrails check before they run, and how to
    read it after."""
    if not isinstance(data, Mapping):
        return None, None
    texts = _step_texts(mode, data)
    return texts(None), texts


def _open_piped(
    start: Callable[[_Settings, Any, Any, Any], Span], settings: _Settings, args: Any, kwargs: Any
) -> _Opened:
    """A ``PipelineExecutor`` function ``(..., mode, data, ...)``: the span
    ``start(settings, mode, args, kwargs)`` starts, and what its guardrails check."""
    mode = _argument(args, kwargs, 1, "mode")
    span = start(settings, mode, args, kwargs)
    before = texts = None
    try:
        before, texts = _piped_texts(mode, _argument(args, kwargs, 2, "data"))
    except Exception:
        _logger.debug("litellm instrumentation: no guardrail text", exc_info=True)
    return span, before, texts


def _end_step(
    span: Span, settings: _Settings, result: Any, before: Any, texts: _Texts | None
) -> None:
    outcome, changed, _detail, error = result
    outcome = _STEP_OUTCOMES.get(outcome, FAILED)
    if outcome == PASSED:
        _end_guardrail(span, settings, before, texts, result=changed)
    else:
        _end_failed(span, settings, outcome, error, "_OTHER")
        span.end()


def _start_step(settings: _Settings, mode: Any, args: Any, kwargs: Any) -> Span:
    """``PipelineExecutor._run_step(step, mode, data, ...)``: one step's guardrail, in a
    ``guardrail {name}`` span; the step returns its outcome instead of raising."""
    step = _argument(args, kwargs, 0, "step")
    return _start_named(settings, getattr(step, "guardrail", None), mode)


def _end_pipeline(
    span: Span, settings: _Settings, result: Any, before: Any, texts: _Texts | None
) -> None:
    action = getattr(result, "terminal_action", None)
    if action == "allow":
        _end_guardrail(span, settings, before, texts, result=getattr(result, "modified_data", None))
        return
    fallback = PIPELINE_MODIFY_RESPONSE if action == "modify_response" else PIPELINE_BLOCK
    _end_failed(span, settings, BLOCKED, getattr(result, "original_exception", None), fallback)
    span.end()


def _start_pipeline(settings: _Settings, mode: Any, args: Any, kwargs: Any) -> Span:
    """``PipelineExecutor.execute_steps(steps, mode, data, user_api_key_dict, call_type,
    policy_name, ...)``: one policy's pipeline, in a ``guardrail pipeline {policy}`` span over
    its steps' spans. Its outcome is the pipeline's decision: ``allow`` is ``passed``, or
    ``modified`` when it hands on a changed text; ``block`` and ``modify_response`` are
    ``blocked``."""
    policy = str(_argument(args, kwargs, 5, "policy_name"))
    return settings.tracer.start_span(
        f"guardrail pipeline {policy}",
        kind=SpanKind.INTERNAL,
        attributes={
            attrs.LITELLM_GUARDRAIL_POLICY: policy,
            attrs.LITELLM_GUARDRAIL_MODE: str(getattr(mode, "value", mode)),
        },
    )


_pipeline_step = _spanned(partial(_open_piped, _start_step), _end_step)
_pipeline = _spanned(partial(_open_piped, _start_pipeline), _end_pipeline)


class _ProxyRequest:
    """A proxied request as its key check and hook phases saw it: its server span (current
    when they run), and whether a Router call has put its facts on that span."""

    __slots__ = ("router_facts", "span")

    def __init__(self, span: Span) -> None:
        self.span = span
        self.router_facts = False


_proxy_request: ContextVar[_ProxyRequest | None] = ContextVar("litellm_proxy_request", default=None)
"""Set by the key check and the hook phases (not reset: they run in the request's own task,
before its model call). Tasks started during the request copy it, and a request task may
inherit it from an earlier one on the same connection: :func:`router_facts_span` therefore
also requires its span to be the current span and recording."""


def _mark_request(span: Span) -> None:
    request = _proxy_request.get()
    if request is None or request.span is not span:
        _proxy_request.set(_ProxyRequest(span))


def _make_phase(name: str, attribute: str, *, describe_errors: bool) -> Callable[..., Any]:
    """A wrapper timing an async proxy function: ``attribute`` on the current span, or with
    phase spans switched on a span named ``name``."""

    async def phase(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        settings = _settings
        if settings is not None and not settings.phase_spans:
            # timed on the current span (the request's server span), also when it raises;
            # inline, not in a helper of ours that awaits litellm's function
            server = get_current_span()
            if not server.is_recording():
                return await wrapped(*args, **kwargs)
            try:
                _mark_request(server)
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
                _fail(span, fq_exception_type(error), description, settings)
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

_auth = _make_phase(AUTH_SPAN, attrs.LITELLM_PROXY_AUTH_DURATION, describe_errors=False)
_pre_call = _make_phase(PRE_CALL_SPAN, attrs.LITELLM_PROXY_PRE_CALL_DURATION, describe_errors=True)
_post_call = _make_phase(
    POST_CALL_SPAN, attrs.LITELLM_PROXY_POST_CALL_DURATION, describe_errors=True
)

_WRAPPERS: Final = (
    (PROXY_AUTH_MODULE, None, PROXY_AUTH_BUILDER, _auth),
    (PROXY_UTILS_MODULE, "ProxyLogging", "pre_call_hook", _pre_call),
    (PROXY_UTILS_MODULE, "ProxyLogging", "post_call_success_hook", _post_call),
    (PROXY_UTILS_MODULE, "ProxyLogging", PROXY_PRE_CALL_GUARDRAIL, _pre_call_guardrail),
    (PROXY_UTILS_MODULE, "ProxyLogging", PROXY_GUARDRAIL_WITH_METRICS, _guardrail_with_metrics),
    (PROXY_UTILS_MODULE, "ProxyLogging", PROXY_STREAM_LAYER, _stream_layer),
    (
        PROXY_UNIFIED_GUARDRAIL_MODULE,
        PROXY_UNIFIED_GUARDRAIL,
        "async_post_call_streaming_iterator_hook",
        _unified_stream_hook,
    ),
    *(
        (PROXY_UNIFIED_GUARDRAIL_MODULE, PROXY_UNIFIED_GUARDRAIL, name, _note_stream_block)
        for name in PROXY_STREAM_BLOCK_HANDLERS
    ),
    (PROXY_PIPELINE_MODULE, PROXY_PIPELINE_EXECUTOR, PROXY_PIPELINE_RUN, _pipeline),
    (PROXY_PIPELINE_MODULE, PROXY_PIPELINE_EXECUTOR, PROXY_PIPELINE_STEP, _pipeline_step),
)
"""(module, class or None, function, wrapper): what is wrapped."""


# -- enabling -------------------------------------------------------------------------


def _wrap(server: ModuleType) -> None:
    """The post-import hook of ``litellm.proxy.proxy_server``: wrap what it uses."""
    with _lock:
        if _settings is None or _originals:
            return
        for module_name, class_name, name, wrapper in _WRAPPERS:
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


def router_facts_span() -> Span | None:
    """The span a ``litellm.Router`` call puts its facts on instead of a span of its own, or
    ``None`` (a router span): without phase spans, the server span of the proxied request
    the call serves (its key check or hook phases ran in this task), for the request's first
    Router call made directly under it while it records. Other Router calls (a guardrail's,
    under its guardrail span; a second one in the request; one from a task outliving the
    request) get their router span. Merely importing litellm's proxy server (litellm's own
    ``otel`` callback does) changes nothing."""
    settings = _settings
    request = _proxy_request.get()
    if settings is None or settings.phase_spans or request is None or request.router_facts:
        return None
    span = get_current_span()
    if span is not request.span or not span.is_recording():
        return None
    request.router_facts = True
    return span


def enable(
    tracer: Tracer, capture_content: Callable[[], bool], *, phase_spans: bool = False
) -> None:
    """Trace the proxy's auth, hook phases and guardrails, now or once the proxy loads;
    ``phase_spans``: the auth and phases as spans, not as server span attributes."""
    global _settings
    with _lock:
        _settings = _Settings(tracer, capture_content, phase_spans)
    on_proxy_import(_wrap)


def disable() -> None:
    """Put litellm's own functions back."""
    global _settings
    with _lock:
        _settings = None
        while _originals:
            owner, name, original = _originals.pop()
            current = vars(owner).get(name)
            if isinstance(current, FunctionWrapper) and current.__wrapped__ is original:
                setattr(owner, name, original)
