"""litellm's OpenAI-shaped messages -> the GenAI conventions' message parts.

Only used when content capture is on. Every piece of text passes through the
``ContentPolicy`` (redaction hook, then size limit) before it is recorded.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry.util.genai.types import (
    BlobPart,
    FilePart,
    FunctionToolDefinition,
    GenericToolDefinition,
    InputMessage,
    MessagePart,
    Modality,
    OutputMessage,
    ReasoningPart,
    TextPart,
    ToolCallRequestPart,
    ToolCallResponsePart,
    ToolDefinition,
)
from opentelemetry.util.genai.utils import decode_base64, image_from_url

_logger = logging.getLogger(__name__)

DEFAULT_MAX_CONTENT_LENGTH = 32_768
REDACTION_FAILED = "[redacted: the redaction hook failed]"


@dataclass(frozen=True)
class ContentPolicy:
    """How captured content is cleaned before it is recorded.

    ``redact`` is called with every captured string (message text, reasoning,
    tool arguments and results) and returns what to record instead. If it
    raises, the string is replaced by a fixed marker: content is never recorded
    unredacted because a hook failed. Then strings longer than ``max_length``
    characters are cut, and inline binary data (images, audio) larger than
    ``max_length`` bytes is left out. ``max_length`` of 0 or None means no limit.
    """

    max_length: int | None = DEFAULT_MAX_CONTENT_LENGTH
    redact: Callable[[str], str] | None = None

    def text(self, value: str) -> str:
        if self.redact is not None:
            try:
                value = self.redact(value)
            except Exception:
                _logger.debug("litellm instrumentation: redaction hook raised", exc_info=True)
                return REDACTION_FAILED
            if not isinstance(value, str):
                value = str(value)
        limit = self.max_length
        if limit and len(value) > limit:
            return f"{value[:limit]}...[truncated {len(value) - limit} chars]"
        return value

    def fits(self, data: bytes) -> bool:
        return not self.max_length or len(data) <= self.max_length


def get(obj: Any, key: str) -> Any:
    """``obj[key]`` for a dict, ``obj.key`` for litellm's message objects."""
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def _as_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # a list of {"type": "text", "text": ...} parts
        return "".join(text for part in content if isinstance(text := get(part, "text"), str))
    try:
        return json.dumps(content, default=str)
    except (TypeError, ValueError):
        return str(content)


def _arguments(raw: Any, policy: ContentPolicy) -> Any:
    """Tool call arguments: the parsed JSON object when they parse, else the string."""
    if raw is None:
        return None
    text = policy.text(raw if isinstance(raw, str) else _as_text(raw))
    try:
        return json.loads(text)
    except ValueError:
        return text


def tool_call_part(tool_call: Any, policy: ContentPolicy) -> ToolCallRequestPart:
    function = get(tool_call, "function")
    return ToolCallRequestPart(
        id=get(tool_call, "id"),
        name=get(function, "name") or "",
        arguments=_arguments(get(function, "arguments"), policy),
    )


def media_part(url: Any, modality: Modality, policy: ContentPolicy) -> MessagePart | None:
    if not isinstance(url, str):
        return None
    part = image_from_url(url, modality=modality)
    if isinstance(part, BlobPart) and not policy.fits(part.content):
        return None
    return part


def _content_part(part: Any, policy: ContentPolicy) -> MessagePart | None:
    kind = get(part, "type")
    if kind in ("text", "input_text", "output_text"):
        text = get(part, "text")
        return TextPart(content=policy.text(text)) if isinstance(text, str) else None
    if kind == "image_url":
        image = get(part, "image_url")
        url = image if isinstance(image, str) else get(image, "url")
        return media_part(url, Modality.IMAGE, policy)
    if kind == "input_audio":
        audio = get(part, "input_audio")
        data = decode_base64(get(audio, "data") or "")
        if data is None or not policy.fits(data):
            return None
        audio_format = get(audio, "format")
        return BlobPart(
            mime_type=f"audio/{audio_format}" if audio_format else None,
            modality=Modality.AUDIO,
            content=data,
        )
    if kind == "file":
        file = get(part, "file")
        file_id = get(file, "file_id")
        if isinstance(file_id, str):
            return FilePart(mime_type=None, modality=Modality.DOCUMENT, file_id=file_id)
        return media_part(get(file, "file_data"), Modality.DOCUMENT, policy)
    return None  # part types the conventions have no shape for are left out


