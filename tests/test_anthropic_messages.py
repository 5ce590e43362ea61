"""Anthropic Messages end to end: ``litellm.anthropic_messages`` (what the Router's
``aanthropic_messages`` and so the Proxy's ``/v1/messages`` call) against the fake
Anthropic server, answered as a dict or streamed as SSE bytes."""

from __future__ import annotations

import gc
import json

import litellm
import pytest
from opentelemetry.trace import StatusCode

from fake_anthropic_server import (
    DEFAULT_TEXT,
    TOOL_INPUT,
    TOOL_NAME,
    TOOL_PREAMBLE,
    USAGE,
)
from genai_schema import validated

MODEL = "claude-haiku-4-5-20251001"
"""A model litellm's cost map prices, cache reads and writes included."""
MESSAGES = [{"role": "user", "content": "Say hello"}]
TOOL = {
    "name": TOOL_NAME,
    "description": "Current weather for a city",
    "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}},
}
ALL_INPUT = USAGE["input_tokens"] + USAGE["cache_read_input_tokens"]
ALL_INPUT += USAGE["cache_creation_input_tokens"]


def expected_cost() -> float:
    """What the fake server's usage costs at the prices in litellm's cost map."""
    price = litellm.model_cost[MODEL]
    return (
        USAGE["input_tokens"] * price["input_cost_per_token"]
        + USAGE["cache_read_input_tokens"] * price["cache_read_input_token_cost"]
        + USAGE["cache_creation_input_tokens"] * price["cache_creation_input_token_cost"]
        + USAGE["output_tokens"] * price["output_cost_per_token"]
    )


def call_args(llm, **kwargs):
    return {
        "model": f"anthropic/{MODEL}",
        "messages": MESSAGES,
        "max_tokens": 64,
        "api_base": llm.root,
        "api_key": "sk-ant-fake",
        **kwargs,
    }


def assert_answer(span, *, tool: bool = False) -> None:
    """The facts every successful call records, streamed or not."""
    attributes = span.attributes
    assert span.name == f"chat {MODEL}"
    assert span.status.status_code is StatusCode.UNSET
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "anthropic"
    assert attributes["gen_ai.request.model"] == MODEL
    assert attributes["gen_ai.request.max_tokens"] == 64
    assert attributes["gen_ai.response.model"] == MODEL
    assert attributes["gen_ai.response.id"].startswith("msg_fake_")
    assert attributes["gen_ai.response.finish_reasons"] == (("tool_call",) if tool else ("stop",))
    assert attributes["gen_ai.usage.input_tokens"] == ALL_INPUT
    assert attributes["gen_ai.usage.output_tokens"] == USAGE["output_tokens"]
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == USAGE["cache_read_input_tokens"]
    assert (
        attributes["gen_ai.usage.cache_creation.input_tokens"]
        == USAGE["cache_creation_input_tokens"]
    )
    assert attributes["litellm.provider"] == "anthropic"
    assert attributes["litellm.response.cost"] == pytest.approx(expected_cost())
    assert attributes["server.address"] == "127.0.0.1"
    if tool:
        assert attributes["litellm.response.tool_names"] == (TOOL_NAME,)
    else:
        assert "litellm.response.tool_names" not in attributes
    assert "sk-ant-fake" not in str(dict(attributes))  # never the API key


def assert_tool_content(attributes) -> None:
    """With content capture: the question, the system prompt, the tool, and the answer's
    text and tool call with its arguments."""
    content = validated(attributes)
    (question,) = content["gen_ai.input.messages"]
    assert question["role"] == "user"
    assert question["parts"] == [{"type": "text", "content": "Say hello"}]
    assert json.loads(attributes["gen_ai.system_instructions"]) == [
        {"type": "text", "content": "Be brief."}
    ]
    assert content["gen_ai.tool.definitions"][0]["name"] == TOOL_NAME
    (answer,) = content["gen_ai.output.messages"]
    assert answer["role"] == "assistant"
    assert answer["finish_reason"] == "tool_call"
    text, call = answer["parts"]
    assert text == {"type": "text", "content": TOOL_PREAMBLE}
    assert call["type"] == "tool_call"
    assert call["name"] == TOOL_NAME
    assert call["id"].startswith("toolu_fake_")
    assert call["arguments"] == TOOL_INPUT


