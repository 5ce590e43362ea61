"""Streamed chat: one span per stream, ended exactly once, whatever the consumer does."""

from __future__ import annotations

import gc

import litellm
import pytest
from litellm import CustomStreamWrapper
from opentelemetry import trace
from opentelemetry.trace import StatusCode

from matrix import litellm_stream_cost, litellm_version

MESSAGES = [{"role": "user", "content": "Tell me a story"}]
TEXT = "Once upon a time there was a stream."


def mock_stream(**kwargs):
    return litellm.completion(
        model="gpt-4o-mini", messages=MESSAGES, mock_response=TEXT, stream=True, **kwargs
    )


async def amock_stream(**kwargs):
    return await litellm.acompletion(
        model="gpt-4o-mini", messages=MESSAGES, mock_response=TEXT, stream=True, **kwargs
    )


def http_stream(llm, model="openai/gpt-4o-mini", **kwargs):
    return litellm.completion(
        model=model,
        messages=MESSAGES,
        api_base=llm.base_url,
        api_key="k",
        stream=True,
        max_retries=0,
        **kwargs,
    )


async def ahttp_stream(llm, model="openai/gpt-4o-mini", **kwargs):
    return await litellm.acompletion(
        model=model,
        messages=MESSAGES,
        api_base=llm.base_url,
        api_key="k",
        stream=True,
        max_retries=0,
        **kwargs,
    )


def text_of(chunks) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def provider_model(stream, provider: str, requested: str) -> str:
    """The ``gen_ai.response.model`` a consumed stream gets: the provider's where litellm keeps
    it (``_upstream.PROVIDER_RESPONSE_MODEL``), else the requested model litellm rewrote every
    chunk to (litellm before ~1.100, docs/troubleshooting.md)."""
    from opentelemetry_instrumentation_litellm import _upstream

    return provider if hasattr(stream, _upstream.PROVIDER_RESPONSE_MODEL) else requested


def assert_succeeded(span):
    assert span.status.status_code is StatusCode.UNSET
    assert "error.type" not in span.attributes
    assert span.attributes["gen_ai.request.stream"] is True


def assert_abandoned(span, error_type="_OTHER"):
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == error_type
    assert "error" in span.attributes["gen_ai.response.finish_reasons"]


# --- the stream object the user gets -----------------------------------------------------


def test_stream_keeps_its_type_and_laziness(instrumented):
    stream = mock_stream()
    assert isinstance(stream, CustomStreamWrapper)
    assert stream.model == "gpt-4o-mini"  # attributes forward
    assert instrumented.finished() == []  # nothing read yet, nothing ended
    assert text_of(stream) == TEXT
    assert len(instrumented.finished()) == 1


def test_exhausted_sync_stream_over_http(instrumented, llm):
    stream = http_stream(llm, stream_options={"include_usage": True})
    chunks = list(stream)
    assert text_of(chunks) == "Hello from fake server"
    span = instrumented.only()
    assert_succeeded(span)
    assert span.name == "chat gpt-4o-mini"
    attributes = span.attributes
    expected = provider_model(stream, "gpt-4o-mini-2024-07-18", "gpt-4o-mini")
    assert attributes["gen_ai.response.model"] == expected
    assert attributes["gen_ai.response.id"].startswith("chatcmpl-fake-")
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["gen_ai.usage.input_tokens"] == 11
    assert attributes["gen_ai.usage.output_tokens"] == 7
    assert attributes["server.port"] == llm.port
    assert 0 <= attributes["gen_ai.response.time_to_first_chunk"] < 10
    cost = litellm_stream_cost(chunks)
    if cost is None:  # litellm 1.74 puts no cost on a stream's usage: none is invented
        assert litellm_version() < (1, 102)
        assert "litellm.response.cost" not in attributes
    else:
        assert attributes["litellm.response.cost"] == cost > 0


async def test_exhausted_async_stream_over_http(instrumented, llm):
    stream = await ahttp_stream(llm, stream_options={"include_usage": True})
    assert isinstance(stream, CustomStreamWrapper)
    chunks = [chunk async for chunk in stream]
    assert text_of(chunks) == "Hello from fake server"
    span = instrumented.only()
    assert_succeeded(span)
    assert span.attributes["gen_ai.usage.output_tokens"] == 7
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)


