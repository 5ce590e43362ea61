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
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry.util.genai.handler import TelemetryHandler

from opentelemetry_instrumentation_litellm._entrypoints import EntryPoint
from opentelemetry_instrumentation_litellm._lifecycle import fail, stop
from opentelemetry_instrumentation_litellm._messages import (
    ContentPolicy,
    input_messages,
    output_message,
    tool_definitions,
)
from opentelemetry_instrumentation_litellm._request import (
    apply_chat_request,
    call_arguments,
    positional_names,
    session_id,
    target,
)
from opentelemetry_instrumentation_litellm._response import apply_chat_response, finish_reason
from opentelemetry_instrumentation_litellm._streams import AsyncChatStream, SyncChatStream

_logger = logging.getLogger(__name__)


def _record_input_content(invocation: Any, call: Mapping[str, Any], policy: ContentPolicy) -> None:
    invocation.input_messages = input_messages(call.get("messages"), policy)
    tools = tool_definitions(call.get("tools"))
    if tools:
        invocation.tool_definitions = tools


def _record_output_content(invocation: Any, response: Any, policy: ContentPolicy) -> None:
    invocation.output_messages = [
        output_message(
            getattr(choice, "message", None),
            finish_reason(getattr(choice, "finish_reason", None)) or "stop",
            policy,
        )
        for choice in getattr(response, "choices", None) or ()
    ]


def make_wrapper(
    entry: EntryPoint,
    handler: TelemetryHandler,
    original: Callable[..., Any],
    policy: ContentPolicy,
) -> Callable[..., Any]:
    """A wrapt wrapper for ``original`` (sync or async, as the entry point says)."""
    from litellm import CustomStreamWrapper

    names = positional_names(original)
    operation = entry.operation
    stream_class = AsyncChatStream if entry.is_async else SyncChatStream

    def start(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            call = call_arguments(names, args, kwargs)
            provider, model, address, port = target(call)
            invocation = handler.inference(
                provider,
                request_model=model,
                server_address=address,
                server_port=port,
                operation_name=operation,
                conversation_id=session_id(call),
            )
        except Exception:
            _logger.debug("litellm instrumentation: could not start a span", exc_info=True)
            return None
        try:
            apply_chat_request(invocation, call)
            if invocation.should_capture_content:
                _record_input_content(invocation, call, policy)
        except Exception:
            _logger.debug("litellm instrumentation: could not read the request", exc_info=True)
        return invocation

    def finish(invocation: Any, result: Any) -> Any:
        if isinstance(result, CustomStreamWrapper):
            try:
                return stream_class(result, invocation, policy)
            except Exception:
                _logger.debug("litellm instrumentation: could not wrap a stream", exc_info=True)
                stop(invocation)
                return result
        try:
            apply_chat_response(invocation, result)
            if invocation.should_capture_content:
                _record_output_content(invocation, result, policy)
        except Exception:
            _logger.debug("litellm instrumentation: could not read the response", exc_info=True)
        stop(invocation)
        return result

    if entry.is_async:

        async def async_wrapper(
            wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any
        ) -> Any:
            invocation = start(args, kwargs)
            if invocation is None:
                return await wrapped(*args, **kwargs)
            try:
                result = await wrapped(*args, **kwargs)
            except BaseException as error:
                fail(invocation, error)
                raise
            return finish(invocation, result)

        return async_wrapper

    def sync_wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        invocation = start(args, kwargs)
        if invocation is None:
            return wrapped(*args, **kwargs)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as error:
            fail(invocation, error)
            raise
        return finish(invocation, result)

    return sync_wrapper