def sse_events(chunks: list[bytes]) -> list[dict]:
    """The events of an SSE byte stream (however its chunks were cut)."""
    lines = b"".join(chunks).decode().splitlines()
    return [json.loads(line[5:]) for line in lines if line.startswith("data:")]


# --- answered as a dict -------------------------------------------------------------------


async def test_a_message(instrumented, anthropic_llm):
    result = await litellm.anthropic_messages(**call_args(anthropic_llm))
    assert isinstance(result, dict)  # what litellm 1.102.4 answers: a plain dict
    assert result["content"][0]["text"] == DEFAULT_TEXT
    span = instrumented.only()
    assert_answer(span)
    assert span.attributes["server.port"] == anthropic_llm.port
    assert "gen_ai.input.messages" not in span.attributes  # content capture is off
    assert "gen_ai.output.messages" not in span.attributes
    assert "gen_ai.system_instructions" not in span.attributes


async def test_a_tool_call_with_content(instrument, telemetry, anthropic_llm):
    instrument(capture_message_content="SPAN_ONLY")
    await litellm.anthropic_messages(**call_args(anthropic_llm, system="Be brief.", tools=[TOOL]))
    span = telemetry.only()
    assert_answer(span, tool=True)
    assert_tool_content(span.attributes)


@pytest.mark.parametrize("streamed", [False, True], ids=["dict", "stream"])
async def test_token_and_cost_metrics(instrumented, anthropic_llm, streamed):
    """Cache tokens count as input; the cost metric has the priced cost."""
    answer = await litellm.anthropic_messages(**call_args(anthropic_llm, stream=streamed))
    if streamed:
        async for _ in answer:
            pass
    points = instrumented.histogram_points("gen_ai.client.token.usage")
    by_type = {p.attributes["gen_ai.token.type"]: p.sum for p in points}
    assert by_type == {"input": ALL_INPUT, "output": USAGE["output_tokens"]}
    (cost,) = instrumented.histogram_points("gen_ai.usage.cost")
    assert cost.sum == pytest.approx(expected_cost())


async def test_a_provider_error_reaches_the_caller_unchanged(instrumented, anthropic_llm):
    with pytest.raises(litellm.InternalServerError) as raised:
        await litellm.anthropic_messages(
            **call_args(anthropic_llm, model=f"anthropic/{MODEL}-error-500")
        )
    span = instrumented.only()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == (
        f"{type(raised.value).__module__}.{type(raised.value).__qualname__}"
    )


async def test_the_interface_calling_it_is_one_span(instrumented, anthropic_llm):
    """``litellm.anthropic.messages.acreate`` and ``litellm.anthropic_messages`` are both
    traced; one call through both is one span."""
    await litellm.anthropic.messages.acreate(**call_args(anthropic_llm))
    assert_answer(instrumented.only())


def through_the_chat_adapter(llm, **kwargs):
    """The sync twin (``anthropic_messages_handler``, behind ``anthropic.messages.create``)
    with an OpenAI model: litellm answers through ``completion`` inside it."""
    return litellm.anthropic_messages_handler(
        model="openai/gpt-4o-mini",
        messages=MESSAGES,
        max_tokens=64,
        api_base=llm.base_url,
        api_key="k",
        **kwargs,
    )


def test_the_sync_function_through_the_chat_adapter(instrumented, llm):
    """One span, though litellm calls ``completion`` inside."""
    result = through_the_chat_adapter(llm)
    assert result["content"][0]["text"] == "Hello from fake server"
    span = instrumented.only()
    assert span.name == "chat gpt-4o-mini"
    assert span.attributes["gen_ai.provider.name"] == "openai"
    usage = result["usage"]  # Anthropic's input tokens leave out the cache's
    assert span.attributes["gen_ai.usage.input_tokens"] == usage["input_tokens"] + usage.get(
        "cache_read_input_tokens", 0
    )
    assert span.attributes["gen_ai.usage.output_tokens"] == result["usage"]["output_tokens"]
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert span.attributes["litellm.response.cost"] > 0


