"""Where a call goes: the conventions' provider name and the server litellm talks to."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from opentelemetry_instrumentation_litellm._upstream import GenAiProviderNameValues as _P

# litellm's provider names (``custom_llm_provider``) -> the well-known values of
# ``gen_ai.provider.name``. Any other provider is recorded under litellm's name.
_WELL_KNOWN: dict[str, str] = {
    "openai": _P.OPENAI.value,
    "text-completion-openai": _P.OPENAI.value,
    "chatgpt": _P.OPENAI.value,
    "anthropic": _P.ANTHROPIC.value,
    "anthropic_text": _P.ANTHROPIC.value,
    "bedrock": _P.AWS_BEDROCK.value,
    "bedrock_converse": _P.AWS_BEDROCK.value,
    "azure": _P.AZURE_AI_OPENAI.value,
    "azure_text": _P.AZURE_AI_OPENAI.value,
    "azure_ai": _P.AZURE_AI_INFERENCE.value,
    "gemini": _P.GCP_GEMINI.value,
    "vertex_ai": _P.GCP_VERTEX_AI.value,
    "vertex_ai_beta": _P.GCP_VERTEX_AI.value,
    "cohere": _P.COHERE.value,
    "cohere_chat": _P.COHERE.value,
    "mistral": _P.MISTRAL_AI.value,
    "codestral": _P.MISTRAL_AI.value,
    "text-completion-codestral": _P.MISTRAL_AI.value,
    "groq": _P.GROQ.value,
    "deepseek": _P.DEEPSEEK.value,
    "xai": _P.X_AI.value,
    "perplexity": _P.PERPLEXITY.value,
    "watsonx": _P.IBM_WATSONX_AI.value,
    "watsonx_text": _P.IBM_WATSONX_AI.value,
}

UNKNOWN_PROVIDER = "_OTHER"

_DEFAULT_PORTS = {"https": 443, "http": 80}


def provider_name(litellm_provider: str | None) -> str:
    """The ``gen_ai.provider.name`` for litellm's provider name."""
    if not litellm_provider:
        return UNKNOWN_PROVIDER
    return _WELL_KNOWN.get(litellm_provider, litellm_provider)


@lru_cache(maxsize=256)
def server_of(api_base: str | None) -> tuple[str | None, int | None]:
    """``(server.address, server.port)`` of an API base URL.

    Only the host and port are kept: user info, paths and query strings (which
    can carry credentials) never leave this function.
    """
    if not api_base or not isinstance(api_base, str):
        return None, None
    try:
        parts = urlsplit(api_base if "//" in api_base else f"//{api_base}")
        host = parts.hostname
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None, None
    return host, port if host else None


@lru_cache(maxsize=512)
def resolve(
    model: str, custom_llm_provider: str | None, api_base: str | None
) -> tuple[str, str | None, str | None]:
    """``(model the provider sees, litellm provider, api base)`` for a model string.

    Asks litellm itself (``get_llm_provider``), so routing prefixes such as
    ``openai/`` or ``bedrock/`` are understood exactly as litellm understands them.
    The result is cached; the API key litellm may also return is dropped here.
    """
    import litellm

    try:
        resolved_model, provider, _key, resolved_base = litellm.get_llm_provider(
            model=model, custom_llm_provider=custom_llm_provider, api_base=api_base
        )
    except Exception:  # litellm raises for models it cannot route: it will fail the call too
        return model, custom_llm_provider, api_base
    return resolved_model, provider, api_base or resolved_base
