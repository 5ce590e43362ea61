"""Concurrent calls: one span per call, under the right parent, with its own attributes only."""

from __future__ import annotations

import asyncio
import threading

import litellm
import pytest
from opentelemetry import trace

MESSAGES = [{"role": "user", "content": "hi"}]

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("litellm_callbacks")]


def _check(telemetry, parents: dict[str, int]) -> None:
    """Each call's unique user id is on exactly one chat span, whose parent is that call's."""
    chats = telemetry.finished("chat")
    assert len(chats) == len(parents)
    seen = {}
    for span in chats:
        user = span.attributes["user.id"]
        assert user not in seen, f"two spans carry {user}"
        seen[user] = span
        assert span.parent is not None and span.parent.span_id == parents[user], user
        assert span.attributes["gen_ai.request.seed"] == int(user.split("-")[1])
    assert set(seen) == set(parents)


async def test_a_thousand_concurrent_async_calls(instrumented):
    tracer = instrumented.tracer_provider.get_tracer("app")
    parents: dict[str, int] = {}

    async def one(i: int) -> None:
        user = f"user-{i}"
        with tracer.start_as_current_span(f"request {i}") as parent:
            parents[user] = parent.get_span_context().span_id
            await asyncio.sleep(0)  # interleave with the others
            response = await litellm.acompletion(
                "gpt-4o-mini", MESSAGES, mock_response=f"answer {i}", user=user, seed=i
            )
        assert response.choices[0].message.content == f"answer {i}"

    await asyncio.gather(*(one(i) for i in range(1000)))
    _check(instrumented, parents)
    assert trace.get_current_span() is trace.INVALID_SPAN  # nothing left attached


async def test_concurrent_async_streams(instrumented):
    parents: dict[str, int] = {}
    tracer = instrumented.tracer_provider.get_tracer("app")

    async def one(i: int) -> None:
        user = f"user-{i}"
        with tracer.start_as_current_span(f"request {i}") as parent:
            parents[user] = parent.get_span_context().span_id
            stream = await litellm.acompletion(
                "gpt-4o-mini", MESSAGES, mock_response=f"a b c {i}", stream=True, user=user, seed=i
            )
            text = [c.choices[0].delta.content or "" async for c in stream]
        assert "".join(text) == f"a b c {i}"

    await asyncio.gather(*(one(i) for i in range(200)))
    _check(instrumented, parents)


def test_32_threads_of_50_calls(instrumented):
    tracer = instrumented.tracer_provider.get_tracer("app")
    parents: dict[str, int] = {}
    lock = threading.Lock()
    errors: list[BaseException] = []
    start = threading.Barrier(32)

    def worker(t: int) -> None:
        try:
            start.wait()
            for n in range(50):
                i = t * 50 + n
                user = f"user-{i}"
                with tracer.start_as_current_span(f"request {i}") as parent:
                    with lock:
                        parents[user] = parent.get_span_context().span_id
                    stream = n % 5 == 0
                    result = litellm.completion(
                        "gpt-4o-mini",
                        MESSAGES,
                        mock_response=f"answer {i}",
                        user=user,
                        seed=i,
                        stream=stream,
                    )
                    if stream:
                        text = "".join(c.choices[0].delta.content or "" for c in result)
                    else:
                        text = result.choices[0].message.content
                    assert text == f"answer {i}"
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:3]
    _check(instrumented, parents)
