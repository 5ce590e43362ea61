"""In-process checks of the proxy spans' wrapping (the proxy end to end is in
test_proxy_guardrails.py): uninstrument() puts litellm's own functions back, a
guardrail's error message is content, recorded only with content capture on, and the hook
phases are durations on the current span unless phase spans are switched on, and so are
the Router's facts (no router span) in a proxy worker.

The proxy server module is not imported here (it starts the proxy's app): the test calls
what its post-import hook calls, ``_seams.wrap_proxy``.
"""

from __future__ import annotations

import asyncio
import importlib
import types
from typing import Any

import litellm
import pytest
from fastapi import HTTPException
from litellm.caching.dual_cache import DualCache
from litellm.integrations.custom_guardrail import CustomGuardrail
from litellm.integrations.custom_logger import CustomLogger
from litellm.proxy._types import UserAPIKeyAuth
from opentelemetry.trace import StatusCode

from opentelemetry_instrumentation_litellm.proxy import _seams, _settings
from test_router import deployment

utils = importlib.import_module("litellm.proxy.utils")
auth = importlib.import_module("litellm.proxy.auth.user_api_key_auth")
unified = importlib.import_module(
    "litellm.proxy.guardrails.guardrail_hooks.unified_guardrail.unified_guardrail"
).UnifiedLLMGuardrails

pipelines = importlib.import_module("litellm.proxy.policy_engine.pipeline_executor")

WRAPPED = [
    (auth, "_user_api_key_auth_builder"),
    (utils.ProxyLogging, "pre_call_hook"),
    (utils.ProxyLogging, "post_call_success_hook"),
    (utils.ProxyLogging, "_execute_guardrail_hook"),
    (utils.ProxyLogging, "_run_guardrail_with_metrics"),
    (utils.ProxyLogging, "_wrap_streaming_iterator_with_enrichment"),
    (unified, "async_post_call_streaming_iterator_hook"),
    (unified, "handle_streaming_block"),
    (unified, "emit_streaming_http_error"),
    (pipelines.PipelineExecutor, "execute_steps"),
    (pipelines.PipelineExecutor, "_run_step"),
]


class Blocker(CustomGuardrail):
    async def async_post_call_success_hook(self, data: Any, user_api_key_dict: Any, response: Any):
        raise HTTPException(status_code=400, detail={"error": "the answer says forbidden"})


def run_post_call(guardrail: CustomGuardrail) -> None:
    coro = guardrail.async_post_call_success_hook(data={}, user_api_key_dict=None, response={})
    with pytest.raises(HTTPException):
        asyncio.run(utils.ProxyLogging._run_guardrail_with_metrics(guardrail, coro, "post_call"))


def test_uninstrument_restores_the_proxys_functions(instrument: Any, telemetry: Any) -> None:
    originals = [vars(owner)[name] for owner, name in WRAPPED]
    instrumentor = instrument()
    _seams.wrap_proxy(types.ModuleType("proxy_server"))
    assert not any(
        vars(owner)[name] is o for (owner, name), o in zip(WRAPPED, originals, strict=True)
    )
    run_post_call(Blocker(guardrail_name="blocker"))
    assert telemetry.only("guardrail blocker").attributes["litellm.guardrail.outcome"] == "blocked"

    instrumentor.uninstrument()
    assert all(vars(owner)[name] is o for (owner, name), o in zip(WRAPPED, originals, strict=True))
    run_post_call(Blocker(guardrail_name="blocker"))  # still a staticmethod
    assert len(telemetry.finished("guardrail ")) == 1


@pytest.mark.parametrize("capture", [False, True])
def test_a_blocks_message_is_content(instrument: Any, telemetry: Any, capture: bool) -> None:
    instrument(capture_message_content=capture)
    _seams.wrap_proxy(types.ModuleType("proxy_server"))
    run_post_call(Blocker(guardrail_name="blocker"))
    span = telemetry.only("guardrail blocker")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "fastapi.exceptions.HTTPException"
    assert span.attributes["litellm.guardrail.mode"] == "post_call"
    assert ("forbidden" in (span.status.description or "")) is capture


# -- a guardrail with its own streaming iterator hook ------------------------------------


class StreamBlocker(CustomGuardrail):
    """Passes chunks on until one says ``forbidden``, then raises."""

    async def async_post_call_streaming_iterator_hook(
        self, user_api_key_dict: Any, response: Any, request_data: dict
    ):
        async for chunk in response:
            if "forbidden" in chunk:
                raise HTTPException(status_code=400, detail={"error": "the answer says forbidden"})
            yield chunk


async def chunks(*items: str):
    for item in items:
        yield item


def stream_layer(callback: Any, *items: str) -> Any:
    """The proxy's layer of ``callback`` over a stream of ``items``."""
    hook = callback.async_post_call_streaming_iterator_hook(
        user_api_key_dict=None, response=chunks(*items), request_data={}
    )
    return utils.ProxyLogging._wrap_streaming_iterator_with_enrichment(callback, hook)


