"""What a litellm call answered: response facts onto the invocation, a reader per response type."""

from __future__ import annotations

import functools
from typing import Any

from opentelemetry_instrumentation_litellm import _upstream
from opentelemetry_instrumentation_litellm import attributes as attrs
from opentelemetry_instrumentation_litellm._providers import server_of

# litellm normalises finish reasons to OpenAI's; the conventions name them differently.
_FINISH_REASONS = {
    "tool_calls": "tool_call",
    "function_call": "tool_call",
    # Anthropic's stop reasons (litellm.anthropic.messages)
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_call",
    "refusal": "content_filter",
}


def finish_reason(value: Any) -> str | None:
    if not value or not isinstance(value, str):
        return None
    return _FINISH_REASONS.get(value, value)


_CLASS_HAS: dict[tuple[type, str], bool] = {}
"""Whether a pydantic model class has an attribute (a property, say) of a name: asked once per
class and name, as ``hasattr`` on pydantic's metaclass raises and catches an AttributeError."""


def _class_has(kind: type, key: str) -> bool:
    known = _CLASS_HAS.get((kind, key))
    if known is None:
        known = _CLASS_HAS[(kind, key)] = hasattr(kind, key)
    return known


def field(obj: Any, key: str) -> Any:
    """``obj[key]`` for dicts (litellm returns some responses as dicts), ``obj.key`` otherwise.

    On the hot path of every call and every stream chunk, so read the cheap way:
    ``isinstance(obj, dict)`` is a C-level check, unlike ``Mapping``; litellm's pydantic
    models keep fields in ``__dict__`` and extras (a response's ``usage``) in
    ``__pydantic_extra__``, and a plain ``getattr`` of a name not in ``__dict__`` raises and
    catches an AttributeError before pydantic's ``__getattr__`` looks there. A name in
    neither (a stream chunk's ``usage``, but on the last chunk) is looked up on the class
    once per class.
    """
    values = getattr(obj, "__dict__", None)  # models first: a dict has none
    if values is not None:
        if key in values:
            return values[key]
        extra = getattr(obj, "__pydantic_extra__", None)
        if extra is not None:
            if key in extra:
                return extra[key]
            if not _class_has(type(obj), key):
                return None
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _first_count(obj: Any, *keys: str) -> int | None:
    for key in keys:
        value = _count(field(obj, key))
        if value is not None:
            return value
    return None


