"""Streamed chat completions: one span per stream, ended exactly once.

The stream handed back to the user is litellm's own ``CustomStreamWrapper``
behind a transparent proxy (``isinstance`` still holds, attributes forward, it
stays lazy). The span ends on exhaustion, on ``close()``/``aclose()`` or a
``with`` block's exit, when the provider fails mid-stream, and, for a stream that
is dropped unfinished, when it is garbage collected. A stream that stops before
the provider finished is recorded as failed, with finish reason ``error``.

While the stream is read, only what the span needs is kept: ids, finish reasons,
usage and tool-call names, plus the text itself only when content capture is on.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from types import TracebackType
from typing import Any, Literal, Protocol

from opentelemetry.context import Context, attach, detach, get_current
from opentelemetry.util.genai.stream import (
    AbandonedStreamError,
    AsyncStreamWrapper,
    SyncStreamWrapper,
)
from opentelemetry.util.genai.types import Error, OutputMessage

from opentelemetry_instrumentation_litellm import _upstream
from opentelemetry_instrumentation_litellm import attributes as attrs
from opentelemetry_instrumentation_litellm._messages import (
    ContentPolicy,
    anthropic_parts,
    get,
    output_message,
    responses_output_messages,
)
from opentelemetry_instrumentation_litellm._response import (
    _class_has,
    apply_anthropic_identity,
    apply_hidden_params,
    apply_responses_response,
    apply_usage,
    field,
    finish_reason,
    price_tokens,
)

_logger = logging.getLogger(__name__)


class _ToolCall:
    __slots__ = ("arguments", "id", "name")

    def __init__(self) -> None:
        self.id: str | None = None
        self.name: str | None = None
        self.arguments: list[str] = []

    @property
    def as_message(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "function": {"name": self.name, "arguments": "".join(self.arguments)},
        }


class _Choice:
    __slots__ = ("finish_reason", "reasoning", "role", "text", "tool_calls")

    def __init__(self) -> None:
        self.finish_reason: str | None = None
        self.role: str | None = None
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.tool_calls: dict[int, _ToolCall] = {}


def _counts_tokens(usage: Any) -> bool:
    """Whether a stream chunk's usage counts any tokens. litellm puts an all-zero usage on
    every chunk of a stream the provider sent none for (text completions without
    ``stream_options.include_usage``): zero from a stream is unknown, not zero."""
    if usage is None:
        return False
    return bool(field(usage, "prompt_tokens") or field(usage, "completion_tokens"))


def _chunk_parts(chunk: Any) -> tuple[Any, Any]:
    """A chat chunk's usage and choices, as :func:`field` reads them, in one go for litellm's
    chunks: pydantic models with the choices in ``__dict__`` and the usage, on the one chunk
    that has it, in ``__pydantic_extra__``."""
    values = getattr(chunk, "__dict__", None)
    extra = getattr(chunk, "__pydantic_extra__", None)
    if values is None or extra is None or "choices" not in values or "usage" in values:
        return field(chunk, "usage"), field(chunk, "choices")
    usage = extra.get("usage")
    if usage is None and "usage" not in extra and _class_has(type(chunk), "usage"):
        usage = getattr(chunk, "usage", None)
    return usage, values["choices"]


def _choice_parts(choice: Any) -> tuple[Any, Any, Any]:
    """A streamed choice's index, finish reason and delta, as :func:`field` reads them, in one
    go for litellm's choices: pydantic models that keep all three in ``__pydantic_extra__``."""
    extra = getattr(choice, "__pydantic_extra__", None)
    if extra and not getattr(choice, "__dict__", True):
        try:
            return extra["index"], extra["finish_reason"], extra["delta"]
        except KeyError:
            pass
    return field(choice, "index"), field(choice, "finish_reason"), field(choice, "delta")


