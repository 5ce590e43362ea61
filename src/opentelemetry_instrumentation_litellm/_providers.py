"""Where a call goes: the conventions' provider name and the server litellm talks to."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

# litellm's provider names (``custom_llm_provider``) -> the well-known values of
# ``gen_ai.provider.name``. Any other provider is recorded under litellm's name.
_WELL_KNOWN: dict[str, str] = {
    "openai": "openai",
    "text-completion-openai": "openai",
    "chatgpt": "openai",
    "anthropic": "anthropic",
    "anthropic_text": "anthropic",
    "bedrock": "aws.bedrock",
    "bedrock_converse": "aws.bedrock",
    "azure": "azure.ai.openai",
    "azure_text": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "gemini": "gcp.gemini",
    "vertex_ai": "gcp.vertex_ai",
    "vertex_ai_beta": "gcp.vertex_ai",
    "cohere": "cohere",
    "cohere_chat": "cohere",
    "mistral": "mistral_ai",
    "codestral": "mistral_ai",
    "text-completion-codestral": "mistral_ai",
    "groq": "groq",
    "deepseek": "deepseek",
    "xai": "x_ai",
    "perplexity": "perplexity",
    "watsonx": "ibm.watsonx.ai",
    "watsonx_text": "ibm.watsonx.ai",
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
