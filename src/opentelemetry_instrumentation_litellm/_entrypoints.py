"""The litellm functions this instrumentation wraps, and which operation each one is."""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry_instrumentation_litellm._operations import (
    ANTHROPIC_MESSAGES,
    CHAT,
    EMBEDDINGS,
    IMAGE_GENERATION,
    RERANK,
    RESPONSES,
    SPEECH,
    TEXT_COMPLETION,
    TRANSCRIPTION,
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
)
