"""Failures: the user's exception reaches them unchanged; the span says what went wrong;
our own failures never reach the user."""

from __future__ import annotations

from typing import Any

import litellm
import pytest
from opentelemetry.trace import StatusCode

from opentelemetry_instrumentation_litellm import _response
from processes import free_port

MESSAGES = [{"role": "user", "content": "hi"}]


def _once(model: str, api_base: str) -> dict[str, Any]:
    """A call's arguments, without litellm's retries: one failure, one span."""
    return {
        "model": model,
        "messages": MESSAGES,
        "api_base": api_base,
        "api_key": "sk-fake",
        "max_retries": 0,
    }


def test_mock_rate_limit_error_propagates_unchanged(instrumented):
    error = litellm.RateLimitError("slow down", llm_provider="openai", model="gpt-4o-mini")
    with pytest.raises(litellm.RateLimitError) as raised:
        litellm.completion("gpt-4o-mini", MESSAGES, mock_response=error)
    span = instrumented.only()
    assert span.name == "chat gpt-4o-mini"
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "litellm.exceptions.RateLimitError"
    assert span.attributes["gen_ai.provider.name"] == "openai"
    assert raised.value is error  # litellm raises the mock error object itself


def test_exception_object_is_the_one_litellm_raised(instrumented, monkeypatch):
    """Instrumented or not, the caller catches the very object litellm raised."""
    error = litellm.RateLimitError("slow down", llm_provider="openai", model="gpt-4o-mini")

    def raise_it(*args, **kwargs):
        raise error

    # Wrap a function that raises a known object: the wrapper must re-raise that object.
    import wrapt
    from opentelemetry.util.genai.handler import TelemetryHandler

    from opentelemetry_instrumentation_litellm._entrypoints import ENTRY_POINTS
    from opentelemetry_instrumentation_litellm._messages import ContentPolicy
    from opentelemetry_instrumentation_litellm._request import positional_names
    from opentelemetry_instrumentation_litellm.patch import make_wrapper

    handler = TelemetryHandler(tracer_provider=instrumented.tracer_provider)
    entry = next(e for e in ENTRY_POINTS if e.name == "completion")
    names = positional_names(litellm.main.completion)
    wrapper = make_wrapper(entry, handler, names, ContentPolicy())
    wrapped = wrapt.FunctionWrapper(raise_it, wrapper)
    with pytest.raises(litellm.RateLimitError) as raised:
        wrapped("gpt-4o-mini", MESSAGES)
    assert raised.value is error
    assert instrumented.only().status.status_code is StatusCode.ERROR


def test_http_429_from_server(instrumented, llm):
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(**_once("openai/gpt-4o-mini-error-429", llm.base_url))
    span = instrumented.only()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "litellm.exceptions.RateLimitError"
    assert span.attributes["server.address"] == "127.0.0.1"
    assert span.attributes["server.port"] == llm.port


async def test_http_500_from_server_async(instrumented, llm):
    with pytest.raises(litellm.InternalServerError):
        await litellm.acompletion(**_once("openai/gpt-4o-mini-error-500", llm.base_url))
    span = instrumented.only()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "litellm.exceptions.InternalServerError"


def test_connection_refused(instrumented):
    port = free_port()  # nobody listens there
    with pytest.raises(Exception) as raised:  # litellm maps it (1.102.4: to a 500)
        litellm.completion(**_once("openai/gpt-4o-mini", f"http://127.0.0.1:{port}/v1"))
    span = instrumented.only()
    assert span.status.status_code is StatusCode.ERROR
    assert "Connection error" in str(raised.value)
    assert type(raised.value).__module__ == "litellm.exceptions"
    assert span.attributes["error.type"] == f"litellm.exceptions.{type(raised.value).__name__}"
    assert span.attributes["server.port"] == port


def test_extraction_failure_never_reaches_the_user(instrumented, monkeypatch, llm):
    def broken(*args, **kwargs):
        raise RuntimeError("bug in the instrumentation")

    from opentelemetry_instrumentation_litellm import _request

    # Break the response reader and the request reader where they really run.
    monkeypatch.setattr(_response, "_set_identity", broken)
    monkeypatch.setattr(_request, "apply_litellm_request", broken)
    response = litellm.completion(
        model="openai/gpt-4o-mini", messages=MESSAGES, api_base=llm.base_url, api_key="k"
    )
    assert response.choices[0].message.content == "Hello from fake server"
    span = instrumented.only()  # the span still ends, exactly once
    assert span.status.status_code is StatusCode.UNSET
    assert "gen_ai.response.id" not in span.attributes  # the broken reader did run


def test_start_failure_falls_back_to_the_plain_call(instrumented, monkeypatch):
    from opentelemetry_instrumentation_litellm import _request

    def broken(call):
        raise RuntimeError("bug")

    monkeypatch.setattr(_request, "target", broken)  # read by the Operation's start
    response = litellm.completion("gpt-4o-mini", MESSAGES, mock_response="still works")
    assert response.choices[0].message.content == "still works"
    assert instrumented.finished() == []
