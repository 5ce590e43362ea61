"""What each kind of litellm call is: its operation name and how to read it.

One ``Operation`` per kind of call binds the readers of ``_request``, ``_response``,
``_messages`` and ``_streams`` together; ``_entrypoints`` says which litellm
functions are which operation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry_instrumentation_litellm import _messages as messages
from opentelemetry_instrumentation_litellm import _request as request
from opentelemetry_instrumentation_litellm import _response as response
from opentelemetry_instrumentation_litellm._messages import ContentPolicy
from opentelemetry_instrumentation_litellm._response import field, finish_reason
from opentelemetry_instrumentation_litellm._streams import (
    AnthropicStreamState,
    ChatStreamState,
    ResponsesStreamState,
)

Reader = Callable[[Any, Any], None]
ContentReader = Callable[[Any, Any, ContentPolicy], None]


@dataclass(frozen=True)
class Operation:
    name: str
    """``gen_ai.operation.name``."""
    read_request: Reader
    read_response: Reader
    input_content: ContentReader | None = None
    output_content: ContentReader | None = None
    stream_state: Callable[[bool], Any] | None = None
    """Aggregator for the chunks of a streamed result (given: capture content?)."""
    embedding: bool = False
    """An embeddings call (util-genai's embedding invocation) rather than an inference."""


# --- content readers (only called with content capture on) --------------------------------


def _chat_input(invocation: Any, call: Mapping[str, Any], policy: ContentPolicy) -> None:
    invocation.input_messages = messages.input_messages(call.get("messages"), policy)
    tools = messages.tool_definitions(call.get("tools"))
    if tools:
        invocation.tool_definitions = tools


def _chat_output(invocation: Any, result: Any, policy: ContentPolicy) -> None:
    invocation.output_messages = [
        messages.output_message(
            field(choice, "message"),
            finish_reason(field(choice, "finish_reason")) or "stop",
            policy,
        )
        for choice in field(result, "choices") or ()
    ]


def _text_completion_input(invocation: Any, call: Mapping[str, Any], policy: ContentPolicy) -> None:
    invocation.input_messages = messages.text_messages("user", call.get("prompt"), policy)


def _text_completion_output(invocation: Any, result: Any, policy: ContentPolicy) -> None:
    invocation.output_messages = [
        messages.output_message(
            {"role": "assistant", "content": field(choice, "text")},
            finish_reason(field(choice, "finish_reason")) or "stop",
            policy,
        )
        for choice in field(result, "choices") or ()
    ]


def _responses_input(invocation: Any, call: Mapping[str, Any], policy: ContentPolicy) -> None:
    invocation.input_messages = messages.responses_input_messages(call.get("input"), policy)
    invocation.system_instruction = messages.system_instructions(call.get("instructions"), policy)
    tools = messages.tool_definitions(
        [
            {"type": "function", "function": t} if field(t, "type") == "function" else t
            for t in call.get("tools") or ()
        ]
    )
    if tools:
        invocation.tool_definitions = tools


def _responses_output(invocation: Any, result: Any, policy: ContentPolicy) -> None:
    reasons = invocation.finish_reasons or ["stop"]
    invocation.output_messages = messages.responses_output_messages(result, reasons[0], policy)


def _anthropic_input(invocation: Any, call: Mapping[str, Any], policy: ContentPolicy) -> None:
    invocation.input_messages = messages.anthropic_input_messages(call.get("messages"), policy)
    invocation.system_instruction = messages.system_instructions(call.get("system"), policy)
    tools = [
        {"type": "function", "function": {**t, "parameters": field(t, "input_schema")}}
        if field(t, "input_schema") is not None
        else t
        for t in call.get("tools") or ()
        if isinstance(t, Mapping)
    ]
    definitions = messages.tool_definitions(tools)
    if definitions:
        invocation.tool_definitions = definitions


def _anthropic_output(invocation: Any, result: Any, policy: ContentPolicy) -> None:
    reason = finish_reason(field(result, "stop_reason")) or "stop"
    invocation.output_messages = [
        messages.OutputMessage(
            role="assistant",
            parts=messages.anthropic_parts(field(result, "content"), policy),
            finish_reason=reason,
        )
    ]


def _prompt_input(key: str) -> ContentReader:
    def read(invocation: Any, call: Mapping[str, Any], policy: ContentPolicy) -> None:
        invocation.input_messages = messages.text_messages("user", call.get(key), policy)

    return read


def _image_output(invocation: Any, result: Any, policy: ContentPolicy) -> None:
    parts = []
    for image in field(result, "data") or ():
        url = field(image, "url")
        b64 = field(image, "b64_json")
        part = messages.media_part(
            url if isinstance(url, str) else f"data:image/png;base64,{b64}" if b64 else None,
            messages.Modality.IMAGE,
            policy,
        )
        if part is not None:
            parts.append(part)
    invocation.output_messages = [
        messages.OutputMessage(role="assistant", parts=parts, finish_reason="stop")
    ]


def _transcription_output(invocation: Any, result: Any, policy: ContentPolicy) -> None:
    text = field(result, "text")
    invocation.output_messages = [
        messages.output_message({"role": "assistant", "content": text}, "stop", policy)
    ]


# --- the operations ----------------------------------------------------------------------

CHAT = Operation(
    "chat",
    request.apply_chat_request,
    response.apply_chat_response,
    _chat_input,
    _chat_output,
    ChatStreamState,
)
TEXT_COMPLETION = Operation(
    "text_completion",
    request.apply_chat_request,
    response.apply_chat_response,
    _text_completion_input,
    _text_completion_output,
    ChatStreamState,
)
RESPONSES = Operation(
    "chat",
    request.apply_chat_request,
    response.apply_responses_response,
    _responses_input,
    _responses_output,
    ResponsesStreamState,
)
ANTHROPIC_MESSAGES = Operation(
    "chat",
    request.apply_anthropic_request,
    response.apply_anthropic_response,
    _anthropic_input,
    _anthropic_output,
    AnthropicStreamState,
)
EMBEDDINGS = Operation(
    "embeddings",
    request.apply_embedding_request,
    response.apply_embedding_response,
    embedding=True,
)
IMAGE_GENERATION = Operation(
    "generate_content",
    request.request_for_output("image"),
    response.apply_generic_response,
    _prompt_input("prompt"),
    _image_output,
)
SPEECH = Operation(
    "generate_content",
    request.request_for_output("speech"),
    response.apply_generic_response,
    _prompt_input("input"),
)
TRANSCRIPTION = Operation(
    "generate_content",
    request.request_for_output("text"),
    response.apply_generic_response,
    None,
    _transcription_output,
)
RERANK = Operation(
    "rerank",
    request.apply_litellm_request,
    response.apply_generic_response,
    _prompt_input("query"),
)
