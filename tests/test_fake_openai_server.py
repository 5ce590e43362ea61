"""Self-test of tests/fake_openai_server.py: real litellm calls against the real process."""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network at import time

import asyncio
import base64
import contextlib
import json
import select
import signal
import struct
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import litellm
import pytest

SERVER = Path(__file__).resolve().parent / "fake_openai_server.py"
MESSAGES = [{"role": "user", "content": "Say hello"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    },
}


def _read_line(proc: subprocess.Popen[bytes], timeout: float) -> str:
    """One stdout line of ``proc``, or an error after ``timeout`` seconds."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        raise RuntimeError(f"fake server printed nothing within {timeout}s")
    return proc.stdout.readline().decode().strip()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """Run the fake server for this module; yields its root URL."""
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), "--port", "0"],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        line = _read_line(proc, timeout=20)
        assert line.startswith("LISTENING "), line
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        assert proc.stdout is not None
        proc.stdout.close()


def _call(server: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(server + path, data=data, method="POST" if data else "GET")
    with urllib.request.urlopen(request, timeout=5) as response:
        raw = response.read()
    return raw.decode() if path == "/health" else json.loads(raw)


def _complete(server: str, model: str = "openai/gpt-4o-mini", **kwargs: Any) -> Any:
    kwargs.setdefault("messages", MESSAGES)
    return litellm.completion(
        model=model,
        api_base=f"{server}/v1",
        api_key="sk-fake",
        max_retries=0,
        num_retries=0,
        **kwargs,
    )


@pytest.fixture
def recorded_requests(server: str) -> Any:
    """Clear the server's request log; returns a function reading it."""
    _call(server, "/__reset", {})
    return lambda: _call(server, "/__requests")


def test_health_and_unknown_path(server: str) -> None:
    assert _call(server, "/health") == "ok"
    assert [m["id"] for m in _call(server, "/v1/models")["data"]]
    with pytest.raises(urllib.request.HTTPError) as info:
        _call(server, "/v1/nope", {})
    assert info.value.code == 404
    assert "error" in json.loads(info.value.read())


def test_text_reply_and_usage(server: str) -> None:
    response = _complete(server)
    assert response.choices[0].message.content == "Hello from fake server"
    assert response.choices[0].finish_reason == "stop"
    assert response.model.endswith("gpt-4o-mini-2024-07-18")
    assert response.id.startswith("chatcmpl-fake-")
    assert response.system_fingerprint == "fp_fake"
    usage = response.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (11, 7, 18)
    assert usage.prompt_tokens_details.cached_tokens == 3
    assert usage.completion_tokens_details.reasoning_tokens == 2


def test_echo_n_and_length(server: str) -> None:
    response = _complete(server, messages=[{"role": "user", "content": "echo: ping pong"}], n=2)
    assert [c.message.content for c in response.choices] == ["ping pong", "ping pong"]
    assert [c.index for c in response.choices] == [0, 1]
    assert _complete(server, model="openai/gpt-length").choices[0].finish_reason == "length"


