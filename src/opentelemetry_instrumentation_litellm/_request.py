"""What a litellm call asks for: its arguments, read however they were passed.

Only named, documented request facts are read. Credentials (``api_key``,
cloud credentials, headers) are never looked at, so they cannot reach a span.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry_instrumentation_litellm import attributes as attrs
from opentelemetry_instrumentation_litellm._providers import provider_name, resolve, server_of
from opentelemetry_instrumentation_litellm._upstream import USER_ID


def positional_names(func: Callable[..., Any]) -> tuple[str, ...]:
    """Names of ``func``'s parameters that can be passed by position, in order.

    Computed once per entry point at instrument time: binding a call is then a
    ``zip``, not a ``Signature.bind`` on every call.
    """
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return ()
    names = []
    for param in params:
        if param.kind not in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            break
        names.append(param.name)
    return tuple(names)


def call_arguments(
    names: tuple[str, ...], args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> Mapping[str, Any]:
    """The call's arguments by name: ``completion("gpt-4o", msgs)`` reads like keywords."""
    if not args:
        return kwargs
    bound = dict(zip(names, args, strict=False))  # extra positionals: litellm will reject them
    bound.update(kwargs)
    return bound


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return None


def _integer(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _strings(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return list(value)
    return None


# keyword argument -> (invocation property, coercion)
_SAMPLING_PARAMETERS: tuple[tuple[str, str, Callable[[Any], Any]], ...] = (
    ("temperature", "temperature", _number),
    ("top_p", "top_p", _number),
    ("top_k", "top_k", _integer),
    ("frequency_penalty", "frequency_penalty", _number),
    ("presence_penalty", "presence_penalty", _number),
    ("seed", "seed", _integer),
)


def output_type(response_format: Any, modalities: Any = None) -> str | None:
    """``gen_ai.output.type`` from ``response_format`` / ``modalities``."""
    if response_format is not None:
        if isinstance(response_format, Mapping):
            kind = response_format.get("type")
            if kind in ("json_object", "json_schema"):
                return "json"
            if kind == "text":
                return "text"
            return None
        if isinstance(response_format, type):  # a pydantic model class: structured output
            return "json"
    if isinstance(modalities, (list, tuple)) and "audio" in modalities:
        return "speech"
    return None


_METADATA_HOLDERS = ("metadata", "litellm_metadata")


def metadata_value(call: Mapping[str, Any], key: str) -> Any:
    """``key`` of the call's ``metadata``, else of its ``litellm_metadata``: litellm, its
    Router and the proxy put their facts in either."""
    for holder in _METADATA_HOLDERS:
        metadata = call.get(holder)
        if metadata and isinstance(metadata, Mapping):
            value = metadata.get(key)
            if value is not None:
                return value
    return None


def session_id(call: Mapping[str, Any]) -> str | None:
    """The call's conversation: ``litellm_session_id`` or ``metadata["session_id"]``."""
    value = call.get("litellm_session_id")
    if not value and (call.get("metadata") or call.get("litellm_metadata")):  # _METADATA_HOLDERS
        value = metadata_value(call, "session_id")
    return value if isinstance(value, str) and value else None


def target(call: Mapping[str, Any]) -> tuple[str, str | None, str | None, int | None]:
    """``(provider name, request model, server address, server port)`` known before the call."""
    model = call.get("model")
    llm_provider = call.get("custom_llm_provider")
    api_base = call.get("api_base") or call.get("base_url")
    if isinstance(model, str) and model:
        if not isinstance(llm_provider, str):
            llm_provider = None
        if not isinstance(api_base, str):
            api_base = None
        model, llm_provider, api_base = resolve(model, llm_provider, api_base)
    else:
        model = None
    address, port = server_of(api_base)
    return provider_name(llm_provider), model, address, port


def apply_chat_request(invocation: Any, call: Mapping[str, Any]) -> None:
    """Record a chat request's parameters on an inference invocation."""
    for key, prop, coerce in _SAMPLING_PARAMETERS:
        value = call.get(key)
        if value is not None:
            value = coerce(value)
            if value is not None:
                setattr(invocation, prop, value)
    max_tokens = _integer(
        call.get("max_tokens")
        or call.get("max_completion_tokens")
        or call.get("max_output_tokens")  # Responses API
    )
    if max_tokens is not None:
        invocation.max_tokens = max_tokens
    stop = call.get("stop") or call.get("stop_sequences")  # Anthropic's name
    if stop is not None:
        invocation.stop_sequences = _strings(stop)
    choices = _integer(call.get("n"))
    if choices is not None and choices != 1:
        invocation.request_choice_count = choices
    out_type = output_type(call.get("response_format"), call.get("modalities"))
    if out_type is None:  # the Responses API's structured output: text={"format": {...}}
        text = call.get("text")
        if text is not None and isinstance(text, Mapping):  # `is not None`: no ABC check
            out_type = output_type(text.get("format"))
    if out_type is not None:
        invocation.output_type = out_type
    apply_litellm_request(invocation, call)


def apply_anthropic_request(invocation: Any, call: Mapping[str, Any]) -> None:
    """An Anthropic Messages request: a chat request, plus litellm's provider name, which
    prices the answer (``_response.price_tokens``): the answer carries no litellm cost."""
    apply_chat_request(invocation, call)
    model = call.get("model")
    if isinstance(model, str) and model:
        llm_provider = call.get("custom_llm_provider")
        api_base = call.get("api_base")
        _model, provider, _base = resolve(
            model,
            llm_provider if isinstance(llm_provider, str) else None,
            api_base if isinstance(api_base, str) else None,
        )
        if provider:
            invocation.attributes[attrs.LITELLM_PROVIDER] = provider


def request_for_output(kind: str) -> Callable[[Any, Mapping[str, Any]], None]:
    """Request reader for operations that generate one kind of output (image, speech, text)."""

    def apply(invocation: Any, call: Mapping[str, Any]) -> None:
        invocation.output_type = kind
        choices = _integer(call.get("n"))
        if choices is not None and choices != 1:
            invocation.request_choice_count = choices
        apply_litellm_request(invocation, call)

    return apply


def apply_embedding_request(invocation: Any, call: Mapping[str, Any]) -> None:
    dimensions = _integer(call.get("dimensions"))
    if dimensions is not None:
        invocation.dimension_count = dimensions
    encoding_format = call.get("encoding_format")
    if isinstance(encoding_format, str):
        invocation.encoding_formats = [encoding_format]
    apply_litellm_request(invocation, call)


_PROXY_METADATA: tuple[tuple[str, str], ...] = (
    ("user_api_key_alias", attrs.LITELLM_PROXY_KEY_ALIAS),
    ("user_api_key_team_id", attrs.LITELLM_PROXY_TEAM_ID),
    ("user_api_key_team_alias", attrs.LITELLM_PROXY_TEAM_ALIAS),
    ("user_api_key_org_id", attrs.LITELLM_PROXY_ORG_ID),
    ("user_api_key_org_alias", attrs.LITELLM_PROXY_ORG_ALIAS),
    ("user_api_key_user_id", attrs.LITELLM_PROXY_USER_ID),
)
"""Metadata the LiteLLM Proxy adds to each call about the key that authenticated the request
(``LiteLLMProxyRequestSetup.add_user_api_key_auth_to_request_metadata``) -> attribute. Only
these named keys are read: never ``user_api_key`` or ``user_api_key_hash`` (the key's hash)."""

_PROXY_END_USER = "user_api_key_end_user_id"
"""The proxy's end user: the body's ``user``, or a customer-id header."""


def apply_litellm_request(invocation: Any, call: Mapping[str, Any]) -> None:
    """Request facts every operation shares: the end user, litellm's tags, the Router's
    deployment and, behind the LiteLLM Proxy, the key's alias, team, organization and owner."""
    attributes = invocation.attributes
    user = call.get("user")
    if isinstance(user, str) and user:
        attributes[USER_ID] = user
    if not (call.get("metadata") or call.get("litellm_metadata")):  # _METADATA_HOLDERS
        return  # an SDK call without metadata: none of the facts below to look for
    tags = _strings(metadata_value(call, "tags"))
    if tags:
        attributes[attrs.LITELLM_REQUEST_TAGS] = tags
    model_info = metadata_value(call, "model_info")  # set by the Router for its deployment
    if (
        model_info is not None
        and isinstance(model_info, Mapping)
        and isinstance(model_info.get("id"), str)
    ):
        attributes[attrs.LITELLM_MODEL_ID] = model_info["id"]
    for key, name in _PROXY_METADATA:
        value = metadata_value(call, key)
        if isinstance(value, str) and value:
            attributes[name] = value
    if USER_ID not in attributes:
        end_user = metadata_value(call, _PROXY_END_USER)
        if isinstance(end_user, str) and end_user:
            attributes[USER_ID] = end_user