def test_stream_metrics(instrumented, llm):
    stream = http_stream(llm, model="openai/gpt-4o-mini-slow")
    text_of(stream)
    (first,) = instrumented.histogram_points("gen_ai.client.operation.time_to_first_chunk")
    assert first.count == 1
    (per_chunk,) = instrumented.histogram_points("gen_ai.client.operation.time_per_output_chunk")
    assert per_chunk.count >= 3
    assert per_chunk.sum >= 0.03  # the server sleeps 0.05 s between chunks
    (duration,) = instrumented.histogram_points("gen_ai.client.operation.duration")
    assert duration.attributes["gen_ai.request.model"] == "gpt-4o-mini-slow"
    assert duration.attributes["gen_ai.response.model"] == provider_model(
        stream, "gpt-4o-mini-slow-2024-07-18", "gpt-4o-mini-slow"
    )


def test_span_is_current_only_while_litellm_produces_a_chunk(instrumented):
    tracer = instrumented.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("app") as app:
        stream = mock_stream()
        assert trace.get_current_span() is app  # handed back: the caller's context
        for _ in stream:
            assert trace.get_current_span() is app
    chat = instrumented.only("chat")
    assert chat.parent.span_id == app.get_span_context().span_id


class ContextProbe(litellm.CustomLLM):
    """A custom litellm provider whose stream notes the current span each time litellm asks
    it for a chunk, and when it is closed; ``fail_at``: the chunk it raises at instead."""

    def __init__(self, chunks: int = 3, fail_at: int | None = None) -> None:
        super().__init__()
        self.chunks = chunks
        self.fail_at = fail_at
        self.producing: list[trace.Span] = []
        self.closing: list[trace.Span] = []

    def _chunk(self, i: int) -> dict:
        self.producing.append(trace.get_current_span())
        if i == self.fail_at:
            raise RuntimeError("provider failed mid-stream")
        last = i == self.chunks - 1
        return {
            "text": "ab",
            "is_finished": last,
            "finish_reason": "stop" if last else "",
            "usage": None,
            "index": 0,
            "tool_use": None,
        }

    def streaming(self, *args, **kwargs):
        try:
            for i in range(self.chunks):
                yield self._chunk(i)
        finally:
            self.closing.append(trace.get_current_span())

    async def astreaming(self, *args, **kwargs):
        try:
            for i in range(self.chunks):
                yield self._chunk(i)
        finally:
            self.closing.append(trace.get_current_span())


@pytest.fixture
def probe(monkeypatch):
    def register(**options) -> ContextProbe:
        provider = ContextProbe(**options)
        entry = {"provider": "context-probe", "custom_handler": provider}
        monkeypatch.setattr(litellm, "custom_provider_map", [entry])
        return provider

    return register


def span_ids(spans: list[trace.Span]) -> list[int]:
    return [span.get_span_context().span_id for span in spans]


def probe_stream():
    return litellm.completion(model="context-probe/m", messages=MESSAGES, stream=True)


async def aprobe_stream():
    return await litellm.acompletion(model="context-probe/m", messages=MESSAGES, stream=True)


def test_the_span_is_current_while_the_provider_makes_each_chunk(instrumented, probe):
    provider = probe()
    app = instrumented.tracer_provider.get_tracer("app")
    with app.start_as_current_span("app") as caller:
        stream = probe_stream()
        for _ in stream:
            assert trace.get_current_span() is caller  # between reads: the caller's
    chat = instrumented.only("chat")
    assert span_ids(provider.producing) == [chat.context.span_id] * 3
    assert chat.parent.span_id == caller.get_span_context().span_id


async def test_async_the_span_is_current_while_the_provider_makes_each_chunk(instrumented, probe):
    provider = probe()
    app = instrumented.tracer_provider.get_tracer("app")
    with app.start_as_current_span("app") as caller:
        stream = await aprobe_stream()
        async for _ in stream:
            assert trace.get_current_span() is caller
    chat = instrumented.only("chat")
    assert span_ids(provider.producing) == [chat.context.span_id] * 3


def test_a_stream_nested_in_another_inference_leaves_the_context_alone(instrumented, probe):
    """Inside another util-genai inference, ours is util-genai's suppressed one, which never
    attaches a context: each chunk is made in the caller's context, as util-genai's default."""
    from opentelemetry.util.genai.handler import TelemetryHandler

    provider = probe()
    outer_handler = TelemetryHandler(tracer_provider=instrumented.tracer_provider)
    app = instrumented.tracer_provider.get_tracer("app")
    with outer_handler.inference("openai", request_model="outer"):
        stream = probe_stream()
        with app.start_as_current_span("reader") as reader:  # read in another context
            for _ in stream:
                assert trace.get_current_span() is reader
    assert span_ids(provider.producing) == [reader.get_span_context().span_id] * 3
    assert [span.name for span in instrumented.finished()] == ["reader", "chat outer"]


