"""The Google GenAI format (``litellm.google_genai.generate_content`` and friends).

Request parameters from ``config``, response facts from ``usageMetadata``,
``candidates`` and ``responseId``/``modelVersion``, opt-in content from ``contents`` and
the candidates' parts, and the stream's chunks (dicts, or the SSE bytes litellm's adapter
yields for non-Gemini models) added up for the span.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from opentelemetry.util.genai.types import (
    InputMessage,
    MessagePart,
    OutputMessage,
    ReasoningPart,
    TextPart,
    ToolCallRequestPart,
    ToolCallResponsePart,
)

from opentelemetry_instrumentation_litellm import attributes as attrs
from opentelemetry_instrumentation_litellm._messages import ContentPolicy, get
from opentelemetry_instrumentation_litellm._request import apply_litellm_request
from opentelemetry_instrumentation_litellm._response import apply_hidden_params, field
from opentelemetry_instrumentation_litellm._streams import sse_events

_FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "MALFORMED_FUNCTION_CALL": "error",
}
"""Gemini's ``finishReason`` -> the conventions' finish reasons; others lower-cased."""


def _finish_reason(value: Any) -> str | None:
    if not isinstance(value, str) or not value or value == "FINISH_REASON_UNSPECIFIED":
        return None
    return _FINISH_REASONS.get(value, value.lower())


def _config_value(config: Any, camel: str, snake: str) -> Any:
    value = get(config, camel)
    return get(config, snake) if value is None else value


_NUMBERS = (
    ("temperature", "temperature", "temperature"),
    ("topP", "top_p", "top_p"),
    ("presencePenalty", "presence_penalty", "presence_penalty"),
    ("frequencyPenalty", "frequency_penalty", "frequency_penalty"),
)
_INTEGERS = (
    ("topK", "top_k", "top_k"),
    ("seed", "seed", "seed"),
    ("maxOutputTokens", "max_output_tokens", "max_tokens"),
)


def apply_request(invocation: Any, call: Mapping[str, Any]) -> None:
    """``config``'s generation parameters (camelCase or snake_case keys)."""
    config = call.get("config")
    if config is not None:
        for camel, snake, prop in _NUMBERS:
            value = _config_value(config, camel, snake)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                setattr(invocation, prop, value)
        for camel, snake, prop in _INTEGERS:
            value = _config_value(config, camel, snake)
            if isinstance(value, int) and not isinstance(value, bool):
                setattr(invocation, prop, value)
        stop = _config_value(config, "stopSequences", "stop_sequences")
        if isinstance(stop, (list, tuple)) and all(isinstance(s, str) for s in stop):
            invocation.stop_sequences = list(stop)
        count = _config_value(config, "candidateCount", "candidate_count")
        if isinstance(count, int) and not isinstance(count, bool) and count != 1:
            invocation.request_choice_count = count
        mime = _config_value(config, "responseMimeType", "response_mime_type")
        if mime == "application/json":
            invocation.output_type = "json"
        elif mime == "text/plain":
            invocation.output_type = "text"
    apply_litellm_request(invocation, call)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def apply_usage(invocation: Any, usage: Any) -> None:
    """``usageMetadata``. All zero is litellm's adapter not knowing (a stream without
    usage), not a call that used no tokens: then nothing is recorded."""
    if usage is None:
        return
    prompt = _count(field(usage, "promptTokenCount"))
    candidates = _count(field(usage, "candidatesTokenCount"))
    thoughts = _count(field(usage, "thoughtsTokenCount"))
    if not prompt and not candidates and not thoughts:
        return
    if prompt is not None:
        invocation.input_tokens = prompt
    if candidates is not None or thoughts is not None:
        # Gemini counts thoughts apart from the candidates; the conventions' output tokens
        # include reasoning tokens (as OpenAI's completion_tokens do).
        invocation.output_tokens = (candidates or 0) + (thoughts or 0)
    if thoughts:
        invocation.thinking_tokens = thoughts
    cached = _count(field(usage, "cachedContentTokenCount"))
    if cached:
        invocation.cache_read_input_tokens = cached


def _tool_names(candidates: Any) -> list[str]:
    return [
        name
        for candidate in candidates or ()
        for part in field(field(candidate, "content"), "parts") or ()
        if isinstance(name := field(field(part, "functionCall"), "name"), str)
    ]


def apply_response(invocation: Any, response: Any) -> None:
    """A ``GenerateContentResponse`` (a dict)."""
    response_id = field(response, "responseId")
    if isinstance(response_id, str) and response_id:
        invocation.response_id = response_id
    model = field(response, "modelVersion")
    if isinstance(model, str) and model:
        invocation.response_model_name = model
    candidates = field(response, "candidates") or ()
    reasons = [r for c in candidates if (r := _finish_reason(field(c, "finishReason")))]
    if reasons:
        invocation.finish_reasons = reasons
    tool_names = _tool_names(candidates)
    if tool_names:
        invocation.attributes[attrs.LITELLM_RESPONSE_TOOL_NAMES] = tool_names
    apply_usage(invocation, field(response, "usageMetadata"))
    apply_hidden_params(invocation, response)


