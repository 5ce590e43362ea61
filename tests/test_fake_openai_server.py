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