def content_parts(content: Any, policy: ContentPolicy) -> list[MessagePart]:
    if content is None:
        return []
    if isinstance(content, str):
        return [TextPart(content=policy.text(content))] if content else []
    if isinstance(content, list):
        return [p for part in content if (p := _content_part(part, policy)) is not None]
    return [TextPart(content=policy.text(_as_text(content)))]


def _assistant_parts(message: Any, policy: ContentPolicy) -> list[MessagePart]:
    parts: list[MessagePart] = []
    reasoning = get(message, "reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        parts.append(ReasoningPart(content=policy.text(reasoning)))
    parts.extend(content_parts(get(message, "content"), policy))
    for tool_call in get(message, "tool_calls") or ():
        parts.append(tool_call_part(tool_call, policy))
    function_call = get(message, "function_call")  # the deprecated single-function form
    if function_call:
        parts.append(
            ToolCallRequestPart(
                id=None,
                name=get(function_call, "name") or "",
                arguments=_arguments(get(function_call, "arguments"), policy),
            )
        )
    return parts


def input_messages(messages: Any, policy: ContentPolicy) -> list[InputMessage]:
    """The chat history as sent. System messages stay in it (they are part of the
    history, not instructions given separately), with role ``system``."""
    if not isinstance(messages, (list, tuple)):
        return []
    result = []
    for message in messages:
        role = get(message, "role")
        if not isinstance(role, str):
            continue
        if role in ("tool", "function"):
            response = get(message, "content")
            parts: list[MessagePart] = [
                ToolCallResponsePart(
                    id=get(message, "tool_call_id"),
                    response=policy.text(_as_text(response)) if response is not None else None,
                )
            ]
            role = "tool"
        else:
            parts = _assistant_parts(message, policy)
        name = get(message, "name")
        result.append(
            InputMessage(role=role, parts=parts, name=name if isinstance(name, str) else None)
        )
    return result


def output_message(message: Any, finish_reason: str, policy: ContentPolicy) -> OutputMessage:
    role = get(message, "role")
    return OutputMessage(
        role=role if isinstance(role, str) else "assistant",
        parts=_assistant_parts(message, policy),
        finish_reason=finish_reason,
    )


def tool_definitions(tools: Any) -> list[ToolDefinition]:
    """The ``tools`` argument (OpenAI function tools and provider tools)."""
    if not isinstance(tools, Iterable) or isinstance(tools, (str, bytes, Mapping)):
        return []
    result: list[ToolDefinition] = []
    for tool in tools:
        kind = get(tool, "type") or "function"
        function = get(tool, "function")
        if kind == "function" and function is not None:
            result.append(
                FunctionToolDefinition(
                    name=get(function, "name") or "",
                    description=get(function, "description"),
                    parameters=get(function, "parameters"),
                )
            )
        elif isinstance(kind, str):
            result.append(GenericToolDefinition(name=get(tool, "name") or kind, type=kind))
    return result


# --- other request/response formats -----------------------------------------------------


def text_messages(role: str, texts: Any, policy: ContentPolicy) -> list[Any]:
    """A prompt (string or list of strings) as one message of text parts."""
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, (list, tuple)):
        return []
    parts: list[MessagePart] = [
        TextPart(content=policy.text(t)) for t in texts if isinstance(t, str)
    ]
    return [InputMessage(role=role, parts=parts)] if parts else []


def system_instructions(system: Any, policy: ContentPolicy) -> list[TextPart]:
    """Instructions given apart from the chat history (Responses ``instructions``,
    Anthropic ``system``): a string or a list of text blocks."""
    if isinstance(system, str):
        return [TextPart(content=policy.text(system))] if system else []
    if isinstance(system, list):
        return [
            TextPart(content=policy.text(text))
            for block in system
            if isinstance(text := get(block, "text"), str)
        ]
    return []