class ChatStreamState:
    """What a chat stream's chunks add up to, for the span."""

    __slots__ = ("capture", "choices", "response_id", "response_model", "usage")

    def __init__(self, capture: bool) -> None:
        self.capture = capture
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.usage: Any = None
        self.choices: dict[int, _Choice] = {}

    @property
    def complete(self) -> bool:
        """True once the provider has said every choice is finished."""
        return bool(self.choices) and all(c.finish_reason for c in self.choices.values())

    def add(self, chunk: Any) -> None:
        # Per chunk, only what the span records with the current settings: the id and model
        # until known, usage (one chunk has it), each choice's finish reason and tool-call
        # names; the text, roles, tool-call ids and arguments only with content capture.
        if self.response_id is None:
            self.response_id = field(chunk, "id")
        if self.response_model is None:
            self.response_model = field(chunk, "model") or None
        usage, delta_choices = _chunk_parts(chunk)
        if usage is not None and (self.usage is None or _counts_tokens(usage)):
            self.usage = usage
        for delta_choice in delta_choices or ():
            index, reason, delta = _choice_parts(delta_choice)
            index = index or 0
            choice = self.choices.get(index)
            if choice is None:
                choice = self.choices[index] = _Choice()
            if reason:
                choice.finish_reason = finish_reason(reason) or choice.finish_reason
            if delta is None:
                if self.capture:  # text_completion streams: choices carry `text`
                    text = field(delta_choice, "text")
                    if text:
                        choice.text.append(text)
                continue
            tool_deltas = field(delta, "tool_calls")
            if tool_deltas:
                self._add_tool_calls(choice, tool_deltas)
            if self.capture:
                self._add_content(choice, delta)

    def _add_tool_calls(self, choice: _Choice, tool_deltas: Any) -> None:
        for position, tool_delta in enumerate(tool_deltas):
            index = get(tool_delta, "index")
            if not isinstance(index, int):
                index = position
            call = choice.tool_calls.get(index)
            if call is None:
                call = choice.tool_calls[index] = _ToolCall()
            if call.name is not None and not self.capture:
                continue  # the name is known; ids and arguments go with the content only
            function = get(tool_delta, "function")
            if call.name is None:
                call.name = get(function, "name") or None
            if self.capture:
                call_id = get(tool_delta, "id")
                if call_id:
                    call.id = call_id
                arguments = get(function, "arguments")
                if arguments:
                    call.arguments.append(arguments)

    @staticmethod
    def _add_content(choice: _Choice, delta: Any) -> None:
        role = field(delta, "role")
        if role:
            choice.role = role
        content = field(delta, "content")
        if content:
            choice.text.append(content)
        reasoning = field(delta, "reasoning_content")
        if reasoning:
            choice.reasoning.append(reasoning)

    def apply(
        self,
        invocation: Any,
        stream: Any,
        policy: ContentPolicy,
        error: BaseException | None,
    ) -> None:
        if self.response_id:
            invocation.response_id = self.response_id
        # litellm rewrites each chunk's model to the requested one; the model the
        # provider reported is kept on the stream (litellm >= 1.80).
        response_model = _upstream.provider_response_model(stream)
        if response_model or self.response_model:
            invocation.response_model_name = response_model or self.response_model
        choices = [self.choices[i] for i in sorted(self.choices)]
        reasons = (
            [c.finish_reason or "error" for c in choices]
            if error
            else [c.finish_reason for c in choices if c.finish_reason]
        )
        if error and not reasons:
            reasons = ["error"]
        if reasons:
            invocation.finish_reasons = reasons
        tool_names = [
            call.name for c in choices for _, call in sorted(c.tool_calls.items()) if call.name
        ]
        if tool_names:
            invocation.attributes[attrs.LITELLM_RESPONSE_TOOL_NAMES] = tool_names
        if _counts_tokens(self.usage):
            apply_usage(invocation, self.usage)
        apply_hidden_params(invocation, stream, cost=False)
        cost = getattr(self.usage, "cost", None)
        if isinstance(cost, (int, float)) and not isinstance(cost, bool):
            invocation.attributes[attrs.LITELLM_RESPONSE_COST] = float(cost)
        if self.capture:
            invocation.output_messages = [self._output_message(c, policy, error) for c in choices]

    @staticmethod
    def _output_message(
        choice: _Choice, policy: ContentPolicy, error: BaseException | None
    ) -> OutputMessage:
        message = {
            "role": choice.role or "assistant",
            "content": "".join(choice.text) or None,
            "reasoning_content": "".join(choice.reasoning) or None,
            "tool_calls": [call.as_message for _, call in sorted(choice.tool_calls.items())],
        }
        reason = choice.finish_reason or ("error" if error else "stop")
        return output_message(message, reason, policy)


