"""What each kind of litellm call is: its operation name and how to read it.

One ``Operation`` per kind of call binds the readers of ``_request``, ``_response``,
``_messages`` and ``_streams`` together, and says which util-genai invocation it starts
(inference, embedding, retrieval); ``_entrypoints`` says which litellm functions are
which operation. A new kind of call is one ``Operation`` here (with its readers) and
its lines in ``_entrypoints``: the wrapper in ``patch`` is the same for every kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry_instrumentation_litellm import _agents as agents
from opentelemetry_instrumentation_litellm import _google_genai as google_genai
from opentelemetry_instrumentation_litellm import _messages as messages
from opentelemetry_instrumentation_litellm import _request as request
from opentelemetry_instrumentation_litellm import _response as response
from opentelemetry_instrumentation_litellm import _retrieval as retrieval
from opentelemetry_instrumentation_litellm import attributes as attrs
from opentelemetry_instrumentation_litellm._messages import ContentPolicy
from opentelemetry_instrumentation_litellm._response import field, finish_reason
from opentelemetry_instrumentation_litellm._streams import (
    AnthropicStreamState,
    ChatStreamState,
    ResponsesStreamState,
)
from opentelemetry_instrumentation_litellm._upstream import GenAiOperationNameValues as _Op

Reader = Callable[[Any, Any], None]
ContentReader = Callable[[Any, Any, ContentPolicy], None]
Starter = Callable[[Any, str, Mapping[str, Any]], Any]
"""``(handler, operation name, call arguments) -> started util-genai invocation``."""


def start_inference(handler: Any, name: str, call: Mapping[str, Any]) -> Any:
    """An inference invocation (``chat``, ``text_completion``, ``generate_content``, ours)."""
    provider, model, address, port = request.target(call)
    return handler.inference(
        provider,
        request_model=model,
        server_address=address,
        server_port=port,
        operation_name=name,
        conversation_id=request.session_id(call),
    )


def start_embedding(handler: Any, name: str, call: Mapping[str, Any]) -> Any:
    """An embedding invocation (operation ``embeddings``, set by util-genai)."""
    provider, model, address, port = request.target(call)
    return handler.embedding(
        provider, request_model=model, server_address=address, server_port=port
    )


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
    start: Starter = start_inference
    """Which util-genai invocation the call is; it starts the span."""


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


def _adapter_input(invocation: Any, call: Mapping[str, Any], policy: ContentPolicy) -> None:
    """An adapter's input: Anthropic-shaped (``system`` apart, content blocks) or OpenAI's."""
    _anthropic_input(invocation, call, policy)


def _adapter_output(invocation: Any, result: Any, policy: ContentPolicy) -> None:
    if field(result, "choices") is not None:
        _chat_output(invocation, result, policy)
    else:
        _anthropic_output(invocation, result, policy)


def _interactions_input(invocation: Any, call: Mapping[str, Any], policy: ContentPolicy) -> None:
    value = call.get("input")
    if isinstance(value, str):
        invocation.input_messages = messages.text_messages("user", value, policy)
    invocation.system_instruction = messages.system_instructions(
        call.get("system_instruction"), policy
    )


def _interactions_output(invocation: Any, result: Any, policy: ContentPolicy) -> None:
    texts = [
        text
        for item in field(result, "outputs") or ()
        if field(item, "type") == "text" and isinstance(text := field(item, "text"), str)
    ]
    reasons = invocation.finish_reasons or ["stop"]
    invocation.output_messages = [
        messages.output_message(
            {"role": "assistant", "content": "".join(texts)}, reasons[0], policy
        )
    ]


def _ocr_output(invocation: Any, result: Any, policy: ContentPolicy) -> None:
    """The pages' text (markdown), one text part per page."""
    pages = [
        text
        for page in field(result, "pages") or ()
        if isinstance(text := field(page, "markdown"), str)
    ]
    invocation.output_messages = [
        messages.OutputMessage(
            role="assistant",
            parts=[messages.TextPart(content=policy.text(text)) for text in pages],
            finish_reason="stop",
        )
    ]