def test_the_callers_context_is_back_after_a_read_that_raises(instrumented, probe):
    provider = probe(fail_at=1)
    app = instrumented.tracer_provider.get_tracer("app")
    with app.start_as_current_span("app") as caller:
        stream = probe_stream()
        # whatever litellm makes of the provider's error, with its message
        with pytest.raises(Exception, match="provider failed mid-stream"):
            for _ in stream:
                pass
        assert trace.get_current_span() is caller
    chat = instrumented.only("chat")
    assert chat.status.status_code is StatusCode.ERROR
    assert span_ids(provider.producing) == [chat.context.span_id] * 2


async def test_async_the_callers_context_is_back_after_a_read_that_raises(instrumented, probe):
    probe(fail_at=1)
    app = instrumented.tracer_provider.get_tracer("app")
    with app.start_as_current_span("app") as caller:
        stream = await aprobe_stream()
        with pytest.raises(Exception, match="provider failed mid-stream"):
            async for _ in stream:
                pass
        assert trace.get_current_span() is caller
    assert instrumented.only("chat").status.status_code is StatusCode.ERROR


def test_the_span_is_current_while_an_early_close_closes_the_provider(instrumented, probe):
    provider = probe()
    app = instrumented.tracer_provider.get_tracer("app")
    with app.start_as_current_span("app") as caller:
        stream = probe_stream()
        next(stream)
        stream.close()
        assert trace.get_current_span() is caller
    chat = instrumented.only("chat")
    assert span_ids(provider.closing) == [chat.context.span_id]
    assert_abandoned(chat)


# --- ending exactly once ------------------------------------------------------------------


def test_close_after_exhaustion_is_one_success(instrumented):
    stream = mock_stream()
    text_of(stream)
    stream.close()
    stream.close()
    assert_succeeded(instrumented.only())


def test_close_early_ends_the_span_as_incomplete(instrumented, llm):
    stream = http_stream(llm)
    next(iter(stream))
    stream.close()
    stream.close()
    assert_abandoned(instrumented.only())


def test_with_block_consumed(instrumented):
    with mock_stream() as stream:
        assert text_of(stream) == TEXT
    assert_succeeded(instrumented.only())


def test_with_block_left_by_consumer_exception(instrumented):
    with pytest.raises(KeyError), mock_stream() as stream:
        for _ in stream:
            raise KeyError("consumer bug")
    assert_abandoned(instrumented.only(), error_type="KeyError")


def test_break_then_garbage_collected(instrumented):
    stream = mock_stream()
    for _ in stream:
        break
    assert instrumented.finished() == []
    del stream
    gc.collect()
    assert_abandoned(instrumented.only())


def test_consumer_exception_in_the_loop(instrumented):
    def consume():
        stream = mock_stream()
        for _ in stream:
            raise ValueError("consumer bug")

    with pytest.raises(ValueError):
        consume()
    gc.collect()
    assert_abandoned(instrumented.only())


def test_never_read_stream_still_ends(instrumented):
    stream = mock_stream()
    del stream
    gc.collect()
    span = instrumented.only()
    assert_abandoned(span)
    assert span.attributes["gen_ai.response.finish_reasons"] == ("error",)


def test_provider_error_mid_stream(instrumented, llm):
    stream = http_stream(llm, model="openai/gpt-4o-mini-stream-error")
    with pytest.raises(Exception) as raised:
        text_of(stream)
    span = instrumented.only()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == (
        f"{type(raised.value).__module__}.{type(raised.value).__qualname__}"
    )
    assert span.attributes["gen_ai.response.finish_reasons"] == ("error",)


async def test_async_aclose_early(instrumented, llm):
    stream = await ahttp_stream(llm)
    await stream.__anext__()
    await stream.aclose()
    await stream.aclose()
    assert_abandoned(instrumented.only())


async def test_async_with_block(instrumented):
    async with await amock_stream() as stream:
        chunks = [chunk async for chunk in stream]
    assert text_of(chunks) == TEXT
    assert_succeeded(instrumented.only())


async def test_async_consumer_exception_in_async_with(instrumented):
    with pytest.raises(KeyError):
        async with await amock_stream() as stream:
            async for _ in stream:
                raise KeyError("consumer bug")
    assert_abandoned(instrumented.only(), error_type="KeyError")


async def test_async_break_then_garbage_collected(instrumented):
    stream = await amock_stream()
    async for _ in stream:
        break
    del stream
    gc.collect()
    assert_abandoned(instrumented.only())


