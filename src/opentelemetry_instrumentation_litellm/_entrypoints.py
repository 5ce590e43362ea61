"""The litellm functions this instrumentation wraps, and which operation each one is."""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry_instrumentation_litellm._operations import (
    ADAPTER,
    ANTHROPIC_MESSAGES,
    CHAT,
    EMBEDDINGS,
    GENERATE_CONTENT,
    IMAGE_GENERATION,
    INTERACTIONS,
    INVOKE_AGENT,
    MODERATION,
    OCR,
    RERANK,
    RESPONSES,
    SEARCH,
    SPEECH,
    TEXT_COMPLETION,
    TRANSCRIPTION,
    VIDEO_GENERATION,
    Operation,
)


@dataclass(frozen=True)
class EntryPoint:
    module: str
    """Module whose attribute is wrapped."""
    name: str
    """Attribute name, e.g. ``completion``."""
    operation: Operation
    is_async: bool
    bind_like: str | None = None
    """Read positional arguments with this sibling's signature (litellm declares many
    async twins and wrappers as ``(*args, **kwargs)``)."""


def _pair(
    module: str, name: str, operation: Operation, async_name: str, bind_like: str | None = None
) -> tuple[EntryPoint, ...]:
    return (
        EntryPoint(module, name, operation, is_async=False, bind_like=bind_like),
        EntryPoint(module, async_name, operation, is_async=True, bind_like=bind_like or name),
    )


# Public functions are wrapped where users reach them: on the ``litellm`` package
# (what ``litellm.completion(...)`` resolves at call time) and on
# ``litellm.anthropic.messages``. litellm's internal calls go through
# ``litellm.main`` and friends and are not wrapped again (and a wrapped call made
# while one of our spans is active passes straight through), so each user call
# is one span.
ENTRY_POINTS: tuple[EntryPoint, ...] = (
    *_pair("litellm", "completion", CHAT, "acompletion"),
    *_pair("litellm", "completion_with_retries", CHAT, "acompletion_with_retries", "completion"),
    *_pair("litellm", "text_completion", TEXT_COMPLETION, "atext_completion"),
    *_pair("litellm", "embedding", EMBEDDINGS, "aembedding"),
    *_pair("litellm", "responses", RESPONSES, "aresponses"),
    *_pair("litellm", "image_generation", IMAGE_GENERATION, "aimage_generation"),
    *_pair("litellm", "speech", SPEECH, "aspeech"),
    *_pair("litellm", "transcription", TRANSCRIPTION, "atranscription"),
    *_pair("litellm", "rerank", RERANK, "arerank"),
    *_pair("litellm.anthropic_interface.messages", "create", ANTHROPIC_MESSAGES, "acreate"),
    # The Anthropic Messages function itself: what Router.(a)anthropic_messages and so the
    # Proxy's /v1/messages call (async only; its sync twin is the handler).
    EntryPoint("litellm", "anthropic_messages_handler", ANTHROPIC_MESSAGES, is_async=False),
    EntryPoint("litellm", "anthropic_messages", ANTHROPIC_MESSAGES, is_async=True),
    *_pair("litellm", "responses_with_retries", RESPONSES, "aresponses_with_retries", "responses"),
    *_pair("litellm", "compact_responses", RESPONSES, "acompact_responses"),
    # Responses with MCP tools: litellm.aresponses calls it; users and the Proxy may too.
    EntryPoint("litellm", "aresponses_api_with_mcp", RESPONSES, is_async=True),
    # A completion with the arguments of litellm.config_path's file added.
    EntryPoint("litellm", "config_completion", CHAT, is_async=False),
    *_pair("litellm", "adapter_completion", ADAPTER, "aadapter_completion"),
    *_pair("litellm", "image_edit", IMAGE_GENERATION, "aimage_edit"),
    *_pair("litellm", "image_variation", IMAGE_GENERATION, "aimage_variation"),
    *_pair("litellm", "video_generation", VIDEO_GENERATION, "avideo_generation"),
    *_pair("litellm", "video_remix", VIDEO_GENERATION, "avideo_remix"),
    *_pair("litellm", "video_edit", VIDEO_GENERATION, "avideo_edit"),
    *_pair("litellm", "video_extension", VIDEO_GENERATION, "avideo_extension"),
    *_pair("litellm", "moderation", MODERATION, "amoderation"),
    *_pair("litellm", "ocr", OCR, "aocr"),
    *_pair("litellm", "search", SEARCH, "asearch"),
    *_pair("litellm.vector_stores", "search", SEARCH, "asearch"),
    *_pair("litellm.google_genai", "generate_content", GENERATE_CONTENT, "agenerate_content"),
    *_pair(
        "litellm.google_genai",
        "generate_content_stream",
        GENERATE_CONTENT,
        "agenerate_content_stream",
    ),
    # The same function as litellm.google_genai.agenerate_content, also on litellm.
    EntryPoint("litellm", "agenerate_content", GENERATE_CONTENT, is_async=True),
    # generate_content for a model without a native Gemini route (keyword arguments only).
    EntryPoint("litellm", "aadapter_generate_content", GENERATE_CONTENT, is_async=True),
    *_pair("litellm.interactions", "create", INTERACTIONS, "acreate"),
    # Agent-to-agent (A2A): the Proxy's /a2a/{agent} routes call these too. The streaming
    # function is an async generator function: called without await, it returns the stream.
    *_pair("litellm.a2a_protocol", "send_message", INVOKE_AGENT, "asend_message"),
    EntryPoint("litellm.a2a_protocol", "asend_message_streaming", INVOKE_AGENT, is_async=False),
)