async def drain(stream: Any, seen: list[str]) -> None:
    async for chunk in stream:
        seen.append(chunk)


@pytest.mark.parametrize("capture", [False, True])
def test_a_block_raised_mid_stream_ends_the_guardrails_span(
    instrument: Any, telemetry: Any, capture: bool
) -> None:
    instrument(capture_message_content=capture)
    _seams.wrap_proxy(types.ModuleType("proxy_server"))
    seen: list[str] = []
    with pytest.raises(HTTPException):
        asyncio.run(
            drain(stream_layer(StreamBlocker(guardrail_name="s"), "a", "b forbidden"), seen)
        )
    assert seen == ["a"]
    span = telemetry.only("guardrail s")
    assert span.attributes["litellm.guardrail.mode"] == "post_call"
    assert span.attributes["litellm.guardrail.outcome"] == "blocked"
    assert span.attributes["error.type"] == "fastapi.exceptions.HTTPException"
    assert span.status.status_code is StatusCode.ERROR
    assert ("forbidden" in (span.status.description or "")) is capture

    asyncio.run(drain(stream_layer(StreamBlocker(guardrail_name="t"), "a", "b"), seen))
    assert seen == ["a", "a", "b"]
    assert telemetry.only("guardrail t").attributes["litellm.guardrail.outcome"] == "passed"


def test_a_stream_closed_early_ends_its_span_once_without_an_outcome(
    instrument: Any, telemetry: Any
) -> None:
    instrument()
    _seams.wrap_proxy(types.ModuleType("proxy_server"))

    async def first_chunk_only() -> str:
        stream = stream_layer(StreamBlocker(guardrail_name="s"), "a", "b", "c")
        chunk = await stream.__anext__()
        await stream.aclose()  # the client went away
        return chunk

    assert asyncio.run(first_chunk_only()) == "a"
    span = telemetry.only("guardrail s")
    assert span.end_time is not None
    assert "litellm.guardrail.outcome" not in span.attributes
    assert span.status.status_code is StatusCode.UNSET


def test_a_layer_that_is_not_a_guardrail_gets_no_span(instrument: Any, telemetry: Any) -> None:
    from litellm.integrations.custom_logger import CustomLogger

    instrument()
    _seams.wrap_proxy(types.ModuleType("proxy_server"))
    seen: list[str] = []
    asyncio.run(drain(stream_layer(CustomLogger(), "a", "b"), seen))
    assert seen == ["a", "b"]
    assert not telemetry.finished("guardrail ")


# -- litellm's own stream check of an apply_guardrail guardrail ----------------------------


class AnswerBlocker(CustomGuardrail):
    """Replaces an answer that says ``forbidden`` with a block message (litellm's
    ``ModifyResponseException``), which litellm's stream check turns into the stream's end."""

    async def apply_guardrail(self, inputs: Any, request_data: Any, input_type: Any, **kw: Any):
        if any("forbidden" in text for text in inputs.get("texts") or ()):
            from litellm.exceptions import ModifyResponseException

            raise ModifyResponseException(
                message="blocked", model="m", request_data=request_data, guardrail_name="a"
            )
        return inputs


def checked_answer(text: str) -> str:
    """``text`` streamed by litellm's mock through the unified stream check of an
    ``AnswerBlocker``; what comes out of it."""
    from litellm.proxy._types import UserAPIKeyAuth

    async def run() -> str:
        upstream = await litellm.acompletion(
            model="openai/gpt-4o-mini",
            messages=[{"role": "user", "content": "hi"}],
            mock_response=text,
            stream=True,
        )
        guard = AnswerBlocker(guardrail_name="answers", event_hook="post_call", default_on=True)
        stream = unified().async_post_call_streaming_iterator_hook(
            user_api_key_dict=UserAPIKeyAuth(request_route="/chat/completions"),
            response=upstream,
            request_data={"model": "gpt-4o-mini"},
            guardrail_to_apply=guard,
        )
        layer = utils.ProxyLogging._wrap_streaming_iterator_with_enrichment(guard, stream)
        out = ""
        async for chunk in layer:  # chunks, or the block's SSE bytes
            if isinstance(chunk, bytes):
                out += chunk.decode()
            else:
                out += "".join(c.delta.content or "" for c in chunk.choices)
        return out

    return asyncio.run(run())


