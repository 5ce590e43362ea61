"""Opt-in OpenInference attributes (for Arize Phoenix), derived from the same call data."""

from __future__ import annotations

import litellm
import pytest

MESSAGES = [
    {"role": "system", "content": "Be terse."},
    {"role": "user", "content": "Say hello in French."},
]
ANSWER = "Bonjour !"


def chat(**kwargs):
    return litellm.completion(
        model="gpt-4o-mini", messages=MESSAGES, mock_response=ANSWER, **kwargs
    )


def oi_keys(span) -> set[str]:
    prefixes = ("openinference.", "input.", "output.", "llm.", "embedding.")
    return {k for k in span.attributes if k.startswith(prefixes)}


def test_off_by_default(instrument, telemetry, monkeypatch):
    monkeypatch.delenv("OTEL_INSTRUMENTATION_LITELLM_OPENINFERENCE", raising=False)
    instrument(capture_message_content="SPAN_ONLY")
    chat()
    assert oi_keys(telemetry.only()) == set()


def test_argument_with_content(instrument, telemetry):
    instrument(openinference=True, capture_message_content="SPAN_ONLY")
    chat()
    attributes = telemetry.only().attributes
    assert attributes["openinference.span.kind"] == "LLM"
    assert attributes["input.value"] == "Say hello in French."
    assert attributes["input.mime_type"] == "text/plain"
    assert attributes["output.value"] == ANSWER
    assert attributes["output.mime_type"] == "text/plain"
    assert attributes["llm.model_name"] == attributes["gen_ai.response.model"]
    assert attributes["llm.provider"] == "openai"
    assert attributes["llm.system"] == "openai"
    assert attributes["llm.token_count.prompt"] == attributes["gen_ai.usage.input_tokens"] == 10
    assert attributes["llm.token_count.completion"] == 20
    assert attributes["llm.token_count.total"] == 30


@pytest.mark.parametrize("mode", ["NO_CONTENT", "EVENT_ONLY"])
def test_environment_variable_without_span_content(instrument, telemetry, monkeypatch, mode):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_LITELLM_OPENINFERENCE", "true")
    instrument(capture_message_content=mode)
    chat()
    span = telemetry.only()
    assert span.attributes["openinference.span.kind"] == "LLM"
    assert span.attributes["llm.token_count.total"] == 30
    assert not oi_keys(span) & {"input.value", "output.value"}
    assert "Bonjour" not in str(dict(span.attributes))


def test_argument_overrides_the_environment(instrument, telemetry, monkeypatch):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_LITELLM_OPENINFERENCE", "true")
    instrument(openinference=False)
    chat()
    assert oi_keys(telemetry.only()) == set()


def test_stream(instrument, telemetry):
    instrument(openinference=True, capture_message_content="SPAN_ONLY")
    stream = chat(stream=True, stream_options={"include_usage": True})
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    attributes = telemetry.only().attributes
    assert attributes["output.value"] == text == ANSWER
    assert attributes["input.value"] == "Say hello in French."
    assert attributes["llm.token_count.total"] > 0


def test_failed_call_has_kind_and_input(instrument, telemetry):
    instrument(openinference=True, capture_message_content="SPAN_ONLY")
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(
            model="gpt-4o-mini",
            messages=MESSAGES,
            mock_response=litellm.RateLimitError("x", llm_provider="openai", model="gpt-4o-mini"),
        )
    attributes = telemetry.only().attributes
    assert attributes["openinference.span.kind"] == "LLM"
    assert attributes["input.value"] == "Say hello in French."
    assert "output.value" not in attributes


def test_embedding(instrument, telemetry):
    instrument(openinference=True)
    litellm.embedding("openai/text-embedding-3-small", ["a"], mock_response=[0.1, 0.2, 0.3])
    attributes = telemetry.only().attributes
    assert attributes["openinference.span.kind"] == "EMBEDDING"
    assert attributes["embedding.model_name"] == "text-embedding-3-small"
    assert attributes["llm.provider"] == "openai"