class StreamState(Protocol):
    """What a stream's chunks add up to; one implementation per stream format."""

    @property
    def complete(self) -> bool: ...

    def add(self, chunk: Any) -> None: ...

    def apply(
        self, invocation: Any, stream: Any, policy: ContentPolicy, error: BaseException | None
    ) -> None: ...


class UnreadStreamState:
    """A stream whose chunks no one would record (sampled out, metric points dropped): none
    is read. Stream-end bookkeeping stays util-genai's (the span ends exactly once)."""

    __slots__ = ()

    complete = False
    """Unknown: a stream closed early ends as a failure, one read to the end as a success."""

    def add(self, chunk: Any) -> None:
        pass

    def apply(
        self, invocation: Any, stream: Any, policy: ContentPolicy, error: BaseException | None
    ) -> None:
        pass


UNREAD = UnreadStreamState()


_RESPONSES_FINAL_EVENTS = ("response.completed", "response.incomplete", "response.failed")


class ResponsesStreamState:
    """OpenAI Responses API events: the final event carries the whole response."""

    __slots__ = ("capture", "final", "started")

    def __init__(self, capture: bool) -> None:
        self.capture = capture
        self.started: Any = None
        self.final: Any = None

    @property
    def complete(self) -> bool:
        return self.final is not None

    def add(self, event: Any) -> None:
        kind = field(event, "type")
        if kind == "response.created":
            self.started = field(event, "response")
        elif kind in _RESPONSES_FINAL_EVENTS:
            self.final = field(event, "response")

    def apply(
        self, invocation: Any, stream: Any, policy: ContentPolicy, error: BaseException | None
    ) -> None:
        if self.final is not None:
            apply_responses_response(invocation, self.final)
            if self.capture:
                reasons = invocation.finish_reasons or ["stop"]
                invocation.output_messages = responses_output_messages(
                    self.final, reasons[0], policy
                )
        elif self.started is not None:
            response_id = field(self.started, "id")
            if isinstance(response_id, str):
                invocation.response_id = response_id
        if error is not None:
            invocation.finish_reasons = ["error"]


def sse_events(chunk: Any) -> list[Any]:
    """A stream chunk as events: a dict as is; SSE bytes or text (what litellm passes through
    from some providers) as the JSON of each ``data:`` line (lines that do not parse: none)."""
    if isinstance(chunk, (bytes, bytearray)):
        chunk = chunk.decode("utf-8", "replace")
    if not isinstance(chunk, str):
        return [chunk]
    events = []
    for line in chunk.splitlines():
        if line.startswith("data:"):
            try:
                events.append(json.loads(line[5:]))
            except ValueError:
                continue
    return events


_SKIPPED_DELTAS = (b'data: {"type":"content_block_delta"', b'data: {"type": "content_block_delta"')
"""How a text or argument delta's SSE line starts (Anthropic's compact JSON, and Python's):
without content capture nothing in it is recorded, so it is not parsed."""


_UNFINISHED = "stream ended before the provider finished the message"


class _Block:
    """One content block of a streamed Anthropic message (its pieces only with capture)."""

    __slots__ = ("id", "kind", "name", "pieces")

    def __init__(self, kind: Any, block_id: Any, name: Any) -> None:
        self.kind = kind
        self.id = block_id
        self.name = name
        self.pieces: list[str] = []

    def as_content(self) -> dict[str, Any]:
        """The block as a non-streamed message's content block."""
        text = "".join(self.pieces)
        if self.kind == "tool_use":
            try:
                arguments = json.loads(text) if text else {}
            except ValueError:
                arguments = text  # cut short: the pieces as they came
            return {"type": "tool_use", "id": self.id, "name": self.name, "input": arguments}
        if self.kind in ("thinking", "redacted_thinking"):
            return {"type": "thinking", "thinking": text}
        return {"type": "text", "text": text}