# --- content (only with content capture on) ----------------------------------------------


def _part(part: Any, policy: ContentPolicy) -> MessagePart | None:
    text = get(part, "text")
    if isinstance(text, str):
        if get(part, "thought") is True:
            return ReasoningPart(content=policy.text(text))
        return TextPart(content=policy.text(text))
    call = get(part, "functionCall")
    if call is not None:
        args = get(call, "args")
        return ToolCallRequestPart(
            id=get(call, "id"),
            name=get(call, "name") or "",
            arguments=json.loads(policy.text(json.dumps(args, default=str)))
            if args is not None
            else None,
        )
    result = get(part, "functionResponse")
    if result is not None:
        return ToolCallResponsePart(
            id=get(result, "id"),
            response=policy.text(json.dumps(get(result, "response"), default=str)),
        )
    return None


def _parts(content: Any, policy: ContentPolicy) -> list[MessagePart]:
    if isinstance(content, str):
        return [TextPart(content=policy.text(content))]
    return [p for part in get(content, "parts") or () if (p := _part(part, policy)) is not None]


def input_content(invocation: Any, call: Mapping[str, Any], policy: ContentPolicy) -> None:
    """``contents`` (a string, one Content or a list of them) and ``systemInstruction``."""
    contents = call.get("contents")
    if isinstance(contents, (str, Mapping)):
        contents = [contents]
    messages = []
    for content in contents if isinstance(contents, (list, tuple)) else ():
        role = "user" if isinstance(content, str) else get(content, "role") or "user"
        messages.append(
            InputMessage(
                role="assistant" if role == "model" else role, parts=_parts(content, policy)
            )
        )
    invocation.input_messages = messages
    system = _config_value(call.get("config"), "systemInstruction", "system_instruction")
    if system is not None:
        invocation.system_instruction = [
            p for p in _parts(system, policy) if isinstance(p, TextPart)
        ]


def output_content(invocation: Any, response: Any, policy: ContentPolicy) -> None:
    invocation.output_messages = [
        OutputMessage(
            role="assistant",
            parts=_parts(field(candidate, "content"), policy),
            finish_reason=_finish_reason(field(candidate, "finishReason")) or "stop",
        )
        for candidate in field(response, "candidates") or ()
    ]


# --- streams -----------------------------------------------------------------------------


class StreamState:
    """Chunks of ``generate_content_stream``: each a partial ``GenerateContentResponse``."""

    __slots__ = ("capture", "reasons", "response_id", "response_model", "texts", "tools", "usage")

    def __init__(self, capture: bool) -> None:
        self.capture = capture
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.usage: Any = None
        self.reasons: dict[int, str] = {}
        self.tools: list[str] = []
        self.texts: dict[int, list[str]] = {}

    @property
    def complete(self) -> bool:
        return bool(self.reasons)

    def add(self, chunk: Any) -> None:
        for event in sse_events(chunk):
            self._chunk(event)

    def _chunk(self, chunk: Any) -> None:
        if self.response_id is None:
            self.response_id = field(chunk, "responseId")
        if self.response_model is None:
            self.response_model = field(chunk, "modelVersion")
        usage = field(chunk, "usageMetadata")
        if usage is not None:
            self.usage = usage
        for position, candidate in enumerate(field(chunk, "candidates") or ()):
            index = field(candidate, "index")
            index = index if isinstance(index, int) else position
            reason = _finish_reason(field(candidate, "finishReason"))
            if reason:
                self.reasons[index] = reason
            for part in field(field(candidate, "content"), "parts") or ():
                name = field(field(part, "functionCall"), "name")
                if isinstance(name, str):
                    self.tools.append(name)
                if self.capture:
                    text = field(part, "text")
                    if isinstance(text, str):
                        self.texts.setdefault(index, []).append(text)

    def apply(
        self, invocation: Any, stream: Any, policy: ContentPolicy, error: BaseException | None
    ) -> None:
        if isinstance(self.response_id, str) and self.response_id:
            invocation.response_id = self.response_id
        if isinstance(self.response_model, str) and self.response_model:
            invocation.response_model_name = self.response_model
        apply_usage(invocation, self.usage)
        indexes = sorted(set(self.reasons) | set(self.texts))
        reasons = [self.reasons.get(i) or ("error" if error else "stop") for i in indexes]
        if error is not None:
            reasons = reasons or ["error"]
        if reasons:
            invocation.finish_reasons = reasons
        if self.tools:
            invocation.attributes[attrs.LITELLM_RESPONSE_TOOL_NAMES] = self.tools
        if self.capture:
            invocation.output_messages = [
                OutputMessage(
                    role="assistant",
                    parts=[TextPart(content=policy.text("".join(self.texts.get(i, ()))))],
                    finish_reason=reason,
                )
                for i, reason in zip(indexes, reasons, strict=False)
            ]
