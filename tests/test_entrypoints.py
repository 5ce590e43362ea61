"""Every litellm entry point gets the right span, sync and async; nested calls make no duplicate."""

from __future__ import annotations

import inspect
import json

import litellm
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from matrix import litellm_version
from opentelemetry_instrumentation_litellm import _upstream

MESSAGES = [{"role": "user", "content": "hi"}]


def local(llm) -> dict:
    return {"api_base": llm.base_url, "api_key": "sk-fake"}


# --- embeddings ----------------------------------------------------------------------------


def test_embedding_over_http(instrumented, llm):
    result = litellm.embedding(
        model="openai/text-embedding-3-small",
        input=["a", "b"],
        dimensions=16,
        encoding_format="float",
        user="u-1",
        **local(llm),
    )
    assert len(result.data) == 2
    span = instrumented.only()
    assert span.name == "embeddings text-embedding-3-small"
    assert span.kind is SpanKind.CLIENT
    attributes = span.attributes
    assert attributes["gen_ai.operation.name"] == "embeddings"
    assert attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.request.model"] == "text-embedding-3-small"
    assert attributes["gen_ai.embeddings.dimension.count"] == 16
    assert attributes["gen_ai.request.encoding_formats"] == ("float",)
    assert attributes["gen_ai.usage.input_tokens"] == 5
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["server.port"] == llm.port
    assert attributes["user.id"] == "u-1"
    (tokens,) = instrumented.histogram_points("gen_ai.client.token.usage")
    assert tokens.attributes["gen_ai.token.type"] == "input" and tokens.sum == 5


async def test_aembedding_positional_and_dimension_from_response(instrumented):
    await litellm.aembedding("openai/text-embedding-3-small", ["a"], mock_response=[0.1, 0.2, 0.3])
    span = instrumented.only()
    assert span.name == "embeddings text-embedding-3-small"
    assert span.attributes["gen_ai.embeddings.dimension.count"] == 3
    assert span.attributes["litellm.response.cost"] > 0


# --- text completion -----------------------------------------------------------------------


def test_text_completion_is_one_span(instrumented, llm):
    """litellm routes text_completion through completion: still exactly one span."""
    result = litellm.text_completion(
        model="openai/gpt-3.5-turbo-instruct", prompt="Once", max_tokens=5, **local(llm)
    )
    assert result.choices[0].text
    span = instrumented.only()
    assert span.name == "text_completion gpt-3.5-turbo-instruct"
    assert span.attributes["gen_ai.operation.name"] == "text_completion"
    assert span.attributes["gen_ai.request.max_tokens"] == 5
    assert span.attributes["gen_ai.usage.input_tokens"] == 4
    assert span.attributes["gen_ai.usage.output_tokens"] == 5
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)


async def test_atext_completion_positional_prompt_with_content(instrument, telemetry):
    instrument(capture_message_content="SPAN_ONLY")
    await litellm.atext_completion("Tell me", model="gpt-3.5-turbo-instruct", mock_response="ok")
    span = telemetry.only()
    assert span.name == "text_completion gpt-3.5-turbo-instruct"
    assert json.loads(span.attributes["gen_ai.input.messages"])[0]["parts"] == [
        {"type": "text", "content": "Tell me"}
    ]
    (out,) = json.loads(span.attributes["gen_ai.output.messages"])
    assert out["parts"] == [{"type": "text", "content": "ok"}]


def test_text_completion_stream(instrumented, llm):
    stream = litellm.text_completion(
        model="openai/gpt-3.5-turbo-instruct",
        prompt="Once",
        stream=True,
        mock_response="upon a time",
    )
    text = "".join(chunk.choices[0].text or "" for chunk in stream)
    assert text == "upon a time"
    span = instrumented.only()
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.status.status_code is StatusCode.UNSET


# --- Responses API -------------------------------------------------------------------------