class AnthropicStreamState:
    """Anthropic Messages stream events: dicts, or the SSE bytes litellm passes through.

    The bytes are the provider's transport chunks: one event may span two chunks and one
    chunk may hold several events, so lines are cut at newlines across chunks. Read:
    ``message_start`` (id, model, input and cache tokens), ``content_block_start`` (tool
    names), ``message_delta`` (stop reason, output tokens), ``error``; the deltas (text,
    tool arguments, thinking) only with content capture.
    """

    __slots__ = ("_pending", "blocks", "capture", "failure", "message", "reason", "usage")

    def __init__(self, capture: bool) -> None:
        self.capture = capture
        self.message: Any = None
        self.reason: str | None = None
        self.usage: dict[str, Any] = {}
        self.blocks: dict[int, _Block] = {}
        self.failure: Error | None = None
        """Why a stream that ended without an exception failed: its ``error`` event (the
        provider's, or litellm's for a stream cut short), or no ``message_delta`` at all."""
        self._pending = b""

    @property
    def complete(self) -> bool:
        return self.reason is not None

    @property
    def tool_names(self) -> list[str]:
        return [b.name for _, b in sorted(self.blocks.items()) if b.kind == "tool_use" and b.name]

    def add(self, chunk: Any) -> None:
        if isinstance(chunk, str):
            chunk = chunk.encode()
        if not isinstance(chunk, (bytes, bytearray)):
            self._event(chunk)
            return
        lines = (self._pending + chunk if self._pending else bytes(chunk)).split(b"\n")
        self._pending = lines.pop()  # the start of a line the next chunk ends
        for line in lines:
            self._line(line)

    def _line(self, line: bytes) -> None:
        if not line.startswith(b"data:") or (not self.capture and line.startswith(_SKIPPED_DELTAS)):
            return
        try:
            event = json.loads(line[5:])
        except ValueError:
            return
        self._event(event)

    def _event(self, event: Any) -> None:
        kind = field(event, "type")
        if kind == "content_block_delta":
            if self.capture:
                block = self.blocks.get(field(event, "index") or 0)
                delta = field(event, "delta")
                piece = (
                    field(delta, "text") or field(delta, "partial_json") or field(delta, "thinking")
                )
                if block is not None and isinstance(piece, str):
                    block.pieces.append(piece)
        elif kind == "content_block_start":
            block = field(event, "content_block")
            index = field(event, "index")
            self.blocks[index if isinstance(index, int) else len(self.blocks)] = _Block(
                field(block, "type"), field(block, "id"), field(block, "name")
            )
        elif kind == "message_start":
            self.message = field(event, "message")
            self.usage.update(field(self.message, "usage") or {})
        elif kind == "message_delta":
            self.reason = finish_reason(field(field(event, "delta"), "stop_reason")) or "stop"
            self.usage.update(
                {k: v for k, v in (field(event, "usage") or {}).items() if v is not None}
            )
        elif kind == "error":
            error = field(event, "error")
            error_type = field(error, "type")
            message = field(error, "message")
            self.failure = Error(
                message=message if isinstance(message, str) else None,
                type=error_type if isinstance(error_type, str) and error_type else "_OTHER",
            )

    def apply(
        self, invocation: Any, stream: Any, policy: ContentPolicy, error: BaseException | None
    ) -> None:
        if self._pending:  # a last line without its newline
            self._line(self._pending)
            self._pending = b""
        if error is None and self.reason is None and self.failure is None:
            # ended, but the provider never finished the message (litellm's direct Anthropic
            # stream just stops): a failure, as for a stream dropped early
            self.failure = Error(message=_UNFINISHED, type="_OTHER")
        if self.message is not None:
            apply_anthropic_identity(invocation, self.message)
        apply_usage(invocation, self.usage)
        apply_hidden_params(invocation, stream, cost=False)
        price_tokens(invocation)
        tool_names = self.tool_names
        if tool_names:
            invocation.attributes[attrs.LITELLM_RESPONSE_TOOL_NAMES] = tool_names
        reason = "error" if error is not None or self.failure is not None else self.reason
        if reason:
            invocation.finish_reasons = [reason]
        if self.capture:
            content = [block.as_content() for _, block in sorted(self.blocks.items())]
            invocation.output_messages = [
                OutputMessage(
                    role="assistant",
                    parts=anthropic_parts(content, policy),
                    finish_reason=reason or "error",
                )
            ]


