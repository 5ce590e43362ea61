"""The LiteLLM Proxy's own work, driven in process as the proxy drives it: its key check,
its pre-call / during-call / post-call hook phases with a guardrail written here that
passes, blocks or rewrites, a streamed answer checked by guardrails, and a guardrail
pipeline, and the MCP gateway's tool calls (a tool that answers, one that returns
``isError``, one whose server is down) against a real MCP server (tests/fake_mcp_server.py,
started at the first MCP scenario, stopped by process group when the session ends). No
proxy HTTP server: the real (wrapped) litellm functions are called with real litellm
objects.

Each scenario returns what the application (the proxy's endpoint) got, in a form that
compares equal between runs: a result's text, an error's type and message, a stream's
chunks (the index of each source chunk passed on, the content of a chunk litellm made).
An exception the test's guardrail raised must reach the caller as the same object: the
scenario checks that itself.

``loaded()`` puts ``litellm.proxy.proxy_server`` in ``sys.modules`` only while a scenario
runs: a process that imported it is a proxy worker to the instrumentation (the rest of the
test session must not be one), and litellm imports the proxy's state from it at call time.
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import importlib
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import litellm
import pytest
from fastapi import HTTPException
from litellm.integrations.custom_guardrail import CustomGuardrail

from matrix import skip_module_without_guardrail_seams

# The scenarios run guardrails through the proxy's guardrail functions (proxy/_seams.py).
skip_module_without_guardrail_seams()

SERVER = "litellm.proxy.proxy_server"
MASTER_KEY = "sk-master-0123456789"
ROUTE = "/chat/completions"


class Words(CustomGuardrail):
    """Blocks a text with ``forbidden`` (raising :attr:`raised`), rewrites ``darn``."""

    raised: HTTPException | None = None

    async def apply_guardrail(self, inputs, request_data, input_type, logging_obj=None):
        texts = inputs.get("texts") or []
        if any("forbidden" in text for text in texts):
            Words.raised = HTTPException(status_code=400, detail={"error": "word not allowed"})
            raise Words.raised
        if any("darn" in text for text in texts):
            inputs["texts"] = [text.replace("darn", "d**n") for text in texts]
        return inputs


class Rewriting(CustomGuardrail):
    """Rewrites ``darn`` in a streamed answer, and has litellm send the rewrite (it drops
    rewrites of a stream by default)."""

    streaming_transform_mode = "incremental_diff"

    async def apply_guardrail(self, inputs, request_data, input_type, logging_obj=None):
        inputs["texts"] = [text.replace("darn", "d**n") for text in inputs.get("texts") or []]
        return inputs


class Watch(CustomGuardrail):
    """Checks a streamed answer with its own iterator hook: passes every chunk on."""

    async def async_post_call_streaming_iterator_hook(
        self, user_api_key_dict, response, request_data
    ):
        async for chunk in response:
            yield chunk


@cache
def _server() -> Any:
    """``litellm.proxy.proxy_server``, imported once (a few seconds), then kept out of
    ``sys.modules`` (see the module's doc). Its import adds a callback: taken back."""
    callbacks = list(litellm.callbacks)
    server = importlib.import_module(SERVER)
    litellm.callbacks[:] = callbacks
    _unload()
    return server


def _unload() -> None:
    sys.modules.pop(SERVER, None)
    proxy = sys.modules.get("litellm.proxy")
    if proxy is not None and "proxy_server" in vars(proxy):
        delattr(proxy, "proxy_server")


@contextmanager
def loaded() -> Iterator[Any]:
    """The proxy server module in ``sys.modules``, its master key set, and the test's
    guardrails registered, as the proxy's config.yaml would, for the block."""
    server = _server()
    sys.modules[SERVER] = server
    sys.modules["litellm.proxy"].proxy_server = server
    key, server.master_key = server.master_key, MASTER_KEY
    callbacks = list(litellm.callbacks)
    litellm.callbacks[:] = [
        Words(guardrail_name="pre", event_hook="pre_call", default_on=True),
        Words(guardrail_name="during", event_hook="during_call", default_on=True),
        # a streamed answer's layers, innermost first: rewritten, checked, watched
        Rewriting(guardrail_name="tidy", event_hook="post_call", default_on=True),
        Words(guardrail_name="post", event_hook="post_call", default_on=True),
        Watch(guardrail_name="watch", event_hook="post_call", default_on=True),
        Words(guardrail_name="screen", event_hook="pre_call", default_on=False),
    ]
    try:
        yield server
    finally:
        litellm.callbacks[:] = callbacks
        server.master_key = key
        _unload()


# --- what the proxy's endpoint works with -------------------------------------------------


def _proxy_logging() -> Any:
    from litellm.caching.dual_cache import DualCache
    from litellm.proxy.utils import ProxyLogging

    return ProxyLogging(user_api_key_cache=DualCache())


def _user() -> Any:
    from litellm.proxy._types import UserAPIKeyAuth

    return UserAPIKeyAuth(api_key="hashed-key", request_route=ROUTE)


def _request_data(text: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": text}],
        "metadata": {},
        **extra,
    }


def _answer(text: str) -> Any:
    return litellm.ModelResponse(
        model="gpt-4o-mini",
        choices=[{"index": 0, "message": {"role": "assistant", "content": text}}],
    )


def _http_request(server: Any) -> Any:
    from starlette.requests import Request

    body = json.dumps(_request_data("hi")).encode()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {
        "type": "http",
        "method": "POST",
        "path": ROUTE,
        "headers": [(b"content-type", b"application/json")],
        "query_string": b"",
        "app": server.app,
    }
    return Request(scope, receive)


def _blocked(call: Callable[[], Any]) -> tuple[str, Any]:
    """Run ``call``, which the test's guardrail blocks: its exception, the same object."""
    Words.raised = None
    with pytest.raises(HTTPException) as raised:
        asyncio.run(call())
    assert raised.value is Words.raised
    return ("blocked", raised.value.detail)


# --- the scenarios ------------------------------------------------------------------------


def _auth(key: str) -> Any:
    from litellm.proxy.auth.user_api_key_auth import user_api_key_auth

    server = sys.modules[SERVER]
    return user_api_key_auth(
        _http_request(server),
        api_key=f"Bearer {key}",
        azure_api_key_header="",
        anthropic_api_key_header=None,
        google_ai_studio_api_key_header=None,
        azure_apim_header=None,
        custom_litellm_key_header=None,
    )


def auth_ok() -> Any:
    user = asyncio.run(_auth(MASTER_KEY))
    return (type(user).__name__, user.user_role, user.api_key, user.request_route)


def auth_refused() -> Any:
    from litellm.proxy._types import ProxyException

    with pytest.raises(ProxyException) as raised:
        asyncio.run(_auth("sk-not-a-key"))
    return (type(raised.value).__name__, raised.value.message, raised.value.code)


def _pre_call(text: str) -> Any:
    data = _request_data(text)
    result = asyncio.run(_proxy_logging().pre_call_hook(_user(), data, call_type="completion"))
    assert result is data
    return result["messages"]


def pre_call_pass() -> Any:
    return _pre_call("hello")


def pre_call_rewrite() -> Any:
    return _pre_call("darn it")


def pre_call_block() -> Any:
    data = _request_data("a forbidden word")
    return _blocked(lambda: _proxy_logging().pre_call_hook(_user(), data, call_type="completion"))


def during_call() -> Any:
    data = _request_data("hello")
    call = _proxy_logging().during_call_hook(data, _user(), call_type="completion")
    return asyncio.run(call)["messages"]


def during_call_block() -> Any:
    data = _request_data("a forbidden word")
    return _blocked(lambda: _proxy_logging().during_call_hook(data, _user(), "completion"))


def _post_call(text: str) -> Any:
    response = _answer(text)
    call = _proxy_logging().post_call_success_hook(_request_data("q"), response, _user())
    result = asyncio.run(call)
    assert result is response
    return result.choices[0].message.content


def post_call_pass() -> Any:
    return _post_call("all is well")


def post_call_rewrite() -> Any:
    return _post_call("darn it")


def post_call_block() -> Any:
    response = _answer("a forbidden answer")
    return _blocked(
        lambda: _proxy_logging().post_call_success_hook(_request_data("q"), response, _user())
    )


# a streamed answer, checked by the post-call guardrails ("post", "watch", "tidy")


def _chunks(text: str) -> list[Any]:
    from litellm.types.utils import ModelResponseStream

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> Any:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        return ModelResponseStream(id="chatcmpl-1", model="gpt-4o-mini", choices=[choice])

    words = [chunk({"role": "assistant", "content": f"{word} "}) for word in text.split()]
    return [*words, chunk({}, "stop")]


async def _upstream(chunks: list[Any]) -> Any:
    for chunk in chunks:
        yield chunk


def _seen(chunk: Any, source: list[Any]) -> Any:
    """A chunk as the client gets it: which source chunk, or what litellm made."""
    for index, original in enumerate(source):
        if chunk is original:
            return index
    if isinstance(chunk, (bytes, str)):
        return chunk
    choices = getattr(chunk, "choices", None) or ()
    return [(c.delta.content, c.finish_reason) for c in choices]


def _checked(text: str) -> tuple[list[Any], Any]:
    source = _chunks(text)
    stream = _proxy_logging().async_post_call_streaming_iterator_hook(
        response=_upstream(source),
        user_api_key_dict=_user(),
        request_data=_request_data("q", stream=True),
    )
    return source, stream


ANSWER = "one two darn four five six seven eight nine"


def stream_iterate() -> Any:
    async def run() -> Any:
        source, stream = _checked(ANSWER)
        return [_seen(chunk, source) async for chunk in stream]

    return asyncio.run(run())


def stream_block() -> Any:
    """litellm turns the guardrail's block into an in-stream error frame."""

    async def run() -> Any:
        source, stream = _checked("one two three four five forbidden seven eight")
        return [_seen(chunk, source) async for chunk in stream]

    return asyncio.run(run())


def stream_close_early() -> Any:
    async def run() -> Any:
        source, stream = _checked(ANSWER)
        seen = [_seen(await stream.__anext__(), source) for _ in range(2)]
        await stream.aclose()  # the client went away
        return seen

    return asyncio.run(run())


def stream_abandon() -> Any:
    async def run() -> Any:
        source, stream = _checked(ANSWER)
        seen = [_seen(await stream.__anext__(), source) for _ in range(2)]
        del stream  # dropped: only the garbage collector (and the loop) can finish it
        gc.collect()
        for _ in range(5):
            await asyncio.sleep(0)
        return seen

    seen = asyncio.run(run())
    gc.collect()
    return seen


# a guardrail pipeline: "screen" then "pre", as a policy's pipeline steps


def _pipeline_data(text: str) -> dict[str, Any]:
    from litellm.types.proxy.policy_engine.pipeline_types import GuardrailPipeline, PipelineStep

    pipeline = GuardrailPipeline(
        mode="pre_call",
        steps=[
            PipelineStep(guardrail="screen", on_pass="next", on_fail="block", pass_data=True),
            PipelineStep(guardrail="pre", on_pass="allow", on_fail="block"),
        ],
    )
    # where the proxy's policy engine puts the pipelines it resolved for a request
    metadata = {
        "_guardrail_pipelines": [("screening", pipeline)],
        "_pipeline_managed_guardrails": {"screen", "pre"},
    }
    return {**_request_data(text), "metadata": metadata}


def pipeline() -> Any:
    data = _pipeline_data("darn it")
    result = asyncio.run(_proxy_logging().pre_call_hook(_user(), data, call_type="completion"))
    return result["messages"]


def pipeline_block() -> Any:
    data = _pipeline_data("a forbidden word")
    with pytest.raises(HTTPException) as raised:
        asyncio.run(_proxy_logging().pre_call_hook(_user(), data, call_type="completion"))
    assert raised.value is Words.raised or Words.raised is None
    return ("blocked", raised.value.status_code, str(raised.value.detail))


# --- the MCP gateway's tool calls ---------------------------------------------------------


from mcp_fixtures import mcp_unavailable  # noqa: E402

MCP_UNAVAILABLE = mcp_unavailable()
"""Why the MCP scenarios cannot run here (another litellm column, mcp 2.x), or None."""
# Imported now, not in a scenario: the instrumentation wraps them when they are imported,
# which must happen at instrument(), not inside the scenario that imports them first.
if MCP_UNAVAILABLE is None:
    importlib.import_module("litellm.proxy._experimental.mcp_server.mcp_server_manager")
    importlib.import_module("litellm.experimental_mcp_client.client")


@cache
def _mcp_url() -> str:
    """A running tests/fake_mcp_server.py's URL; stopped when the test session ends (the
    scenarios are found at collection, before any fixture)."""
    from mcp_fixtures import start_mcp_server

    server = start_mcp_server()
    atexit.register(server.stop)
    return server.url


def _mcp_call(server: str, name: str, arguments: dict[str, Any]) -> Any:
    """``MCPServerManager.call_tool`` on a manager with ``calc`` (up) and ``gone`` (a refused
    port, its tools known as if listed before it went down): the result's fields."""
    from litellm.proxy._experimental.mcp_server.mcp_server_manager import MCPServerManager
    from litellm.proxy._types import UserAPIKeyAuth

    async def run() -> Any:
        manager = MCPServerManager()
        await manager.load_servers_from_config(
            {
                "calc": {"url": _mcp_url(), "transport": "http"},
                "gone": {"url": "http://127.0.0.1:9/mcp", "transport": "http"},
            }
        )
        known = {"calc-add": "calc", "calc-refuse": "calc", "gone-add": "gone"}
        manager.tool_name_to_mcp_server_name_mapping.update(known)
        return await manager.call_tool(
            server_name=server,
            name=name,
            arguments=arguments,
            user_api_key_auth=UserAPIKeyAuth(api_key="hashed-key", team_id="team-1"),
            raw_headers={"mcp-session-id": "s-1", "mcp-protocol-version": "2025-11-25"},
        )

    result = asyncio.run(run())
    return (result.isError, [part.text for part in result.content])


def mcp_tool() -> Any:
    return _mcp_call("calc", "add", {"a": 1, "b": 2})


def mcp_tool_error() -> Any:
    return _mcp_call("calc", "refuse", {"reason": "no"})


def mcp_server_down() -> Any:
    return _mcp_call("gone", "add", {"a": 1, "b": 2})


SCENARIOS: dict[str, Callable[[], Any]] = {
    f.__name__: f
    for f in (
        auth_ok,
        auth_refused,
        pre_call_pass,
        pre_call_rewrite,
        pre_call_block,
        during_call,
        during_call_block,
        post_call_pass,
        post_call_rewrite,
        post_call_block,
        stream_iterate,
        stream_block,
        stream_close_early,
        stream_abandon,
        pipeline,
        pipeline_block,
        *((mcp_tool, mcp_tool_error, mcp_server_down) if MCP_UNAVAILABLE is None else ()),
    )
}