def test_stream_reassembles_with_usage(server: str) -> None:
    chunks = list(_complete(server, stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from fake server"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert "stop" in finishes
    usage = [c.usage for c in chunks if getattr(c, "usage", None)]
    assert usage
    assert usage[-1].total_tokens == 18
    rebuilt = litellm.stream_chunk_builder(chunks, messages=MESSAGES)
    assert rebuilt.choices[0].message.content == "Hello from fake server"
    assert rebuilt.usage.prompt_tokens == 11


def test_slow_stream(server: str) -> None:
    started = time.monotonic()
    chunks = list(_complete(server, model="openai/gpt-slow", stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello from fake server"
    assert time.monotonic() - started >= 0.3  # 8 chunks, 50 ms apart


def test_tool_call_and_second_turn(server: str) -> None:
    response = _complete(server, model="openai/gpt-tool", tools=[WEATHER_TOOL])
    message = response.choices[0].message
    assert response.choices[0].finish_reason == "tool_calls"
    assert message.content is None
    (call,) = message.tool_calls
    assert (call.id, call.function.name) == ("call_weather_1", "get_weather")
    assert json.loads(call.function.arguments) == {"location": "Paris"}

    history = [
        *MESSAGES,
        message.model_dump(),
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
    ]
    answer = _complete(server, model="openai/gpt-tool", tools=[WEATHER_TOOL], messages=history)
    assert answer.choices[0].message.content == "It is sunny in Paris."
    assert answer.choices[0].finish_reason == "stop"


def test_streamed_tool_call(server: str) -> None:
    chunks = list(_complete(server, model="openai/gpt-tool", tools=[WEATHER_TOOL], stream=True))
    assert len(chunks) > 3  # the arguments really came in pieces
    rebuilt = litellm.stream_chunk_builder(chunks, messages=MESSAGES)
    (call,) = rebuilt.choices[0].message.tool_calls
    assert (call.id, call.function.name) == ("call_weather_1", "get_weather")
    assert json.loads(call.function.arguments) == {"location": "Paris"}
    assert rebuilt.choices[0].finish_reason == "tool_calls"


def test_rate_limit(server: str, recorded_requests: Any) -> None:
    with pytest.raises(litellm.RateLimitError):
        _complete(server, model="openai/gpt-error-429")
    assert len(recorded_requests()) == 1  # no retries


def test_server_error(server: str) -> None:
    with pytest.raises((litellm.InternalServerError, litellm.APIError)):
        _complete(server, model="openai/gpt-error-500")


def test_stream_error(server: str) -> None:
    received: list[str] = []
    with pytest.raises(Exception):  # noqa: B017 - the exact type is litellm's choice
        for chunk in _complete(server, model="openai/gpt-stream-error", stream=True):
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received) == "Hello fr"


def test_async_stream_error(server: str) -> None:
    """litellm's async transport (aiohttp) must see the cut too, not a clean end."""

    async def consume() -> list[str]:
        received: list[str] = []
        stream = await litellm.acompletion(
            model="openai/gpt-stream-error",
            messages=MESSAGES,
            api_base=f"{server}/v1",
            api_key="sk-fake",
            max_retries=0,
            stream=True,
        )
        with pytest.raises(Exception):  # noqa: B017 - the exact type is litellm's choice
            async for chunk in stream:
                received.append(chunk.choices[0].delta.content or "")
        return received

    assert "".join(asyncio.run(consume())) == "Hello fr"


def test_embeddings(server: str) -> None:
    kwargs = {"api_base": f"{server}/v1", "api_key": "sk-fake", "max_retries": 0}
    response = litellm.embedding(model="openai/text-embedding-3-small", input=["a", "b"], **kwargs)
    assert [len(d["embedding"]) for d in response.data] == [8, 8]
    assert response.usage.prompt_tokens == 5

    sized = litellm.embedding(
        model="openai/text-embedding-3-small", input="a", dimensions=3, **kwargs
    )
    assert len(sized.data[0]["embedding"]) == 3

    raw = _call(server, "/v1/embeddings", {"model": "m", "input": "x", "encoding_format": "base64"})
    floats = struct.unpack("<8f", base64.b64decode(raw["data"][0]["embedding"]))
    assert floats[0] == pytest.approx(0.1)


def test_text_completion(server: str) -> None:
    response = litellm.text_completion(
        model="openai/gpt-3.5-turbo-instruct",
        prompt="Tell me a story",
        api_base=f"{server}/v1",
        api_key="sk-fake",
        max_retries=0,
    )
    assert response.choices[0].text == "Once upon a time"
    assert response.usage.total_tokens == 9


def test_requests_are_recorded(server: str, recorded_requests: Any) -> None:
    _complete(server, messages=[{"role": "user", "content": "echo: recorded"}])
    (recorded,) = recorded_requests()
    assert recorded["method"] == "POST"
    assert recorded["path"] == "/v1/chat/completions"
    assert recorded["headers"]["authorization"] == "Bearer sk-fake"
    assert recorded["body"]["model"] == "gpt-4o-mini"
    assert recorded["body"]["messages"][-1]["content"] == "echo: recorded"


# ---- Responses API, images, audio and rerank ------------------------------------------------


def _openai_kwargs(server: str) -> dict[str, Any]:
    return {"api_base": f"{server}/v1", "api_key": "sk-fake", "max_retries": 0}


def _respond(server: str, model: str = "openai/gpt-4o-mini", **kwargs: Any) -> Any:
    kwargs.setdefault("input", "hi")
    return litellm.responses(model=model, **_openai_kwargs(server), **kwargs)


def _sse_events(server: str, path: str, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(``event:`` name, parsed ``data:``) pairs of a raw SSE answer."""
    request = urllib.request.Request(server + path, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.headers["Content-Type"] == "text/event-stream"
        blocks = response.read().decode().strip().split("\n\n")
    events = []
    for block in blocks:
        name_line, data_line = block.split("\n")
        assert name_line.startswith("event: ") and data_line.startswith("data: "), block
        events.append((name_line.removeprefix("event: "), json.loads(data_line[len("data: ") :])))
    return events


def _upstream_response_id(litellm_id: str) -> str:
    decoded = base64.b64decode(litellm_id.removeprefix("resp_") + "==").decode()
    return decoded.rsplit("response_id:", 1)[1]


def test_responses_text_and_usage(server: str, recorded_requests: Any) -> None:
    response = _respond(server)
    # litellm wraps the upstream id: "resp_" + base64("litellm:...;response_id:resp_fake_N")
    assert _upstream_response_id(response.id).startswith("resp_fake_")
    assert response.status == "completed"
    assert response.model.endswith("gpt-4o-mini-2024-07-18")
    (message,) = response.output
    assert (message.type, message.role, message.id[:9]) == ("message", "assistant", "msg_fake_")
    assert message.content[0].text == "Hello from fake server"
    usage = response.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (12, 6, 18)
    assert usage.input_tokens_details.cached_tokens == 2
    assert usage.output_tokens_details.reasoning_tokens == 1

    echoed = _respond(server, input=[{"role": "user", "content": "echo: ping"}])
    assert echoed.output[0].content[0].text == "ping"
    (first, _) = recorded_requests()
    assert first["path"] == "/v1/responses"
    assert first["body"] == {"model": "gpt-4o-mini", "input": "hi"}


def test_responses_parse_with_the_openai_sdk_types(server: str) -> None:
    """The raw JSON and every SSE event validate against the openai SDK's own models."""
    from openai.types.responses import Response, ResponseStreamEvent
    from pydantic import TypeAdapter

    for model in ("gpt-4o-mini", "gpt-tool"):
        Response.model_validate(_call(server, "/v1/responses", {"model": model, "input": "hi"}))
        events = _sse_events(
            server, "/v1/responses", {"model": model, "input": "hi", "stream": True}
        )
        adapter = TypeAdapter(ResponseStreamEvent)
        for name, data in events:
            assert name == data["type"]
            adapter.validate_python(data)
        assert [data["sequence_number"] for _, data in events] == list(range(len(events)))


def test_responses_stream(server: str) -> None:
    events = list(_respond(server, input="echo: streamed reply", stream=True))
    types = [str(getattr(e.type, "value", e.type)) for e in events]
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    deltas = [e.delta for e, t in zip(events, types, strict=True) if t.endswith("text.delta")]
    assert len(deltas) > 1 and all(len(d) <= 4 for d in deltas)
    assert "".join(deltas) == "streamed reply"
    # litellm found a typed model for every event (its fallback leaves the type a plain str)
    assert all(
        isinstance(e.type, litellm.types.llms.openai.ResponsesAPIStreamEvents) for e in events
    )
    created, completed = events[0].response, events[-1].response
    assert (created.status, created.output) == ("in_progress", [])
    assert completed.status == "completed"
    assert completed.output[0].content[0].text == "streamed reply"
    assert completed.usage.input_tokens == 12
    assert completed.usage.total_tokens == 18


def test_responses_tool_call_and_second_turn(server: str) -> None:
    response = _respond(server, model="openai/gpt-tool", input="Weather in Paris?")
    (call,) = response.output
    assert (call.type, call.call_id, call.name) == (
        "function_call",
        "call_weather_1",
        "get_weather",
    )
    assert call.id.startswith("fc_fake_")
    assert json.loads(call.arguments) == {"location": "Paris"}

    history = [
        {"role": "user", "content": "Weather in Paris?"},
        {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": "{}"},
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"},
    ]
    answer = _respond(server, model="openai/gpt-tool", input=history)
    assert answer.output[0].content[0].text == "It is sunny in Paris."


def test_responses_streamed_tool_call(server: str) -> None:
    events = list(_respond(server, model="openai/gpt-tool", stream=True))
    types = [str(getattr(e.type, "value", e.type)) for e in events]
    assert "response.output_text.delta" not in types
    pairs = list(zip(events, types, strict=True))
    deltas = [e.delta for e, t in pairs if t == "response.function_call_arguments.delta"]
    assert len(deltas) > 1
    (done,) = [e for e, t in pairs if t == "response.function_call_arguments.done"]
    assert "".join(deltas) == done.arguments
    assert json.loads(done.arguments) == {"location": "Paris"}
    assert types[-1] == "response.completed"
    assert events[-1].response.output[0].name == "get_weather"


def test_responses_rate_limit(server: str, recorded_requests: Any) -> None:
    with pytest.raises(litellm.RateLimitError):
        _respond(server, model="openai/gpt-error-429")
    with pytest.raises(litellm.RateLimitError):
        _respond(server, model="openai/gpt-error-429", stream=True)
    assert len(recorded_requests()) == 2  # no retries


def test_async_responses(server: str) -> None:
    async def run() -> tuple[Any, list[Any]]:
        kwargs = {"model": "openai/gpt-4o-mini", **_openai_kwargs(server)}
        plain = await litellm.aresponses(input="echo: async", **kwargs)
        stream = await litellm.aresponses(input="hi", stream=True, **kwargs)
        return plain, [event async for event in stream]

    plain, events = asyncio.run(run())
    assert plain.output[0].content[0].text == "async"
    assert plain.usage.input_tokens == 12
    assert events[-1].response.usage.total_tokens == 18


def test_image_generation(server: str, recorded_requests: Any) -> None:
    response = litellm.image_generation(
        model="openai/dall-e-3", prompt="A red fox", **_openai_kwargs(server)
    )
    (image,) = response.data
    assert image.url.startswith("https://example.com/image-")
    assert image.revised_prompt == "A red fox"
    assert response.usage.input_tokens == 9
    assert response.usage.total_tokens == 10
    assert recorded_requests()[0]["path"] == "/v1/images/generations"

    async def run() -> Any:
        return await litellm.aimage_generation(
            model="openai/dall-e-3", prompt="Two foxes", n=2, **_openai_kwargs(server)
        )

    assert len({image.url for image in asyncio.run(run()).data}) == 2


def test_speech(server: str, recorded_requests: Any) -> None:
    audio = litellm.speech(
        model="openai/tts-1", input="hello", voice="alloy", **_openai_kwargs(server)
    )
    assert audio.content.startswith(b"ID3")
    assert len(audio.content) == 64
    (recorded,) = recorded_requests()
    assert recorded["path"] == "/v1/audio/speech"
    assert recorded["body"] == {"model": "tts-1", "input": "hello", "voice": "alloy"}

    async def run() -> Any:
        return await litellm.aspeech(
            model="openai/tts-1", input="hello", voice="alloy", **_openai_kwargs(server)
        )

    assert asyncio.run(run()).content == audio.content


def test_transcription(server: str, recorded_requests: Any, tmp_path: Path) -> None:
    kwargs = {"model": "openai/whisper-1", **_openai_kwargs(server)}
    result = litellm.transcription(file=("a.mp3", b"ID3 fake audio", "audio/mpeg"), **kwargs)
    assert result.text == "Hello from the audio file"
    assert result.usage.seconds == 3

    audio_file = tmp_path / "b.mp3"
    audio_file.write_bytes(b"ID3 more fake audio")
    with audio_file.open("rb") as handle:
        as_text = litellm.transcription(file=handle, response_format="text", **kwargs)
    assert as_text.text == "Hello from the audio file"

    async def run() -> Any:
        return await litellm.atranscription(file=("c.wav", b"RIFF", "audio/wav"), **kwargs)

    assert asyncio.run(run()).text == "Hello from the audio file"
    first, second, _ = recorded_requests()
    assert first["path"] == "/v1/audio/transcriptions"
    assert first["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    # litellm asks for verbose_json unless told otherwise; the file itself is not recorded
    assert first["body"] == {"model": "whisper-1", "response_format": "verbose_json"}
    assert second["body"]["response_format"] == "text"


def test_rerank(server: str, recorded_requests: Any) -> None:
    documents = ["Berlin is cold", "Paris weather is sunny", "Paris has museums"]
    kwargs = {"query": "Paris weather", "documents": documents, "top_n": 2, "api_key": "k"}
    # litellm's cohere provider appends /v2/rerank to api_base, with or without /v1
    for api_base in (server, f"{server}/v1"):
        response = litellm.rerank(model="cohere/rerank-english-v3.0", api_base=api_base, **kwargs)
        assert response.id.startswith("rerank-fake-")
        assert [r["index"] for r in response.results] == [1, 2]
        scores = [r["relevance_score"] for r in response.results]
        assert scores == sorted(scores, reverse=True)
        assert response.meta["billed_units"]["search_units"] == 1
        assert response.meta["tokens"]["input_tokens"] == 20

    async def run() -> Any:
        return await litellm.arerank(model="cohere/rerank-english-v3.0", api_base=server, **kwargs)

    assert [r["index"] for r in asyncio.run(run()).results] == [1, 2]
    paths = [r["path"] for r in recorded_requests()]
    assert paths == ["/v2/rerank", "/v1/v2/rerank", "/v2/rerank"]
    assert recorded_requests()[0]["body"]["query"] == "Paris weather"


def test_new_endpoints_without_v1_prefix(server: str) -> None:
    assert _call(server, "/responses", {"model": "m", "input": "hi"})["object"] == "response"
    assert len(_call(server, "/images/generations", {"prompt": "p", "n": 3})["data"]) == 3
    rerank = _call(server, "/rerank", {"query": "a", "documents": ["b", "a"]})
    assert [r["index"] for r in rerank["results"]] == [1, 0]
    for path in ("/audio/speech", "/v1/audio/speech"):
        request = urllib.request.Request(server + path, data=b'{"input": "x"}', method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.headers["Content-Type"] == "audio/mpeg"
            assert response.headers["Content-Length"] == "64"
            assert len(response.read()) == 64
    boundary = "fakeboundary"
    form = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.mp3"\r\n'
        f"Content-Type: audio/mpeg\r\n\r\nID3\r\n--{boundary}--\r\n"
    ).encode()
    request = urllib.request.Request(
        server + "/audio/transcriptions",
        data=form,
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.loads(response.read()) == {
            "text": "Hello from the audio file",
            "usage": {"type": "duration", "seconds": 3},
        }
