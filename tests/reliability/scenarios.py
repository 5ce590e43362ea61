"""Traced calls of every kind, as an application makes them, each checking that what the
application gets is litellm's own result or exception (the same object where litellm
hands one back) and returning what was handed to it.

All run without network (litellm's ``mock_response``) so the fault-injection suite can
run each of them once per step of ours."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import litellm
import pytest
from litellm import ModelResponse, exceptions
from opentelemetry.sdk.trace.export import (
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from opentelemetry_instrumentation_litellm.exporters import ResilientSpanExporter

MODEL = "gpt-4o-mini"
TEXT = "The capital of France is Paris."
MESSAGES = [
    {"role": "system", "content": "Answer briefly."},
    {"role": "user", "content": [{"type": "text", "text": "What is the capital of France?"}]},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call-1",
                "type": "function",
                "function": {"name": "lookup", "arguments": '{"q": "France"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call-1", "content": "Paris"},
]
TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]


def response() -> ModelResponse:
    return ModelResponse(
        id="chatcmpl-1",
        model=MODEL,
        choices=[
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": TEXT,
                    "tool_calls": [
                        {
                            "id": "call-2",
                            "type": "function",
                            "function": {"name": "lookup", "arguments": "{}"},
                        }
                    ],
                },
            }
        ],
        usage={"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19},
    )


def rate_limit() -> litellm.RateLimitError:
    return litellm.RateLimitError("limited", llm_provider="openai", model=MODEL)


def _text(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def _stream(**kwargs: Any) -> Any:
    stream = litellm.completion(MODEL, MESSAGES, tools=TOOLS, stream=True, **kwargs)
    assert isinstance(stream, litellm.CustomStreamWrapper)
    return stream


async def _astream(**kwargs: Any) -> Any:
    stream = await litellm.acompletion(MODEL, MESSAGES, tools=TOOLS, stream=True, **kwargs)
    assert isinstance(stream, litellm.CustomStreamWrapper)
    return stream


def _closing(stream: Any) -> Any:
    """``with stream`` where the stream supports it (litellm's own stream does not)."""
    return stream if hasattr(type(stream), "__enter__") else nullcontext(stream)


# --- the scenarios ------------------------------------------------------------------------


def _hands_mock_objects_back() -> bool:
    expected = response()
    return litellm.completion(MODEL, MESSAGES, mock_response=expected) is expected


if not _hands_mock_objects_back():  # litellm 1.74 makes a mock ModelResponse the message text
    pytest.skip(
        "the scenarios need litellm to hand a mock_response ModelResponse back as is",
        allow_module_level=True,
    )


def chat() -> list[Any]:
    expected = response()
    assert litellm.completion(MODEL, MESSAGES, tools=TOOLS, mock_response=expected) is expected
    return [expected]


def chat_error() -> list[Any]:
    error = rate_limit()
    with pytest.raises(litellm.RateLimitError) as raised:
        litellm.completion(MODEL, MESSAGES, mock_response=error)
    assert raised.value is error
    return []


def achat() -> list[Any]:
    expected = response()

    async def call() -> Any:
        return await litellm.acompletion(MODEL, MESSAGES, tools=TOOLS, mock_response=expected)

    assert asyncio.run(call()) is expected
    return [expected]


def achat_error() -> list[Any]:
    error = rate_limit()

    async def call() -> Any:
        return await litellm.acompletion(MODEL, MESSAGES, mock_response=error)

    with pytest.raises(litellm.RateLimitError) as raised:
        asyncio.run(call())
    assert raised.value is error
    return []


def stream_iterate() -> list[Any]:
    stream = _stream(mock_response=TEXT)
    assert _text(list(stream)) == TEXT
    return [stream]


def stream_close_early() -> list[Any]:
    stream = _stream(mock_response=TEXT)
    first = next(stream)
    assert TEXT.startswith(_text([first]))
    close = getattr(stream, "close", None)  # ours: litellm's own stream has none
    if close is not None:
        close()
    return [stream]


def stream_with() -> list[Any]:
    stream = _stream(mock_response=TEXT)
    with _closing(stream) as inside:
        assert inside is stream
        next(stream)
    return [stream]


def stream_abandon() -> list[Any]:
    stream = _stream(mock_response=TEXT)
    next(stream)
    del stream  # the application drops it: only the garbage collector can end the span
    gc.collect()
    return []


# What a stream that fails mid-way raises: litellm's MidStreamFallbackError (an APIError of
# its own) where the release has it, its APIError before (1.74).
MID_STREAM_ERROR = getattr(exceptions, "MidStreamFallbackError", exceptions.APIError)


def stream_error() -> list[Any]:
    stream = _stream(mock_response="Exception: mock_streaming_error")
    with pytest.raises(MID_STREAM_ERROR):
        list(stream)
    return [stream]


def astream_iterate() -> list[Any]:
    async def call() -> Any:
        stream = await _astream(mock_response=TEXT)
        assert _text([c async for c in stream]) == TEXT
        return stream

    return [asyncio.run(call())]


def astream_aclose_early() -> list[Any]:
    async def call() -> Any:
        stream = await _astream(mock_response=TEXT)
        await stream.__anext__()
        await stream.aclose()
        return stream

    return [asyncio.run(call())]


def astream_async_with() -> list[Any]:
    async def call() -> Any:
        stream = await _astream(mock_response=TEXT)
        if hasattr(type(stream), "__aenter__"):
            async with stream as inside:
                assert inside is stream
                await stream.__anext__()
        else:
            await stream.__anext__()
            await stream.aclose()
        return stream

    return [asyncio.run(call())]


def astream_abandon() -> list[Any]:
    async def call() -> None:
        stream = await _astream(mock_response=TEXT)
        await stream.__anext__()
        del stream  # the application drops it: only the garbage collector can end the span

    asyncio.run(call())
    gc.collect()
    return []


def astream_error() -> list[Any]:
    async def call() -> Any:
        stream = await _astream(mock_response="Exception: mock_streaming_error")
        with pytest.raises(MID_STREAM_ERROR):
            async for _ in stream:
                pass
        return stream

    return [asyncio.run(call())]


def embedding() -> list[Any]:
    result = litellm.embedding(model="text-embedding-3-small", input=["hi"], mock_response=[0.5])
    assert result.data[0]["embedding"] == [0.5]
    return [result]


def _router() -> litellm.Router:
    return litellm.Router(
        model_list=[
            {
                "model_name": "fast",
                "litellm_params": {"model": f"openai/{MODEL}", "api_key": "sk-router"},
                "model_info": {"id": "dep-1"},
            }
        ],
        num_retries=0,
    )


def router() -> list[Any]:
    expected = response()
    assert _router().completion(model="fast", messages=MESSAGES, mock_response=expected) is expected
    return [expected]


def arouter() -> list[Any]:
    expected = response()

    async def call() -> Any:
        return await _router().acompletion(model="fast", messages=MESSAGES, mock_response=expected)

    assert asyncio.run(call()) is expected
    return [expected]


def arouter_responses() -> list[Any]:
    """A Router method litellm 1.102.4 binds per instance (``Router.__init__``)."""

    async def call() -> Any:
        return await _router().aresponses(model="fast", input="hi", mock_response="hello")

    response = asyncio.run(call())
    assert response.output[0].content[0].text == "hello"
    return [response]


def router_error() -> list[Any]:
    error = rate_limit()
    with pytest.raises(litellm.RateLimitError):
        _router().completion(model="fast", messages=MESSAGES, mock_response=error)
    return []


class _Failing(SpanExporter):
    def export(self, spans: Any) -> SpanExportResult:
        return SpanExportResult.FAILURE


def exported() -> list[Any]:
    """A call whose span is exported through our ResilientSpanExporter (see ``prepare``)."""
    return chat()


def exported_failing() -> list[Any]:
    """The same, to a backend that fails."""
    return chat()


SCENARIOS: dict[str, Callable[..., list[Any]]] = {
    f.__name__: f
    for f in (
        chat,
        chat_error,
        achat,
        achat_error,
        stream_iterate,
        stream_close_early,
        stream_with,
        stream_abandon,
        stream_error,
        astream_iterate,
        astream_aclose_early,
        astream_async_with,
        astream_abandon,
        astream_error,
        embedding,
        router,
        arouter,
        arouter_responses,
        router_error,
        exported,
        exported_failing,
    )
}


def prepare(name: str, tracer_provider: Any) -> None:
    """Set-up the application does before its calls: the exporter of ``exported*``."""
    if name.startswith("exported"):
        exporter = _Failing() if name == "exported_failing" else InMemorySpanExporter()
        resilient = ResilientSpanExporter(exporter, destination="test", drop_log_interval=0)
        tracer_provider.add_span_processor(SimpleSpanProcessor(resilient))
