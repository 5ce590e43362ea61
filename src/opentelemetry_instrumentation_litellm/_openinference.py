"""Opt-in OpenInference attributes, for backends that read them (Arize Phoenix).

Phoenix maps GenAI spans to its LLM/EMBEDDING kinds and reads their token counts, but
its Input and Output columns read OpenInference's ``input.value``/``output.value``.
With ``OTEL_INSTRUMENTATION_LITELLM_OPENINFERENCE=true`` (or
``instrument(openinference=True)``) each span also gets:

- ``openinference.span.kind``: ``EMBEDDING`` for embeddings, ``RETRIEVER`` for retrievals,
  ``AGENT`` for agent calls, ``LLM`` for the rest;
- ``llm.model_name`` (``embedding.model_name``), ``llm.provider``, ``llm.system`` and
  ``llm.token_count.*``, from the same facts as the ``gen_ai.*`` attributes;
- ``input.value``: the last user message's text, ``output.value``: the answer's text
  (``text/plain`` mime types), only when content capture puts content on spans
  (``SPAN_ONLY`` or ``SPAN_AND_EVENT``).

The names are OpenInference's semantic conventions; they are written as strings here
because ``openinference-semantic-conventions`` is not a dependency.
"""

from __future__ import annotations

from typing import Any, Final

from opentelemetry.util.genai.invocation import (
    AgentInvocation,
    EmbeddingInvocation,
    RetrievalInvocation,
)

OTEL_INSTRUMENTATION_LITELLM_OPENINFERENCE: Final = "OTEL_INSTRUMENTATION_LITELLM_OPENINFERENCE"
"""Environment variable: ``true`` adds OpenInference attributes (default ``false``)."""

SPAN_KIND: Final = "openinference.span.kind"
INPUT_VALUE: Final = "input.value"
INPUT_MIME_TYPE: Final = "input.mime_type"
OUTPUT_VALUE: Final = "output.value"
OUTPUT_MIME_TYPE: Final = "output.mime_type"
LLM_MODEL_NAME: Final = "llm.model_name"
LLM_PROVIDER: Final = "llm.provider"
LLM_SYSTEM: Final = "llm.system"
LLM_TOKEN_COUNT_PROMPT: Final = "llm.token_count.prompt"
LLM_TOKEN_COUNT_COMPLETION: Final = "llm.token_count.completion"
LLM_TOKEN_COUNT_TOTAL: Final = "llm.token_count.total"
LLM_TOKEN_COUNT_CACHE_READ: Final = "llm.token_count.prompt_details.cache_read"
LLM_TOKEN_COUNT_REASONING: Final = "llm.token_count.completion_details.reasoning"
EMBEDDING_MODEL_NAME: Final = "embedding.model_name"

_TEXT_PLAIN: Final = "text/plain"

# gen_ai.provider.name -> (OpenInference llm.provider, llm.system or None)
_PROVIDERS: Final = {
    "openai": ("openai", "openai"),
    "azure.ai.openai": ("azure", "openai"),
    "azure.ai.inference": ("azure", None),
    "anthropic": ("anthropic", "anthropic"),
    "aws.bedrock": ("aws", None),
    "gcp.gemini": ("google", "vertexai"),
    "gcp.vertex_ai": ("google", "vertexai"),
    "gcp.gen_ai": ("google", "vertexai"),
    "cohere": ("cohere", "cohere"),
    "mistral_ai": ("mistralai", "mistralai"),
    "x_ai": ("xai", None),
    "deepseek": ("deepseek", None),
}


def _text(message: Any) -> str | None:
    texts = [
        part.content
        for part in getattr(message, "parts", None) or ()
        if getattr(part, "type", None) == "text" and isinstance(part.content, str)
    ]
    return "\n".join(texts) or None


def _last_user_text(messages: Any) -> str | None:
    for message in reversed(messages or ()):
        if getattr(message, "role", None) == "user":
            return _text(message)
    return None


def _answer_text(messages: Any) -> str | None:
    for message in messages or ():
        if text := _text(message):
            return text
    return None


def add_attributes(invocation: Any, span_content: bool) -> None:
    """Add the OpenInference attributes to a finishing invocation's span attributes."""
    extra = invocation.attributes
    if isinstance(invocation, RetrievalInvocation):  # no model, no tokens
        extra[SPAN_KIND] = "RETRIEVER"
        return
    if isinstance(invocation, AgentInvocation):  # no tokens: what it was told and answered
        extra[SPAN_KIND] = "AGENT"
        if span_content:
            _add_values(invocation, extra)
        return
    model = invocation.response_model_name or invocation.request_model
    if isinstance(invocation, EmbeddingInvocation):
        extra[SPAN_KIND] = "EMBEDDING"
        if model:
            extra[EMBEDDING_MODEL_NAME] = model
    else:
        extra[SPAN_KIND] = "LLM"
    if model:
        extra[LLM_MODEL_NAME] = model
    provider = invocation.provider
    if provider:
        oi_provider, system = _PROVIDERS.get(provider, (provider, None))
        extra[LLM_PROVIDER] = oi_provider
        if system:
            extra[LLM_SYSTEM] = system
    prompt = invocation.input_tokens
    completion = getattr(invocation, "output_tokens", None)
    if prompt is not None:
        extra[LLM_TOKEN_COUNT_PROMPT] = prompt
    if completion is not None:
        extra[LLM_TOKEN_COUNT_COMPLETION] = completion
    if prompt is not None or completion is not None:
        extra[LLM_TOKEN_COUNT_TOTAL] = (prompt or 0) + (completion or 0)
    if cached := getattr(invocation, "cache_read_input_tokens", None):
        extra[LLM_TOKEN_COUNT_CACHE_READ] = cached
    if reasoning := getattr(invocation, "thinking_tokens", None):
        extra[LLM_TOKEN_COUNT_REASONING] = reasoning
    if span_content:
        _add_values(invocation, extra)


def _add_values(invocation: Any, extra: dict[str, Any]) -> None:
    """``input.value`` / ``output.value``: the last user message's and the answer's text."""
    if question := _last_user_text(getattr(invocation, "input_messages", None)):
        extra[INPUT_VALUE] = question
        extra[INPUT_MIME_TYPE] = _TEXT_PLAIN
    if answer := _answer_text(getattr(invocation, "output_messages", None)):
        extra[OUTPUT_VALUE] = answer
        extra[OUTPUT_MIME_TYPE] = _TEXT_PLAIN