def test_sync_native_anthropic_fails_in_litellm_and_says_so(instrumented, anthropic_llm):
    """litellm 1.102.4 has no sync native Anthropic Messages call: its error reaches the
    caller as it is, and the span records it."""
    with pytest.raises(Exception) as raised:
        litellm.anthropic.messages.create(**call_args(anthropic_llm))
    span = instrumented.only()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"].endswith(type(raised.value).__qualname__)
    assert anthropic_llm.requests() == []


# --- streamed: SSE bytes ------------------------------------------------------------------


async def stream(llm, **kwargs):
    return await litellm.anthropic_messages(**call_args(llm, stream=True, **kwargs))


async def test_a_stream_read_to_the_end(instrumented, anthropic_llm):
    from litellm.llms.anthropic.experimental_pass_through.messages.streaming_iterator import (
        AnthropicMessagesStreamingResponse,
    )

    answer = await stream(anthropic_llm)
    assert isinstance(answer, AnthropicMessagesStreamingResponse)  # its type is kept
    assert instrumented.finished() == []  # lazy: nothing read yet
    chunks = [chunk async for chunk in answer]
    assert all(isinstance(chunk, bytes) for chunk in chunks)  # what litellm yields
    events = sse_events(chunks)
    assert events[0]["type"] == "message_start"
    assert events[-1]["type"] == "message_stop"
    span = instrumented.only()
    assert_answer(span)
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.response.time_to_first_chunk"] > 0


async def test_a_streamed_tool_call_with_content(instrument, telemetry, anthropic_llm):
    instrument(capture_message_content="SPAN_ONLY")
    answer = await stream(anthropic_llm, system="Be brief.", tools=[TOOL])
    async for _ in answer:
        pass
    span = telemetry.only()
    assert_answer(span, tool=True)
    assert_tool_content(span.attributes)


async def test_a_stream_closed_early_ends_its_span_once(instrumented, anthropic_llm):
    answer = await stream(anthropic_llm, model=f"anthropic/{MODEL}-slow")
    await answer.__anext__()
    await answer.aclose()
    await answer.aclose()
    span = instrumented.only()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["gen_ai.response.finish_reasons"] == ("error",)


async def test_an_abandoned_stream_ends_its_span(instrumented, anthropic_llm):
    answer = await stream(anthropic_llm, model=f"anthropic/{MODEL}-slow")
    await answer.__anext__()
    del answer
    gc.collect()
    span = instrumented.only()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "_OTHER"


async def test_a_stream_cut_by_the_provider_fails_its_span(instrumented, anthropic_llm):
    answer = await stream(anthropic_llm, model=f"anthropic/{MODEL}-stream-error")
    chunks = []
    with pytest.raises(Exception) as raised:  # litellm re-raises the transport error
        async for chunk in answer:
            chunks.append(chunk)
    span = instrumented.only()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"].endswith(type(raised.value).__qualname__)
    assert span.attributes["gen_ai.response.finish_reasons"] == ("error",)
    assert span.attributes["gen_ai.usage.input_tokens"] == ALL_INPUT  # message_start came


async def test_a_stream_the_provider_never_finished_fails_its_span(instrumented, anthropic_llm):
    """A provider stream that stops cleanly before ``message_delta``: litellm's stream just
    ends, without an exception; the span is still a failure."""
    answer = await stream(anthropic_llm, model=f"anthropic/{MODEL}-truncated")
    events = sse_events([chunk async for chunk in answer])
    assert events[-1]["type"] == "content_block_delta"
    span = instrumented.only()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "_OTHER"
    assert span.attributes["gen_ai.response.finish_reasons"] == ("error",)
    assert span.attributes["gen_ai.usage.input_tokens"] == ALL_INPUT


# --- the stream reader, chunk by chunk ----------------------------------------------------


def frames(events: list[dict]) -> bytes:
    return b"".join(
        f"event: {e['type']}\ndata: {json.dumps(e, separators=(',', ':'))}\n\n".encode()
        for e in events
    )