def test_a_block_litellm_turns_into_the_streams_end_is_a_blocked_span(
    instrument: Any, telemetry: Any
) -> None:

    instrument()
    _seams.wrap_proxy(types.ModuleType("proxy_server"))
    assert checked_answer("all is well") == "all is well"
    span = telemetry.only("guardrail answers")
    assert span.attributes["litellm.guardrail.outcome"] == "passed"

    answer = checked_answer("a forbidden answer")
    assert "blocked" in answer  # litellm ended the stream with its block message
    [_, span] = telemetry.finished("guardrail answers")
    assert span.attributes["litellm.guardrail.outcome"] == "blocked"
    assert span.attributes["error.type"] == "litellm.exceptions.ModifyResponseException"
    assert span.status.status_code is StatusCode.ERROR


class Rejecter(CustomLogger):
    async def async_pre_call_hook(self, *args: Any, **kwargs: Any) -> None:
        raise HTTPException(status_code=429, detail="over budget")


def run_pre_call(telemetry: Any) -> None:
    """The proxy's pre-call phase (``litellm.callbacks``' hooks) under a ``request`` span,
    as under the proxy's server span."""
    proxy_logging = utils.ProxyLogging(user_api_key_cache=DualCache())
    data = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
    tracer = telemetry.tracer_provider.get_tracer("test")

    async def request() -> None:
        with tracer.start_as_current_span("request"):
            await proxy_logging.pre_call_hook(UserAPIKeyAuth(), data, "completion")

    asyncio.run(request())


def test_the_phases_are_durations_on_the_current_span_by_default(
    instrument: Any, telemetry: Any
) -> None:
    instrument()
    _seams.wrap_proxy(types.ModuleType("proxy_server"))
    run_pre_call(telemetry)
    request = telemetry.only("request")
    assert [s.name for s in telemetry.finished()] == ["request"]
    duration = request.attributes["litellm.proxy.pre_call.duration"]
    assert 0 < duration <= (request.end_time - request.start_time) / 1e9


@pytest.mark.parametrize("switch", ["argument", "variable"])
def test_phase_spans_switched_on(
    instrument: Any, telemetry: Any, monkeypatch: pytest.MonkeyPatch, switch: str
) -> None:
    if switch == "argument":
        monkeypatch.setenv(_settings.PHASE_SPANS_VARIABLE, "false")  # the argument wins
        instrument(proxy_phase_spans=True)
    else:
        monkeypatch.setenv(_settings.PHASE_SPANS_VARIABLE, "true")
        instrument()
    _seams.wrap_proxy(types.ModuleType("proxy_server"))
    run_pre_call(telemetry)
    phase = telemetry.only("proxy pre_call")
    assert phase.parent.span_id == telemetry.only("request").context.span_id
    assert "litellm.proxy.pre_call.duration" not in telemetry.only("request").attributes