def _provider_closer(stream: Any, names: tuple[str, ...]) -> Any:
    """The first of ``names`` callable on litellm's stream, else on what it reads from."""
    for target in (stream, _upstream.provider_stream(stream)):
        for name in names:
            close = getattr(target, name, None)
            if callable(close):
                return close
    return None


def _close_provider_stream(stream: Any) -> None:
    """Best-effort close of what litellm reads from (litellm's stream has no ``close``)."""
    close = _provider_closer(stream, ("close",))
    try:
        if close is not None:
            close()
    except Exception:
        _logger.debug("litellm instrumentation: closing a stream failed", exc_info=True)


async def _aclose_provider_stream(stream: Any) -> None:
    """Best-effort async close: litellm's own ``aclose`` (not in every release), else what it
    reads from."""
    close = _provider_closer(stream, ("aclose", "close"))
    try:
        result = close() if close is not None else None
        if inspect.isawaitable(result):
            await result
    except Exception:
        _logger.debug("litellm instrumentation: closing a stream failed", exc_info=True)


class _Activation:
    """The invocation's context current for one read or cleanup step of its stream, the
    context before it back afterwards, also when the step raises: what util-genai's
    ``invocation.activate()`` does, without a generator-based context manager per chunk."""

    __slots__ = ("_context", "_token")

    def __init__(self, context: Context) -> None:
        self._context = context

    def __enter__(self) -> None:
        self._token = attach(self._context)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        detach(self._token)


_UNSCOPED = nullcontext()
"""For a stream whose invocation is not (or no longer) made current around its reads."""


class _TracedStream:
    """Telemetry hooks shared by the sync and async stream wrappers."""

    _self_invocation: Any
    _self_state: StreamState
    _self_policy: ContentPolicy
    _self_on_response: Callable[[Any], None] | None
    _self_context: Context | None
    _self_finalized: bool
    __wrapped__: Any

    def __init__(
        self,
        stream: Any,
        invocation: Any,
        policy: ContentPolicy,
        state: StreamState,
        on_response: Callable[[Any], None] | None = None,
    ) -> None:
        super().__init__(stream, invocation)  # util-genai's Sync/AsyncStreamWrapper
        self._self_state = state
        self._self_policy = policy
        self._self_on_response = on_response  # CallExtras.on_response
        # The caller gets control back: the span is current again only while litellm
        # produces a chunk or the stream is closed (``_execution_context``). An invocation
        # that never attached its context (util-genai's suppressed nested inference) leaves
        # the context alone: ``suspend()`` then restores nothing.
        attached = get_current()
        invocation.suspend()
        self._self_context = invocation.context if get_current() is not attached else None

    def _execution_context(self) -> AbstractContextManager[None]:
        # util-genai's hook around each read of a chunk (and its own cleanup steps), so per
        # chunk and kept cheap: its default builds ``invocation.activate()`` each time. The
        # same scoping, with the context read once: the invocation's context does not change
        # until it ends, and once the stream is finalized the invocation has ended
        # (``activate()`` is then a no-op). Only util-genai calls it: our own close and exit
        # methods use util-genai's default (once per stream), so this stays a boundary whose
        # one step of ours is guarded.
        context = self._self_context
        if context is None or self._self_finalized:
            return _UNSCOPED
        try:
            return _Activation(context)
        except Exception:
            _logger.debug("litellm instrumentation: could not scope a stream read", exc_info=True)
            return _UNSCOPED

    def __del__(self) -> None:
        # util-genai's finalizer asks the proxy for its state, which recurses without end
        # on a wrapper whose __init__ never ran (it failed): there is nothing to finish.
        try:
            object.__getattribute__(self, "_self_finalized")
        except AttributeError:
            return
        super().__del__()  # type: ignore[misc]

    def _process_chunk(self, chunk: Any) -> None:
        try:
            self._self_state.add(chunk)
        except Exception:
            _logger.debug("litellm instrumentation: could not read a chunk", exc_info=True)

    # util-genai calls the hooks above and below, the user calls close/aclose and the
    # context manager methods: those are the boundary, where every step of ours is
    # guarded and the span is ended by util-genai's own (idempotent) stop/fail or
    # finalization, so no failing step of ours reaches the user or leaves the span open.

    def _record_outcome(self, error: BaseException | None) -> None:
        """What the chunks added up to, onto the invocation (the span is still open).
        A step: the hooks below guard it, then end the span themselves."""
        invocation = self._self_invocation
        self._self_state.apply(invocation, self.__wrapped__, self._self_policy, error)
        if self._self_on_response is not None:
            self._self_on_response(invocation)

    def _on_stream_end(self) -> None:
        invocation = self._self_invocation
        try:
            self._record_outcome(None)
        except Exception:
            _logger.debug("litellm instrumentation: could not read a stream", exc_info=True)
        # A stream can end on an error event rather than an exception (Anthropic's).
        failure = getattr(self._self_state, "failure", None)
        try:
            if failure is None:
                invocation.stop()
            else:
                invocation.fail(failure)
        except Exception:
            _logger.debug("litellm instrumentation: could not end a span", exc_info=True)

    def _on_stream_error(self, error: BaseException) -> None:
        invocation = self._self_invocation
        try:
            self._record_outcome(error)
        except Exception:
            _logger.debug("litellm instrumentation: could not read a stream", exc_info=True)
        try:
            invocation.fail(error)
        except Exception:
            _logger.debug("litellm instrumentation: could not end a span", exc_info=True)