def _responses_item_parts(item: Any, policy: ContentPolicy) -> tuple[str, list[MessagePart]]:
    """(role, parts) of one Responses API input or output item."""
    kind = get(item, "type")
    if kind == "function_call":
        return "assistant", [
            ToolCallRequestPart(
                id=get(item, "call_id"),
                name=get(item, "name") or "",
                arguments=_arguments(get(item, "arguments"), policy),
            )
        ]
    if kind == "function_call_output":
        output = get(item, "output")
        return "tool", [
            ToolCallResponsePart(id=get(item, "call_id"), response=policy.text(_as_text(output)))
        ]
    if kind == "reasoning":
        texts = [get(s, "text") for s in get(item, "summary") or ()]
        return "assistant", [
            ReasoningPart(content=policy.text(t)) for t in texts if isinstance(t, str)
        ]
    role = get(item, "role")
    return (role if isinstance(role, str) else "user"), content_parts(get(item, "content"), policy)


def responses_input_messages(value: Any, policy: ContentPolicy) -> list[InputMessage]:
    """The Responses API ``input``: a string, or a list of messages and items."""
    if isinstance(value, str):
        return text_messages("user", value, policy)
    if not isinstance(value, (list, tuple)):
        return []
    messages = []
    for item in value:
        role, parts = _responses_item_parts(item, policy)
        messages.append(InputMessage(role=role, parts=parts))
    return messages


def responses_output_messages(response: Any, reason: str, policy: ContentPolicy) -> list[Any]:
    """A Responses API response's ``output`` items, as one assistant message."""
    parts: list[MessagePart] = []
    for item in get(response, "output") or ():
        parts.extend(_responses_item_parts(item, policy)[1])
    return [OutputMessage(role="assistant", parts=parts, finish_reason=reason)]


def _anthropic_block(block: Any, policy: ContentPolicy) -> MessagePart | None:
    kind = get(block, "type")
    if kind == "text":
        text = get(block, "text")
        return TextPart(content=policy.text(text)) if isinstance(text, str) else None
    if kind in ("thinking", "redacted_thinking"):
        text = get(block, "thinking")
        return ReasoningPart(content=policy.text(text)) if isinstance(text, str) else None
    if kind == "tool_use":
        tool_input = get(block, "input")
        return ToolCallRequestPart(
            id=get(block, "id"),
            name=get(block, "name") or "",
            arguments=_arguments(json.dumps(tool_input, default=str), policy),
        )
    if kind == "tool_result":
        return ToolCallResponsePart(
            id=get(block, "tool_use_id"), response=policy.text(_as_text(get(block, "content")))
        )
    if kind in ("image", "document"):
        source = get(block, "source")
        modality = Modality.IMAGE if kind == "image" else Modality.DOCUMENT
        if get(source, "type") == "url":
            return media_part(get(source, "url"), modality, policy)
        if get(source, "type") == "base64":
            data = decode_base64(get(source, "data") or "")
            if data is not None and policy.fits(data):
                return BlobPart(
                    mime_type=get(source, "media_type"), modality=modality, content=data
                )
    return None


def anthropic_parts(content: Any, policy: ContentPolicy) -> list[MessagePart]:
    if isinstance(content, str):
        return [TextPart(content=policy.text(content))] if content else []
    if not isinstance(content, (list, tuple)):
        return []
    return [p for block in content if (p := _anthropic_block(block, policy)) is not None]


def anthropic_input_messages(messages: Any, policy: ContentPolicy) -> list[InputMessage]:
    if not isinstance(messages, (list, tuple)):
        return []
    result = []
    for message in messages:
        role = get(message, "role")
        parts = anthropic_parts(get(message, "content"), policy)
        if role == "user" and parts and all(isinstance(p, ToolCallResponsePart) for p in parts):
            role = "tool"  # a user turn made only of tool results answers tool calls
        result.append(InputMessage(role=role if isinstance(role, str) else "user", parts=parts))
    return result
