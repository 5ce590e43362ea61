"""gen_ai.client.operation.duration and gen_ai.client.token.usage."""

from __future__ import annotations

import litellm
import pytest

MESSAGES = [{"role": "user", "content": "hi"}]


def test_duration_and_token_usage(instrumented, llm):
    litellm.completion(
        model="openai/gpt-4o-mini", messages=MESSAGES, api_base=llm.base_url, api_key="k"
    )
    (duration,) = instrumented.histogram_points("gen_ai.client.operation.duration")
    assert duration.count == 1
    assert 0 < duration.sum < 30
    expected = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "server.address": "127.0.0.1",
        "server.port": llm.port,
    }
    assert dict(duration.attributes) == expected
    tokens = {
        p.attributes["gen_ai.token.type"]: p
        for p in instrumented.histogram_points("gen_ai.client.token.usage")
    }
    assert set(tokens) == {"input", "output"}
    assert tokens["input"].sum == 11 and tokens["output"].sum == 7
    assert {k: v for k, v in tokens["input"].attributes.items() if k != "gen_ai.token.type"} == (
        expected
    )


def test_error_is_on_the_duration_metric(instrumented):
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(
            "gpt-4o-mini",
            MESSAGES,
            mock_response=litellm.RateLimitError("x", llm_provider="openai", model="gpt-4o-mini"),
        )
    (duration,) = instrumented.histogram_points("gen_ai.client.operation.duration")
    assert duration.attributes["error.type"] == "litellm.exceptions.RateLimitError"
    assert instrumented.histogram_points("gen_ai.client.token.usage") == []