async def test_async_provider_error_mid_stream(instrumented, llm):
    stream = await ahttp_stream(llm, model="openai/gpt-4o-mini-stream-error")
    raised = None
    try:
        async for _ in stream:
            pass
    except Exception as error:  # whatever litellm raises reaches the user
        raised = error
    span = instrumented.only()
    if raised is None:
        # litellm 1.74 ends an async stream quietly when the provider cuts it off
        # (docs/troubleshooting.md): the span says what the user saw, a finished stream.
        assert litellm_version() < (1, 102)
        assert span.status.status_code is StatusCode.UNSET
        return
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["gen_ai.response.finish_reasons"] == ("error",)


# --- aggregation -------------------------------------------------------------------------


@pytest.mark.parametrize("capture", ["NO_CONTENT", "SPAN_ONLY"])
def test_tool_call_deltas_are_merged(instrument, telemetry, llm, capture):
    import json

    instrument(capture_message_content=capture)
    chunks = list(http_stream(llm, model="openai/gpt-4o-mini-tool"))
    rebuilt = litellm.stream_chunk_builder(chunks)
    assert json.loads(rebuilt.choices[0].message.tool_calls[0].function.arguments) == {
        "location": "Paris"
    }
    span = telemetry.only()
    assert span.attributes["gen_ai.response.finish_reasons"] == ("tool_call",)
    assert span.attributes["litellm.response.tool_names"] == ("get_weather",)
    if capture == "NO_CONTENT":
        assert "gen_ai.output.messages" not in span.attributes
        return
    (message,) = json.loads(span.attributes["gen_ai.output.messages"])
    assert message["finish_reason"] == "tool_call"
    assert message["parts"] == [
        {
            "type": "tool_call",
            "id": "call_weather_1",
            "name": "get_weather",
            "arguments": {"location": "Paris"},
        }
    ]


@pytest.mark.parametrize("model", ["openai/gpt-4o-mini", "openai/gpt-4o-mini-tool"])
def test_litellm_chunks_add_up_as_their_dicts_do(llm, model):
    """litellm's own chunk classes are read the short way (``_streams._chunk_parts``,
    ``_choice_parts``), dicts the general way: the same chunks add up to the same state."""
    from opentelemetry_instrumentation_litellm import _streams
    from opentelemetry_instrumentation_litellm._response import field

    chunks = list(http_stream(llm, model=model, stream_options={"include_usage": True}))

    def state_of(chunks) -> tuple:
        state = _streams.ChatStreamState(capture=True)
        for chunk in chunks:
            state.add(chunk)
        choices = [
            (
                i,
                c.finish_reason,
                c.role,
                c.text,
                c.reasoning,
                [(t.id, t.name, t.arguments) for t in c.tool_calls.values()],
            )
            for i, c in sorted(state.choices.items())
        ]
        usage = (field(state.usage, "prompt_tokens"), field(state.usage, "completion_tokens"))
        return state.response_id, state.response_model, usage, choices

    fast = state_of(chunks)
    assert fast == state_of([chunk.model_dump() for chunk in chunks])
    assert fast[2] == (11, 7)
    assert fast[3][0][3] or fast[3][0][5]  # text or a tool call was read


def test_no_text_is_kept_with_content_off(instrumented):
    stream = mock_stream()
    text_of(stream)
    state = stream._self_state
    assert all(choice.text == [] and choice.reasoning == [] for choice in state.choices.values())


async def test_async_streamed_output_content(instrument, telemetry):
    import json

    instrument(capture_message_content="SPAN_ONLY")
    stream = await amock_stream()
    assert text_of([c async for c in stream]) == TEXT
    (message,) = json.loads(telemetry.only().attributes["gen_ai.output.messages"])
    assert message == {
        "role": "assistant",
        "parts": [{"type": "text", "content": TEXT}],
        "finish_reason": "stop",
        "name": None,
    }


@pytest.mark.parametrize("usage", [True, False])
def test_stream_span_has_the_litellm_facts_of_a_plain_call(instrumented, llm, usage):
    """litellm.provider, litellm.call_id and litellm.response.cost as on a non-stream span."""
    options = {"stream_options": {"include_usage": True}} if usage else {}
    litellm.completion(
        model="openai/gpt-4o-mini", messages=MESSAGES, api_base=llm.base_url, api_key="k"
    )
    chunks = list(http_stream(llm, **options))
    plain, streamed = instrumented.finished()
    litellm_keys = {k for k in plain.attributes if k.startswith("litellm.")}
    # No usage chunk, or one without a cost (litellm 1.74): litellm knows no cost, none invented.
    known = litellm_stream_cost(chunks) is not None
    if not known:
        litellm_keys.discard("litellm.response.cost")
    assert litellm_keys <= set(streamed.attributes)
    assert streamed.attributes["litellm.provider"] == "openai"
    assert ("litellm.response.cost" in streamed.attributes) is known
    assert known or not usage or litellm_version() < (1, 102)
