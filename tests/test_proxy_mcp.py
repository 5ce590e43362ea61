"""MCP through a real LiteLLM Proxy (the gateway), end to end: a real MCP server
(tests/fake_mcp_server.py), registered in the proxy's config.yaml, a real MCP client session
through the proxy's ``/mcp``, the REST route, and a ``/v1/responses`` request whose model (the
fake OpenAI server) asks for an MCP tool; with and without the client's ``traceparent``, with
content capture off and on. The spans reach a local OTLP receiver.

Each tool call the proxy makes is an ``execute_tool {tool}`` span (which tool, on which server,
for which key and team, how long, did it fail) under the request that asked for it: the MCP
POST's server span, the REST route's, or the ``chat`` span of the model call. Every span of the
module's run is scanned for the run's credentials.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mcp_fixtures import (
    CLIENT_MCP_TOKEN,
    ERROR,
    INTERNAL,
    MCP_SECRETS,
    SERVER,
    TOOL_MODEL,
    MCPProxy,
    MCPServer,
    Session,
    everything_received,
    mcp_session,
    mcp_unavailable,
    running_mcp_server,
    start_mcp_proxy,
    traceparent,
    tree,
)
from otlp_receiver import OTLPReceiver, ReceivedSpan, running
from proxy_fixtures import VIRTUAL_KEY, VIRTUAL_KEY_ATTRIBUTES

if (_why := mcp_unavailable()) is not None:
    pytest.skip(_why, allow_module_level=True)

CALLS = [
    ("calc-add", {"a": 2, "b": 3}),
    ("calc-refuse", {"reason": "not today"}),
    ("gone-add", {"a": 1, "b": 1}),
    ("calc-authorized", {}),
]
"""A tool that succeeds, one that returns ``isError``, one whose server is down, and one that
checks the proxy sent the upstream credential."""

receiver = pytest.fixture(running, scope="module", name="receiver")


calc = pytest.fixture(running_mcp_server, scope="module", name="calc")


@pytest.fixture(scope="module", params=["no-content", "content"])
def gateway(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    fake_llm: Any,
    receiver: OTLPReceiver,
    calc: MCPServer,
) -> Iterator[MCPProxy]:
    directory: Path = tmp_path_factory.mktemp("proxy-mcp")
    yield from start_mcp_proxy(
        directory, fake_llm.base_url, receiver, calc, capture_content=request.param == "content"
    )


def wait_for_tools(
    receiver: OTLPReceiver, count: int, **attributes: Any
) -> tuple[list[ReceivedSpan], list[ReceivedSpan]]:
    """The ``count`` ``execute_tool`` spans with ``attributes``, and every span of their
    traces once their parents (server spans, which end last) are in."""

    def tools(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
        return [
            s
            for s in spans
            if s.name.startswith("execute_tool ")
            and all(s.attributes.get(k) == v for k, v in attributes.items())
        ]

    def done(spans: list[ReceivedSpan]) -> bool:
        found = tools(spans)
        ids = {s.span_id for s in spans}
        return len(found) >= count and all(s.parent_id in ids for s in found)

    spans = receiver.wait_for(done)
    found = tools(spans)
    traces = {s.trace_id for s in found}
    in_traces = [s for s in spans if s.trace_id in traces]
    assert len(found) == count, tree(in_traces)
    return found, in_traces


def find(spans: list[ReceivedSpan], server: str, tool: str) -> ReceivedSpan:
    """The span of ``tool`` on ``server``."""
    return next(
        s
        for s in spans
        if s.attributes["litellm.mcp.server.name"] == server
        and s.attributes["gen_ai.tool.name"] == tool
    )


def parent(span: ReceivedSpan, spans: list[ReceivedSpan]) -> ReceivedSpan:
    found = [s for s in spans if s.span_id == span.parent_id]
    assert found, f"no parent of {span.name}:\n{tree(spans)}"
    return found[0]


def the_tool_span(receiver: OTLPReceiver, trace_id: int) -> tuple[ReceivedSpan, list[ReceivedSpan]]:
    """The one ``execute_tool`` span of a request's trace, and the trace's spans, once its
    server span (which ends last) is in."""
    spans = receiver.wait_for(
        lambda spans: any(s.trace_id == trace_id and s.kind == SERVER for s in spans)
    )
    spans = [s for s in spans if s.trace_id == trace_id]
    tools = [s for s in spans if s.name.startswith("execute_tool")]
    assert len(tools) == 1, tree(spans)
    return tools[0], spans


def assert_tool_span(
    span: ReceivedSpan, tool: str, server: str, gateway: MCPProxy, arguments: dict[str, Any]
) -> None:
    """What every ``execute_tool`` span of a tool call records, content capture aside."""
    attributes = span.attributes
    assert span.name == f"execute_tool {tool}"
    assert span.kind == INTERNAL
    assert attributes["gen_ai.operation.name"] == "execute_tool"
    assert attributes["gen_ai.tool.name"] == tool
    assert attributes["mcp.method.name"] == "tools/call"
    assert attributes["litellm.mcp.server.name"] == server
    if gateway.capture_content:
        assert json.loads(attributes["gen_ai.tool.call.arguments"]) == arguments
    else:
        assert "gen_ai.tool.call.arguments" not in attributes
        assert "gen_ai.tool.call.result" not in attributes
        assert not span.status_message


@pytest.mark.parametrize("caller", [False, True], ids=["no-traceparent", "traceparent"])
def test_a_client_session_through_the_gateway(
    gateway: MCPProxy, receiver: OTLPReceiver, caller: bool
) -> None:
    headers, trace_id, caller_span = traceparent() if caller else ({}, None, None)
    session: Session = mcp_session(
        gateway.server, CALLS, key=VIRTUAL_KEY, headers=headers, extra=True
    )
    results = session.results
    assert results["calc-add"].content[0].text == "5" and not results["calc-add"].isError
    assert results["calc-refuse"].isError and results["gone-add"].isError
    assert results["calc-authorized"].content[0].text == "yes"  # the upstream token was sent

    found, spans = wait_for_tools(receiver, len(CALLS), **{"mcp.session.id": session.session_id})
    for name, arguments in CALLS:
        server, tool = name.split("-", 1)
        span = find(found, server, tool)
        assert_tool_span(span, tool, server, gateway, arguments)
        attributes = span.attributes
        assert attributes["mcp.protocol.version"] == session.protocol_version
        assert attributes["mcp.session.id"] == session.session_id
        for key, value in VIRTUAL_KEY_ATTRIBUTES.items():
            assert attributes[key] == value, key
        # under the server span of the POST that carried the tools/call
        post = parent(span, spans)
        assert post.kind == SERVER and post.name == "POST /mcp", tree(spans)
        assert post.attributes["mcp.method.name"] == "tools/call"
        assert post.attributes["jsonrpc.request.id"] == attributes["jsonrpc.request.id"]
        assert post.start <= span.start <= span.end <= post.end
        if caller:
            assert span.trace_id == trace_id and post.parent_id == caller_span

    add, refuse, gone = (
        find(found, "calc", "add"),
        find(found, "calc", "refuse"),
        find(found, "gone", "add"),
    )
    assert add.status_code == 0 and "error.type" not in add.attributes
    assert refuse.status_code == ERROR and refuse.attributes["error.type"] == "tool_error"
    assert gone.status_code == ERROR
    assert gone.attributes["error.type"] == "httpx.ConnectError"
    assert not gone.status_message  # a failed upstream call's message is never recorded
    if gateway.capture_content:
        assert "5" in add.attributes["gen_ai.tool.call.result"]
        assert "not today" in refuse.status_message

    # the session's other MCP requests: their method on their server span
    expected = {"tools/list", "prompts/list", "resources/list", "tools/call"}

    def methods(spans: list[ReceivedSpan]) -> set[str]:
        return {
            s.attributes.get("mcp.method.name")
            for s in spans
            if s.kind == SERVER and (not caller or s.trace_id == trace_id)
        }

    assert expected <= methods(receiver.wait_for(lambda spans: expected <= methods(spans)))


def test_the_rest_route(gateway: MCPProxy, receiver: OTLPReceiver) -> None:
    headers, trace_id, _ = traceparent()
    answer = gateway.server.post(
        "/mcp-rest/tools/call",
        {"server_id": "calc", "name": "add", "arguments": {"a": 20, "b": 22}},
        key=VIRTUAL_KEY,
        **headers,
    )
    assert answer["content"][0]["text"] == "42"
    span, spans = the_tool_span(receiver, trace_id)
    assert_tool_span(span, "add", "calc", gateway, {"a": 20, "b": 22})
    assert parent(span, spans).name == "POST /mcp-rest/tools/call"
    assert "mcp.session.id" not in span.attributes and "jsonrpc.request.id" not in span.attributes
    for key, value in VIRTUAL_KEY_ATTRIBUTES.items():
        assert span.attributes[key] == value, key


def test_a_model_call_that_runs_an_mcp_tool(gateway: MCPProxy, receiver: OTLPReceiver) -> None:
    """``/v1/responses`` with the gateway's MCP tools: the model asks for ``calc-add``, the
    proxy runs it and gives the model the result; the tool's span is in the request's trace,
    under the model call, with the model's tool call id."""
    headers, trace_id, _ = traceparent()
    answer = gateway.server.post(
        "/v1/responses",
        {
            "model": TOOL_MODEL,
            "input": 'Add them. args: {"a": 4, "b": 5}',
            "tools": [
                {
                    "type": "mcp",
                    "server_label": "calc",
                    "server_url": "litellm_proxy/mcp/calc",
                    "require_approval": "never",
                }
            ],
        },
        key=VIRTUAL_KEY,
        **headers,
    )
    assert answer["output"][0]["content"][0]["text"] == "The tool said: 9"
    span, spans = the_tool_span(receiver, trace_id)
    assert_tool_span(span, "add", "calc", gateway, {"a": 4, "b": 5})
    assert span.attributes["gen_ai.tool.call.id"] == "call_first_tool"
    model_call = parent(span, spans)
    assert model_call.attributes["gen_ai.operation.name"] == "chat", tree(spans)
    for key, value in VIRTUAL_KEY_ATTRIBUTES.items():
        assert span.attributes[key] == value, key


def test_no_credential_in_any_span(gateway: MCPProxy, receiver: OTLPReceiver) -> None:
    """The upstream token, the static header, a client's own MCP credential and the proxy's
    keys appear in no span of this module's run (every test's, and this session's, which
    sends the client's per-server credential)."""
    session = mcp_session(
        gateway.server,
        CALLS,
        headers={"x-mcp-calc-authorization": f"Bearer {CLIENT_MCP_TOKEN}"},
        extra=True,
    )
    wait_for_tools(receiver, len(CALLS), **{"mcp.session.id": session.session_id})
    spans = receiver.snapshot()
    recorded = everything_received(spans)
    assert "execute_tool" in recorded and "calc" in recorded  # the scan sees what is there
    for secret in MCP_SECRETS:
        assert secret not in recorded