def apply_usage(invocation: Any, usage: Any) -> None:
    """Token counts from a usage object: OpenAI chat (``prompt_tokens``), Responses and
    Anthropic (``input_tokens``) shapes alike.

    Only the names of the shape at hand are read: asking a pydantic object for a field
    it lacks costs an exception each time, and this runs on every call.
    """
    if usage is None:
        return
    input_tokens = _count(field(usage, "prompt_tokens"))
    if input_tokens is not None:  # OpenAI chat shape (litellm's Usage)
        output_tokens = _count(field(usage, "completion_tokens"))
        input_details = field(usage, "prompt_tokens_details")
        output_details = field(usage, "completion_tokens_details")
        cached = _count(field(input_details, "cached_tokens")) if input_details else None
        created = _count(field(input_details, "cache_creation_tokens")) if input_details else None
    else:  # Responses API / Anthropic shape
        input_tokens = _count(field(usage, "input_tokens"))
        output_tokens = _count(field(usage, "output_tokens"))
        input_details = field(usage, "input_tokens_details")
        output_details = field(usage, "output_tokens_details")
        cached = _count(field(usage, "cache_read_input_tokens"))
        created = _count(field(usage, "cache_creation_input_tokens"))
        if cached or created:
            # Anthropic counts cache reads and writes apart from ``input_tokens``; the
            # conventions' input tokens include them.
            input_tokens = (input_tokens or 0) + (cached or 0) + (created or 0)
        elif input_details:
            cached = _count(field(input_details, "cached_tokens"))
    if input_tokens is not None:
        invocation.input_tokens = input_tokens
    if output_tokens is not None:
        invocation.output_tokens = output_tokens
    if cached:
        invocation.cache_read_input_tokens = cached
    if created:
        invocation.attributes[_upstream.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = created
    reasoning = _count(field(output_details, "reasoning_tokens")) if output_details else None
    if reasoning:
        invocation.thinking_tokens = reasoning


def apply_hidden_params(invocation: Any, response: Any, *, cost: bool = True) -> None:
    """litellm's own facts about the call (``response._hidden_params``).

    ``cost=False`` for streams: their hidden ``response_cost`` is set before any
    usage is known, the real cost comes with the usage chunk.
    """
    hidden = _upstream.hidden_params(response)
    if hidden is None:
        return
    # litellm keeps a dict: its own ``get``, not a ``field()`` call per key.
    get = hidden.get if isinstance(hidden, dict) else functools.partial(field, hidden)
    extra = invocation.attributes
    provider = get("custom_llm_provider")
    if provider is None:  # a stream's hidden params lack it; the stream itself has it
        provider = getattr(response, "custom_llm_provider", None)
    if isinstance(provider, str):
        extra[attrs.LITELLM_PROVIDER] = provider
    response_cost = get("response_cost") if cost else None
    if isinstance(response_cost, (int, float)) and not isinstance(response_cost, bool):
        extra[attrs.LITELLM_RESPONSE_COST] = float(response_cost)
    call_id = get("litellm_call_id")
    if isinstance(call_id, str):
        extra[attrs.LITELLM_CALL_ID] = call_id
    cache_hit = get("cache_hit")
    if isinstance(cache_hit, bool):
        extra[attrs.LITELLM_CACHE_HIT] = cache_hit
    model_id = get("model_id")
    if isinstance(model_id, str) and model_id:
        extra[attrs.LITELLM_MODEL_ID] = model_id
    data = getattr(invocation, "data", None)  # inference invocations take the server late
    if data is not None and data.server_address is None:
        address, port = server_of(get("api_base"))
        if address:
            data.server_address = address
            data.server_port = port


def _set_identity(invocation: Any, response: Any) -> None:
    """Response id and model (inference invocations only: embeddings have no response id)."""
    response_id = field(response, "id")
    if isinstance(response_id, str):
        invocation.response_id = response_id
    model = field(response, "model")
    if isinstance(model, str) and model:
        invocation.response_model_name = model


def _set_outcome(invocation: Any, reasons: list[str], tool_names: list[str]) -> None:
    if reasons:
        invocation.finish_reasons = reasons
    if tool_names:
        invocation.attributes[attrs.LITELLM_RESPONSE_TOOL_NAMES] = tool_names


def apply_chat_response(invocation: Any, response: Any) -> None:
    """A ``ModelResponse`` (chat) or ``TextCompletionResponse``."""
    _set_identity(invocation, response)
    reasons = []
    tool_names = []
    for choice in field(response, "choices") or ():
        reason = finish_reason(field(choice, "finish_reason"))
        if reason:
            reasons.append(reason)
        message = field(choice, "message")
        for tool_call in field(message, "tool_calls") or ():
            name = field(field(tool_call, "function"), "name")
            if isinstance(name, str) and name:
                tool_names.append(name)
    _set_outcome(invocation, reasons, tool_names)
    apply_usage(invocation, field(response, "usage"))
    apply_hidden_params(invocation, response)


def _responses_finish_reason(response: Any, has_tool_calls: bool) -> str | None:
    status = field(response, "status")
    if status == "completed":
        return "tool_call" if has_tool_calls else "stop"
    if status == "incomplete":
        reason = field(field(response, "incomplete_details"), "reason")
        return "length" if reason == "max_output_tokens" else finish_reason(reason) or "length"
    if status in ("failed", "cancelled"):
        return "error"
    return None


def apply_responses_response(invocation: Any, response: Any) -> None:
    """An OpenAI Responses API ``ResponsesAPIResponse``."""
    _set_identity(invocation, response)
    tool_names = [
        name
        for item in field(response, "output") or ()
        if field(item, "type") == "function_call" and isinstance(name := field(item, "name"), str)
    ]
    reason = _responses_finish_reason(response, bool(tool_names))
    _set_outcome(invocation, [reason] if reason else [], tool_names)
    apply_usage(invocation, field(response, "usage"))
    apply_hidden_params(invocation, response)


def apply_anthropic_identity(invocation: Any, message: Any) -> None:
    """Id and model of an Anthropic message (a stream's ``message_start`` has them)."""
    _set_identity(invocation, message)


def apply_anthropic_response(invocation: Any, response: Any) -> None:
    """An Anthropic Messages response (``litellm.anthropic_messages``), a dict."""
    _set_identity(invocation, response)
    tool_names = [
        name
        for block in field(response, "content") or ()
        if field(block, "type") == "tool_use" and isinstance(name := field(block, "name"), str)
    ]
    reason = finish_reason(field(response, "stop_reason"))
    _set_outcome(invocation, [reason] if reason else [], tool_names)
    apply_usage(invocation, field(response, "usage"))
    apply_hidden_params(invocation, response)
    price_tokens(invocation)


def price_tokens(invocation: Any) -> None:
    """``litellm.response.cost`` from the recorded token counts, priced by litellm's public
    ``cost_per_token``, for answers that carry no litellm cost (an Anthropic Messages answer
    is a plain dict, its stream's hidden ``response_cost`` is set before any usage).

    Needs the provider litellm routed to (``litellm.provider``, from the request) and the
    model; a model litellm has no price for gets no cost, never a made-up zero.
    """
    extra = invocation.attributes
    provider = extra.get(attrs.LITELLM_PROVIDER)
    model = invocation.request_model or invocation.response_model_name
    input_tokens = invocation.input_tokens
    output_tokens = invocation.output_tokens
    if attrs.LITELLM_RESPONSE_COST in extra or not provider or not model:
        return
    if input_tokens is None and output_tokens is None:
        return
    import litellm

    try:
        prompt_cost, completion_cost = litellm.cost_per_token(
            model=model,
            custom_llm_provider=provider,
            prompt_tokens=input_tokens or 0,
            completion_tokens=output_tokens or 0,
            cache_read_input_tokens=invocation.cache_read_input_tokens or 0,
            cache_creation_input_tokens=extra.get(
                _upstream.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, 0
            ),
        )
    except Exception:  # litellm has no price for this model
        return
    extra[attrs.LITELLM_RESPONSE_COST] = float(prompt_cost + completion_cost)


def apply_embedding_response(invocation: Any, response: Any) -> None:
    """An ``EmbeddingResponse``: model, input tokens, vector size."""
    model = field(response, "model")
    if isinstance(model, str) and model:
        invocation.response_model_name = model
    input_tokens = _first_count(field(response, "usage"), "prompt_tokens", "input_tokens")
    if input_tokens is not None:
        invocation.input_tokens = input_tokens
    if invocation.dimension_count is None:
        data = field(response, "data") or ()
        vector = field(data[0], "embedding") if len(data) else None
        if isinstance(vector, list) and vector:
            invocation.dimension_count = len(vector)
    apply_hidden_params(invocation, response)


def apply_generic_response(invocation: Any, response: Any) -> None:
    """Images, speech, transcriptions, rerank: id, model and usage where they have them."""
    _set_identity(invocation, response)
    usage = field(response, "usage")
    if usage is None:  # rerank reports tokens under meta.tokens
        usage = field(field(response, "meta"), "tokens")
    apply_usage(invocation, usage)
    apply_hidden_params(invocation, response)


_INTERACTION_STATUS = {
    "completed": "stop",
    "requires_action": "tool_call",
    "incomplete": "length",
    "failed": "error",
    "cancelled": "error",
}


def apply_interactions_response(invocation: Any, response: Any) -> None:
    """An ``InteractionsAPIResponse`` (``litellm.interactions.create``)."""
    _set_identity(invocation, response)
    reason = _INTERACTION_STATUS.get(field(response, "status"))
    if reason:
        invocation.finish_reasons = [reason]
    usage = field(response, "usage")
    if usage is not None:
        input_tokens = _count(field(usage, "total_input_tokens"))
        output_tokens = _count(field(usage, "total_output_tokens"))
        if input_tokens is not None:
            invocation.input_tokens = input_tokens
        if output_tokens is not None:
            invocation.output_tokens = output_tokens
        cached = _count(field(usage, "total_cached_tokens"))
        if cached:
            invocation.cache_read_input_tokens = cached
        reasoning = _count(field(usage, "total_reasoning_tokens"))
        if reasoning:
            invocation.thinking_tokens = reasoning
    apply_hidden_params(invocation, response)


def apply_adapter_response(invocation: Any, response: Any) -> None:
    """What an adapter (``litellm.adapter_completion``) translated litellm's answer into:
    an OpenAI chat completion or an Anthropic message, told apart by their fields."""
    if field(response, "choices") is not None:
        apply_chat_response(invocation, response)
    elif field(response, "stop_reason") is not None or field(response, "content") is not None:
        apply_anthropic_response(invocation, response)
    else:
        apply_generic_response(invocation, response)