def test_responses(instrument, telemetry):
    instrument(capture_message_content="SPAN_ONLY")
    litellm.responses(
        model="openai/gpt-4o-mini",
        input="Say hi",
        instructions="Be brief.",
        max_output_tokens=50,
        temperature=0.5,
        mock_response="Hi!",
    )
    span = telemetry.only()
    attributes = span.attributes
    assert span.name == "chat gpt-4o-mini"
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.request.max_tokens"] == 50
    assert attributes["gen_ai.request.temperature"] == 0.5
    assert attributes["gen_ai.response.id"].startswith("resp_")
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["gen_ai.usage.input_tokens"] > 0
    assert json.loads(attributes["gen_ai.system_instructions"]) == [
        {"type": "text", "content": "Be brief."}
    ]
    assert json.loads(attributes["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "Say hi"}], "name": None}
    ]
    (out,) = json.loads(attributes["gen_ai.output.messages"])
    assert out["parts"] == [{"type": "text", "content": "Hi!"}]


async def test_aresponses_with_items(instrument, telemetry):
    instrument(capture_message_content="SPAN_ONLY")
    await litellm.aresponses(
        model="openai/gpt-4o-mini",
        input=[
            {"role": "user", "content": [{"type": "input_text", "text": "Weather?"}]},
            {
                "type": "function_call",
                "call_id": "c1",
                "name": "get_weather",
                "arguments": '{"location": "Paris"}',
            },
            {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        ],
        mock_response="Sunny.",
    )
    messages = json.loads(telemetry.only().attributes["gen_ai.input.messages"])
    assert [m["role"] for m in messages] == ["user", "assistant", "tool"]
    assert messages[1]["parts"] == [
        {"type": "tool_call", "id": "c1", "name": "get_weather", "arguments": {"location": "Paris"}}
    ]
    assert messages[2]["parts"] == [{"type": "tool_call_response", "id": "c1", "response": "sunny"}]


# --- images, Anthropic messages, retries ---------------------------------------------------


def test_image_generation(instrument, telemetry):
    instrument(capture_message_content="SPAN_ONLY")
    response = litellm.image_generation(
        model="openai/dall-e-3", prompt="a cat", mock_response="https://example.com/cat.png"
    )
    span = telemetry.only()
    assert span.name == "generate_content dall-e-3"
    assert span.attributes["gen_ai.operation.name"] == "generate_content"
    assert span.attributes["gen_ai.output.type"] == "image"
    # the cost litellm computed (1.110's cost map has no dall-e-3: none, and none invented)
    cost = response._hidden_params.get("response_cost")
    assert span.attributes.get("litellm.response.cost") == cost
    assert cost is None or cost > 0
    (out,) = json.loads(span.attributes["gen_ai.output.messages"])
    assert out["parts"][0]["type"] == "uri"


async def test_aimage_generation(instrumented):
    await litellm.aimage_generation(model="openai/dall-e-3", prompt="a dog", mock_response="u")
    assert instrumented.only().name == "generate_content dall-e-3"


OLD_ANTHROPIC_MESSAGES = pytest.mark.skipif(
    litellm_version() < (1, 102),
    reason="litellm 1.74's anthropic messages have no sync path and ignore mock_response",
)


ANTHROPIC_TOOL = {
    "name": "get_weather",
    "description": "Weather",
    "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}},
}


@OLD_ANTHROPIC_MESSAGES
def test_anthropic_messages(instrument, telemetry):
    instrument(capture_message_content="SPAN_ONLY")
    result = litellm.anthropic.messages.create(
        model="anthropic/claude-3-5-sonnet-20240620",
        messages=[{"role": "user", "content": [{"type": "text", "text": "Hello"}]}],
        system="Be brief.",
        max_tokens=64,
        tools=[ANTHROPIC_TOOL],
        mock_response="Hi there",
    )
    assert result["content"][0]["text"] == "Hi there"
    span = telemetry.only()
    attributes = span.attributes
    assert span.name == "chat claude-3-5-sonnet-20240620"
    assert attributes["gen_ai.provider.name"] == "anthropic"
    assert attributes["gen_ai.request.max_tokens"] == 64
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["gen_ai.usage.input_tokens"] == result["usage"]["input_tokens"]
    assert json.loads(attributes["gen_ai.system_instructions"]) == [
        {"type": "text", "content": "Be brief."}
    ]
    assert json.loads(attributes["gen_ai.tool.definitions"])[0]["name"] == "get_weather"
    (out,) = json.loads(attributes["gen_ai.output.messages"])
    assert out["parts"] == [{"type": "text", "content": "Hi there"}]


@OLD_ANTHROPIC_MESSAGES
async def test_anthropic_messages_async(instrumented):
    await litellm.anthropic.messages.acreate(
        model="anthropic/claude-3-5-sonnet-20240620",
        messages=MESSAGES,
        max_tokens=8,
        mock_response="ok",
    )
    span = instrumented.only()
    assert span.attributes["gen_ai.operation.name"] == "chat"
    assert span.attributes["gen_ai.provider.name"] == "anthropic"


def test_completion_with_retries(instrumented):
    litellm.completion_with_retries(
        model="gpt-4o-mini", messages=MESSAGES, mock_response="ok", num_retries=2
    )
    span = instrumented.only()
    assert span.name == "chat gpt-4o-mini"
    assert span.attributes["gen_ai.usage.output_tokens"] == 20


def _litellm_retries_async() -> bool:
    """litellm 1.74's ``acompletion_with_retries`` awaits a sync tenacity retryer around the
    sync ``completion`` and fails untraced too; later releases retry asynchronously."""
    return "AsyncRetrying" in inspect.getsource(inspect.unwrap(litellm.acompletion_with_retries))


@pytest.mark.skipif(not _litellm_retries_async(), reason="litellm's own is broken (1.74)")
async def test_acompletion_with_retries(instrumented):
    await litellm.acompletion_with_retries(
        model="gpt-4o-mini", messages=MESSAGES, mock_response="ok", num_retries=1
    )
    assert instrumented.only().name == "chat gpt-4o-mini"


# --- no duplicates -------------------------------------------------------------------------


class _CallsLitellmAgain(litellm.integrations.custom_logger.CustomLogger):
    """Code running inside a litellm call that calls litellm itself."""

    def log_pre_api_call(self, model, messages, kwargs):
        if kwargs.get("litellm_params", {}).get("metadata", {}).get("outer"):
            litellm.completion("gpt-4o-mini", MESSAGES, mock_response="inner")


def test_litellm_calling_itself_is_one_span(instrumented, litellm_callbacks):
    logger = _CallsLitellmAgain()
    litellm.callbacks = [logger]
    litellm.completion("gpt-4o-mini", MESSAGES, mock_response="outer", metadata={"outer": True})
    spans = instrumented.finished()
    assert [s.name for s in spans] == ["chat gpt-4o-mini"]


def test_every_entry_point_is_wrapped_and_restored(telemetry):
    from importlib import import_module

    from opentelemetry_instrumentation_litellm import LiteLLMInstrumentor
    from opentelemetry_instrumentation_litellm._entrypoints import ENTRY_POINTS

    def present(entry):  # this litellm may lack the module or the function (older releases)
        try:
            return getattr(import_module(entry.module), entry.name, None)
        except Exception:
            return None

    def current():
        return {(e.module, e.name): f for e in ENTRY_POINTS if (f := present(e)) is not None}

    before = current()
    router_before = {n: getattr(litellm.Router, n) for n in ("completion", "acompletion")}
    instrumentor = LiteLLMInstrumentor()
    instrumentor.instrument(tracer_provider=telemetry.tracer_provider)
    try:
        wrapped = current()
        assert all(wrapped[k].__wrapped__ is before[k] for k in before)
        assert all(hasattr(getattr(litellm.Router, n), "__wrapped__") for n in router_before)
    finally:
        instrumentor.uninstrument()
    assert current() == before
    assert {n: getattr(litellm.Router, n) for n in router_before} == router_before


@pytest.mark.parametrize("name", ["acompletion", "aembedding", "atext_completion", "aresponses"])
def test_async_entry_points_stay_coroutine_functions(instrumented, name):
    import inspect

    assert inspect.iscoroutinefunction(getattr(litellm, name))


# --- over the local HTTP server: Responses streams, audio, rerank ---------------------------


def test_responses_stream_over_http(instrument, telemetry, llm):
    instrument(capture_message_content="SPAN_ONLY")
    stream = litellm.responses(
        model="openai/gpt-4o-mini", input="Say hi", stream=True, max_retries=0, **local(llm)
    )
    kinds = [event.type for event in stream]
    assert kinds[-1] == "response.completed"
    span = telemetry.only()
    attributes = span.attributes
    assert span.name == "chat gpt-4o-mini"
    assert attributes["gen_ai.request.stream"] is True
    assert attributes["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert attributes["gen_ai.usage.input_tokens"] == 12
    assert attributes["gen_ai.usage.output_tokens"] == 6
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 2
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert "gen_ai.response.time_to_first_chunk" in attributes
    (out,) = json.loads(attributes["gen_ai.output.messages"])
    assert out["parts"] == [{"type": "text", "content": "Hello from fake server"}]


async def test_aresponses_tool_call_stream_over_http(instrumented, llm):
    stream = await litellm.aresponses(
        model="openai/gpt-4o-mini-tool",
        input="Weather in Paris?",
        stream=True,
        tools=[{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}],
        **local(llm),
    )
    async for _ in stream:
        pass
    attributes = instrumented.only().attributes
    assert attributes["gen_ai.response.finish_reasons"] == ("tool_call",)
    assert attributes["litellm.response.tool_names"] == ("get_weather",)


def test_responses_stream_closed_early_is_incomplete(instrumented, llm):
    stream = litellm.responses(model="openai/gpt-4o-mini", input="hi", stream=True, **local(llm))
    next(iter(stream))
    stream.close()
    span = instrumented.only()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["gen_ai.response.finish_reasons"] == ("error",)


def test_speech(instrumented, llm):
    audio = litellm.speech(model="openai/tts-1", input="hello", voice="alloy", **local(llm))
    assert len(audio.content) == 64
    span = instrumented.only()
    assert span.name == "generate_content tts-1"
    assert span.attributes["gen_ai.output.type"] == "speech"
    assert span.attributes["server.port"] == llm.port


async def test_aspeech(instrumented, llm):
    await litellm.aspeech(model="openai/tts-1", input="hello", voice="alloy", **local(llm))
    assert instrumented.only().attributes["gen_ai.operation.name"] == "generate_content"


def test_transcription(instrument, telemetry, llm):
    instrument(capture_message_content="SPAN_ONLY")
    result = litellm.transcription(
        model="openai/whisper-1", file=("a.mp3", b"ID3fake", "audio/mpeg"), **local(llm)
    )
    assert result.text == "Hello from the audio file"
    span = telemetry.only()
    assert span.name == "generate_content whisper-1"
    assert span.attributes["gen_ai.output.type"] == "text"
    (out,) = json.loads(span.attributes["gen_ai.output.messages"])
    assert out["parts"] == [{"type": "text", "content": "Hello from the audio file"}]


async def test_atranscription(instrumented, llm):
    await litellm.atranscription(
        model="openai/whisper-1", file=("a.mp3", b"ID3fake", "audio/mpeg"), **local(llm)
    )
    assert instrumented.only().name == "generate_content whisper-1"


def test_rerank(instrumented, llm):
    result = litellm.rerank(
        model="cohere/rerank-english-v3.0",
        query="paris weather",
        documents=["weather in paris", "berlin", "paris food"],
        top_n=2,
        **local(llm),
    )
    assert len(result.results) == 2
    span = instrumented.only()
    assert span.name == "rerank rerank-english-v3.0"
    assert span.attributes["gen_ai.operation.name"] == "rerank"
    assert span.attributes["gen_ai.provider.name"] == "cohere"
    assert span.attributes["gen_ai.usage.input_tokens"] == 20


async def test_arerank(instrumented, llm):
    await litellm.arerank(
        model="cohere/rerank-english-v3.0", query="q", documents=["a", "b"], top_n=1, **local(llm)
    )
    assert instrumented.only().attributes["gen_ai.operation.name"] == "rerank"


# --- other instrumentations at the same time -----------------------------------------------


def test_an_openai_sdk_instrumentation_inside_does_not_duplicate(instrumented, llm, monkeypatch):
    """An instrumentation of the OpenAI SDK built on util-genai (as the official one is) sees our
    span's inference context and records no second chat span for the request litellm makes.

    The official opentelemetry-instrumentation-openai-v2 (2.4b0, the newest published) cannot be
    imported beside opentelemetry-util-genai 1.3b0, so this wraps the OpenAI SDK the same way."""
    import openai.resources.chat.completions as chat_api
    import wrapt
    from opentelemetry.util.genai.handler import TelemetryHandler

    handler = TelemetryHandler(
        tracer_provider=instrumented.tracer_provider, instrumentation_scope_name="openai-sdk"
    )
    calls = []

    def traced_create(wrapped, instance, args, kwargs):
        calls.append(kwargs["model"])
        with handler.inference("openai", request_model=kwargs["model"]):
            return wrapped(*args, **kwargs)  # litellm asks for the raw HTTP response

    monkeypatch.setattr(
        chat_api.Completions,
        "create",
        wrapt.FunctionWrapper(chat_api.Completions.create, traced_create),
    )
    # A key of its own: litellm caches OpenAI clients (and their raw-response wrappers) per key.
    litellm.completion(
        model="openai/gpt-4o-mini",
        messages=MESSAGES,
        api_base=llm.base_url,
        api_key="sk-sdk-instrumentation-test",
    )
    if not calls:  # litellm 1.110 calls OpenAI over its own HTTP client, not the SDK
        pytest.skip(f"litellm {_upstream.litellm_version()} does not call the OpenAI SDK")
    assert calls == ["gpt-4o-mini"]  # the SDK instrumentation really ran, over HTTP
    (span,) = instrumented.finished()
    assert span.instrumentation_scope.name == "opentelemetry_instrumentation_litellm"


def test_litellm_otel_callback_alongside(instrumented, monkeypatch, litellm_callbacks):
    """litellm's own `otel` callback adds its spans under ours; there is still one chat span."""
    litellm.callbacks = ["otel"]
    tracer = instrumented.tracer_provider.get_tracer("app")
    from opentelemetry import trace

    monkeypatch.setattr(trace, "_TRACER_PROVIDER", instrumented.tracer_provider)
    with tracer.start_as_current_span("app"):
        litellm.completion("gpt-4o-mini", MESSAGES, mock_response="ok")
    instrumented.tracer_provider.force_flush()
    chats = [s for s in instrumented.finished() if s.attributes.get("gen_ai.operation.name")]
    assert [s.name for s in chats] == ["chat gpt-4o-mini"]
    ours = chats[0]
    others = [s for s in instrumented.finished() if s not in chats and s.name != "app"]
    assert all(s.parent is not None and s.parent.span_id == ours.context.span_id for s in others)