def test_a_failed_phase_is_timed_too(
    instrument: Any, telemetry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    instrument()
    _seams.wrap_proxy(types.ModuleType("proxy_server"))
    monkeypatch.setattr(litellm, "callbacks", [Rejecter()])
    with pytest.raises(HTTPException, match="over budget"):
        run_pre_call(telemetry)
    assert telemetry.only("request").attributes["litellm.proxy.pre_call.duration"] > 0


def route_under_a_request_span(
    telemetry: Any, llm: Any, *, fallback: bool = False, proxied: bool = True
) -> None:
    """A Router call (the fake OpenAI server behind it) under a ``request`` span, as the
    proxy calls it under its server span, after its pre-call hooks (``proxied``: else the
    Router call alone); ``fallback``: its first deployment fails."""
    model_list = [deployment(llm, "fast", "openai/gpt-4o-mini", "dep-1")]
    if fallback:
        model_list = [deployment(llm, "fast", "openai/gpt-4o-mini-error-429", "dep-bad")]
        model_list.append(deployment(llm, "backup", "openai/gpt-4o-mini", "dep-1"))
    router = litellm.Router(
        model_list=model_list, fallbacks=[{"fast": ["backup"]}] if fallback else [], num_retries=0
    )
    tracer = telemetry.tracer_provider.get_tracer("test")

    proxy_logging = utils.ProxyLogging(user_api_key_cache=DualCache())
    messages = [{"role": "user", "content": "hi"}]

    async def request() -> None:
        with tracer.start_as_current_span("request"):
            if proxied:
                data = {"model": "fast", "messages": messages}
                await proxy_logging.pre_call_hook(UserAPIKeyAuth(), data, "completion")
            await router.acompletion(model="fast", messages=messages)

    asyncio.run(request())


def test_in_the_proxy_the_routers_facts_go_onto_the_request_span(
    instrument: Any, telemetry: Any, llm: Any
) -> None:
    instrument()
    _seams.wrap_proxy(types.ModuleType("proxy_server"))
    route_under_a_request_span(telemetry, llm)
    request = telemetry.only("request")
    assert not telemetry.finished("router")
    assert telemetry.only("chat ").parent.span_id == request.context.span_id
    assert telemetry.only("chat ").attributes["litellm.model_id"] == "dep-1"
    # one attempt: the group only (the deployment and its id are on the chat span)
    assert {k: v for k, v in request.attributes.items() if k.startswith("litellm.router")} == {
        "litellm.router.model_group": "fast"
    }


def test_in_the_proxy_a_fallback_shows_on_the_request_span(
    instrument: Any, telemetry: Any, llm: Any
) -> None:
    instrument()
    _seams.wrap_proxy(types.ModuleType("proxy_server"))
    route_under_a_request_span(telemetry, llm, fallback=True)
    request = telemetry.only("request")
    attempts = telemetry.finished("chat ")
    assert len(attempts) == 2
    assert {a.parent.span_id for a in attempts} == {request.context.span_id}
    assert {k: v for k, v in request.attributes.items() if k.startswith("litellm.router")} == {
        "litellm.router.model_group": "fast",
        "litellm.router.final_model_group": "backup",
        "litellm.router.attempts": 2,
        "litellm.router.retries": 0,
        "litellm.router.fallbacks": 1,
    }
    assert request.status.status_code is StatusCode.UNSET


@pytest.mark.parametrize("proxy", [True, False], ids=["proxy-phase-spans", "sdk"])
def test_a_router_span_with_phase_spans_or_outside_a_proxied_request(
    instrument: Any, telemetry: Any, llm: Any, proxy: bool
) -> None:
    instrument(proxy_phase_spans=proxy)
    # the proxy's functions wrapped, as when its server module is merely imported (litellm's
    # own ``otel`` callback imports it in SDK apps): not a proxied request by itself
    _seams.wrap_proxy(types.ModuleType("proxy_server"))
    route_under_a_request_span(telemetry, llm, proxied=proxy)
    router = telemetry.only("router fast")
    assert router.parent.span_id == telemetry.only("request").context.span_id
    assert telemetry.only("chat ").parent.span_id == router.context.span_id
    assert "litellm.router.model_group" not in telemetry.only("request").attributes


def test_only_the_requests_own_router_call_takes_the_request_span(
    instrument: Any, telemetry: Any, llm: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A second Router call in the request, and one from a task that outlives the request
    (litellm's logging callbacks run in a copy of the request's context), get their router
    span: the first does not lose its facts, the second writes nothing on an ended span."""
    instrument()
    _seams.wrap_proxy(types.ModuleType("proxy_server"))
    router = litellm.Router(
        model_list=[
            deployment(llm, "fast", "openai/gpt-4o-mini", "dep-1"),
            deployment(llm, "checker", "openai/gpt-4o-mini", "dep-2"),
        ],
        num_retries=0,
    )
    tracer = telemetry.tracer_provider.get_tracer("test")
    proxy_logging = utils.ProxyLogging(user_api_key_cache=DualCache())
    messages = [{"role": "user", "content": "hi"}]

    async def request() -> None:
        with tracer.start_as_current_span("request"):
            data = {"model": "fast", "messages": messages}
            await proxy_logging.pre_call_hook(UserAPIKeyAuth(), data, "completion")
            await router.acompletion(model="fast", messages=messages)
            await router.acompletion(model="checker", messages=messages)
            later = asyncio.get_running_loop().create_future()

            async def after_the_request() -> None:
                await later
                await router.acompletion(model="checker", messages=messages)

            task = asyncio.create_task(after_the_request())
        later.set_result(None)  # the request span has ended
        await task

    with caplog.at_level("WARNING"):
        asyncio.run(request())
    request_span = telemetry.only("request")
    assert request_span.attributes["litellm.router.model_group"] == "fast"
    routers = telemetry.finished("router ")
    assert [r.name for r in routers] == ["router checker", "router checker"]
    assert routers[0].parent.span_id == request_span.context.span_id
    assert not [r for r in caplog.records if "ended span" in r.getMessage()]


def test_without_a_recording_request_span_the_router_keeps_its_span(
    instrument: Any, telemetry: Any, llm: Any
) -> None:
    """The proxy traced without a server span (no FastAPI instrumentation, or an excluded
    route): the Router's facts have nowhere else to go."""
    instrument()
    _seams.wrap_proxy(types.ModuleType("proxy_server"))
    router = litellm.Router(
        model_list=[deployment(llm, "fast", "openai/gpt-4o-mini", "dep-1")], num_retries=0
    )
    proxy_logging = utils.ProxyLogging(user_api_key_cache=DualCache())
    messages = [{"role": "user", "content": "hi"}]

    async def request() -> None:
        data = {"model": "fast", "messages": messages}
        await proxy_logging.pre_call_hook(UserAPIKeyAuth(), data, "completion")
        await router.acompletion(model="fast", messages=messages)

    asyncio.run(request())
    router_span = telemetry.only("router fast")
    assert router_span.attributes["litellm.router.model_group"] == "fast"
    assert telemetry.only("chat ").parent.span_id == router_span.context.span_id