EVENTS = [
    {"type": "message_start", "message": {"id": "msg_1", "model": "claude-x", "usage": USAGE}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo"}},
    {"type": "content_block_stop", "index": 0},
    {
        "type": "content_block_start",
        "index": 1,
        "content_block": {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {}},
    },
    {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "input_json_delta", "partial_json": '{"location": "Par'},
    },
    {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "input_json_delta", "partial_json": 'is"}'},
    },
    {"type": "content_block_stop", "index": 1},
    {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 40}},
    {"type": "message_stop"},
]


@pytest.mark.parametrize("size", [1, 7, 64, 100_000])
def test_events_cut_anywhere_between_chunks(size):
    """litellm passes the provider's transport chunks through: an event can span chunks."""
    from opentelemetry_instrumentation_litellm._streams import AnthropicStreamState

    state = AnthropicStreamState(capture=True)
    data = frames(EVENTS)
    for start in range(0, len(data), size):
        state.add(data[start : start + size])
    assert state.complete
    assert state.reason == "tool_call"
    assert state.usage == {**USAGE, "output_tokens": 40}
    assert state.tool_names == ["get_weather"]
    text, tool = (block.as_content() for _, block in sorted(state.blocks.items()))
    assert text == {"type": "text", "text": "Hello"}
    assert tool == {"type": "tool_use", "id": "t1", "name": "get_weather", "input": TOOL_INPUT}


def test_without_content_capture_deltas_are_not_kept():
    from opentelemetry_instrumentation_litellm._streams import AnthropicStreamState

    state = AnthropicStreamState(capture=False)
    state.add(frames(EVENTS))
    assert state.tool_names == ["get_weather"]
    assert all(not block.pieces for block in state.blocks.values())
    assert state.reason == "tool_call"


def test_an_error_event_is_the_streams_failure():
    from opentelemetry_instrumentation_litellm._streams import AnthropicStreamState

    state = AnthropicStreamState(capture=False)
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    state.add(frames([*EVENTS[:3], error]))
    assert not state.complete
    assert state.failure is not None
    assert state.failure.type == "overloaded_error"


# --- through the Router -------------------------------------------------------------------


def router(llm) -> litellm.Router:
    """A Router made after ``instrument()`` (it binds ``litellm.anthropic_messages`` then)."""
    deployment = {"model": f"anthropic/{MODEL}", "api_base": llm.root, "api_key": "sk-ant-fake"}
    return litellm.Router(model_list=[{"model_name": "claude", "litellm_params": deployment}])


async def test_the_routers_anthropic_messages(instrumented, anthropic_llm):
    result = await router(anthropic_llm).aanthropic_messages(
        model="claude", messages=MESSAGES, max_tokens=64
    )
    assert result["content"][0]["text"] == DEFAULT_TEXT
    (span,) = instrumented.finished("chat ")
    assert_answer(span)
    assert span.attributes["litellm.model_id"]  # the deployment the Router chose


async def test_the_routers_anthropic_messages_streamed(instrument, telemetry, anthropic_llm):
    instrument(capture_message_content="SPAN_ONLY")
    answer = await router(anthropic_llm).aanthropic_messages(
        model="claude", messages=MESSAGES, max_tokens=64, stream=True, system="Be brief."
    )
    chunks = [chunk async for chunk in answer]
    assert sse_events(chunks)[-1]["type"] == "message_stop"
    (span,) = telemetry.finished("chat ")
    assert_answer(span)
    assert span.attributes["gen_ai.request.stream"] is True
    (answer_message,) = validated(span.attributes)["gen_ai.output.messages"]
    assert answer_message["parts"] == [{"type": "text", "content": DEFAULT_TEXT}]


async def test_the_sync_function_streaming_through_the_chat_adapter(instrumented, llm):
    """litellm 1.102.4's sync ``anthropic_messages_handler`` answers a stream of another
    provider (its chat adapter) with an async generator: it stays one, and traced."""
    answer = through_the_chat_adapter(llm, stream=True)
    chunks = [chunk async for chunk in answer]
    assert chunks
    span = instrumented.only()
    assert span.name == "chat gpt-4o-mini"
    assert span.status.status_code is StatusCode.UNSET
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert span.attributes["gen_ai.usage.output_tokens"] > 0
