"""What a litellm call answered: response facts onto the invocation."""

from __future__ import annotations

from typing import Any

from opentelemetry_instrumentation_litellm import attributes as attrs
from opentelemetry_instrumentation_litellm._providers import server_of

# litellm normalises finish reasons to OpenAI's; the conventions name them differently.
_FINISH_REASONS = {"tool_calls": "tool_call", "function_call": "tool_call"}


def finish_reason(value: Any) -> str | None:
    if not value or not isinstance(value, str):
        return None
    return _FINISH_REASONS.get(value, value)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def apply_usage(invocation: Any, usage: Any) -> None:
    """Token counts from an OpenAI-shaped usage object (litellm's ``Usage``)."""
    if usage is None:
        return
    input_tokens = _count(getattr(usage, "prompt_tokens", None))
    output_tokens = _count(getattr(usage, "completion_tokens", None))
    if input_tokens is not None:
        invocation.input_tokens = input_tokens
    if output_tokens is not None:
        invocation.output_tokens = output_tokens
    prompt_details = getattr(usage, "prompt_tokens_details", None)
    if prompt_details is not None:
        cached = _count(getattr(prompt_details, "cached_tokens", None))
        if cached:
            invocation.cache_read_input_tokens = cached
    created = _count(getattr(usage, "cache_creation_input_tokens", None))
    if created:
        invocation.attributes[attrs.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = created
    completion_details = getattr(usage, "completion_tokens_details", None)
    if completion_details is not None:
        reasoning = _count(getattr(completion_details, "reasoning_tokens", None))
        if reasoning:
            invocation.thinking_tokens = reasoning


def apply_hidden_params(invocation: Any, response: Any, *, cost: bool = True) -> None:
    """litellm's own facts about the call (``response._hidden_params``).

    ``cost=False`` for streams: their hidden ``response_cost`` is set before any
    usage is known, the real cost comes with the usage chunk.
    """
    hidden = getattr(response, "_hidden_params", None)
    if not isinstance(hidden, dict):
        return
    extra = invocation.attributes
    provider = hidden.get("custom_llm_provider")
    if isinstance(provider, str):
        extra[attrs.LITELLM_PROVIDER] = provider
    response_cost = hidden.get("response_cost") if cost else None
    if isinstance(response_cost, (int, float)) and not isinstance(response_cost, bool):
        extra[attrs.LITELLM_RESPONSE_COST] = float(response_cost)
    call_id = hidden.get("litellm_call_id")
    if isinstance(call_id, str):
        extra[attrs.LITELLM_CALL_ID] = call_id
    cache_hit = hidden.get("cache_hit")
    if isinstance(cache_hit, bool):
        extra[attrs.LITELLM_CACHE_HIT] = cache_hit
    model_id = hidden.get("model_id")
    if isinstance(model_id, str) and model_id:
        extra[attrs.LITELLM_MODEL_ID] = model_id
    if invocation.data.server_address is None:
        address, port = server_of(hidden.get("api_base"))
        if address:
            invocation.data.server_address = address
            invocation.data.server_port = port


def apply_chat_response(invocation: Any, response: Any) -> None:
    """A ``ModelResponse`` (chat or text completion) onto an inference invocation."""
    response_id = getattr(response, "id", None)
    if isinstance(response_id, str):
        invocation.response_id = response_id
    model = getattr(response, "model", None)
    if isinstance(model, str):
        invocation.response_model_name = model
    reasons = []
    tool_names = []
    for choice in getattr(response, "choices", None) or ():
        reason = finish_reason(getattr(choice, "finish_reason", None))
        if reason:
            reasons.append(reason)
        message = getattr(choice, "message", None)
        for tool_call in getattr(message, "tool_calls", None) or ():
            name = getattr(getattr(tool_call, "function", None), "name", None)
            if isinstance(name, str) and name:
                tool_names.append(name)
    if reasons:
        invocation.finish_reasons = reasons
    if tool_names:
        invocation.attributes[attrs.LITELLM_RESPONSE_TOOL_NAMES] = tool_names
    apply_usage(invocation, getattr(response, "usage", None))
    apply_hidden_params(invocation, response)