# --- the operations ----------------------------------------------------------------------

CHAT = Operation(
    _Op.CHAT.value,
    request.apply_chat_request,
    response.apply_chat_response,
    _chat_input,
    _chat_output,
    ChatStreamState,
)
TEXT_COMPLETION = Operation(
    _Op.TEXT_COMPLETION.value,
    request.apply_chat_request,
    response.apply_chat_response,
    _text_completion_input,
    _text_completion_output,
    ChatStreamState,
)
RESPONSES = Operation(
    _Op.CHAT.value,
    request.apply_chat_request,
    response.apply_responses_response,
    _responses_input,
    _responses_output,
    ResponsesStreamState,
)
ANTHROPIC_MESSAGES = Operation(
    _Op.CHAT.value,
    request.apply_anthropic_request,
    response.apply_anthropic_response,
    _anthropic_input,
    _anthropic_output,
    AnthropicStreamState,
)
EMBEDDINGS = Operation(
    _Op.EMBEDDINGS.value,
    request.apply_embedding_request,
    response.apply_embedding_response,
    start=start_embedding,
)
IMAGE_GENERATION = Operation(
    _Op.GENERATE_CONTENT.value,
    request.request_for_output("image"),
    response.apply_generic_response,
    _prompt_input("prompt"),
    _image_output,
)
SPEECH = Operation(
    _Op.GENERATE_CONTENT.value,
    request.request_for_output("speech"),
    response.apply_generic_response,
    _prompt_input("input"),
)
TRANSCRIPTION = Operation(
    _Op.GENERATE_CONTENT.value,
    request.request_for_output("text"),
    response.apply_generic_response,
    None,
    _transcription_output,
)
RERANK = Operation(
    attrs.OPERATION_RERANK,
    request.apply_litellm_request,
    response.apply_generic_response,
    _prompt_input("query"),
)
ADAPTER = Operation(
    _Op.CHAT.value,
    request.apply_chat_request,
    response.apply_adapter_response,
    _adapter_input,
    _adapter_output,
)
"""``litellm.adapter_completion``: a chat call in another API's shape (e.g. Anthropic's)."""
GENERATE_CONTENT = Operation(
    _Op.GENERATE_CONTENT.value,
    google_genai.apply_request,
    google_genai.apply_response,
    google_genai.input_content,
    google_genai.output_content,
    google_genai.StreamState,
)
"""The Google GenAI interface (``litellm.google_genai``)."""
INTERACTIONS = Operation(
    _Op.CHAT.value,
    request.apply_chat_request,
    response.apply_interactions_response,
    _interactions_input,
    _interactions_output,
)
"""``litellm.interactions.create``: Google's Interactions API."""
VIDEO_GENERATION = Operation(
    _Op.GENERATE_CONTENT.value,
    request.apply_litellm_request,
    response.apply_generic_response,
    _prompt_input("prompt"),
)
"""Video generation, remix, edit, extension: a video job started (its id, model)."""
MODERATION = Operation(
    attrs.OPERATION_MODERATION,
    request.apply_litellm_request,
    response.apply_generic_response,
    _prompt_input("input"),
)
OCR = Operation(
    attrs.OPERATION_OCR,
    request.apply_litellm_request,
    response.apply_generic_response,
    None,
    _ocr_output,
)
SEARCH = Operation(
    _Op.RETRIEVAL.value,
    retrieval.apply_request,
    retrieval.apply_response,
    retrieval.input_content,
    retrieval.output_content,
    start=retrieval.start,
)
"""``litellm.search`` (a web search provider) and ``litellm.vector_stores.search``."""
INVOKE_AGENT = Operation(
    _Op.INVOKE_AGENT.value,
    agents.apply_request,
    agents.apply_response,
    agents.input_content,
    agents.output_content,
    agents.StreamState,
    start=agents.start,
)
"""``litellm.a2a_protocol``: a message sent to a remote agent over the A2A protocol."""