class SyncTracedStream(_TracedStream, SyncStreamWrapper[Any]):
    """A stream a sync litellm function returned (``completion(..., stream=True)``), traced."""

    def close(self) -> None:
        with SyncStreamWrapper._execution_context(self):
            try:
                _close_provider_stream(self.__wrapped__)
            except Exception:
                _logger.debug("litellm instrumentation: could not close a stream", exc_info=True)
            # A success only if the provider had finished; otherwise (or if reading the
            # state fails) a failure. Finalizing is once only: the second is a no-op.
            try:
                if self._self_state.complete:
                    self._finalize_success()
            except Exception:
                _logger.debug("litellm instrumentation: could not read a stream", exc_info=True)
            self._finalize_failure(AbandonedStreamError("stream closed before completion"))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> Literal[False]:
        if exc_val is None:
            self.close()
            return False
        with SyncStreamWrapper._execution_context(self):
            self._finalize_failure(exc_val)
            try:
                _close_provider_stream(self.__wrapped__)
            except Exception:
                _logger.debug("litellm instrumentation: could not close a stream", exc_info=True)
        return False


class AsyncTracedStream(_TracedStream, AsyncStreamWrapper[Any]):
    """A stream an async litellm function returned (``acompletion(..., stream=True)``), traced."""

    async def aclose(self) -> None:
        with AsyncStreamWrapper._execution_context(self):
            own_aclose = getattr(self.__wrapped__, "aclose", None)
            if own_aclose is None:  # litellm < 1.80 has none: close what it reads from
                try:
                    await _aclose_provider_stream(self.__wrapped__)
                except Exception:
                    _logger.debug(
                        "litellm instrumentation: could not close a stream", exc_info=True
                    )
            else:
                try:
                    await own_aclose()
                except BaseException as error:
                    self._finalize_failure(error)
                    raise
            # A success only if the provider had finished; otherwise (or if reading the
            # state fails) a failure. Finalizing is once only: the second is a no-op.
            try:
                if self._self_state.complete:
                    self._finalize_success()
            except Exception:
                _logger.debug("litellm instrumentation: could not read a stream", exc_info=True)
            self._finalize_failure(AbandonedStreamError("stream closed before completion"))

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> Literal[False]:
        if exc_val is None:
            await self.aclose()
            return False
        with AsyncStreamWrapper._execution_context(self):
            self._finalize_failure(exc_val)
            try:
                await _aclose_provider_stream(self.__wrapped__)
            except Exception:
                _logger.debug("litellm instrumentation: could not close a stream", exc_info=True)
        return False
