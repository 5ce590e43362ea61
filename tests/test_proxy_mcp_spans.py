"""In-process checks of the MCP gateway's wrapping (the proxy end to end is in
test_proxy_mcp.py): litellm's ``MCPServerManager`` calls a real MCP server
(tests/fake_mcp_server.py); uninstrument() puts litellm's functions back; the span's
facts come from the call's arguments and the MCP request being served, never a header but
the session's and protocol version's; a fault of ours changes no tool call's result.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from typing import Any

import pytest
from opentelemetry.trace import StatusCode

from mcp_fixtures import UPSTREAM_TOKEN, MCPServer, mcp_unavailable, running_mcp_server
from opentelemetry_instrumentation_litellm.proxy import _mcp

if (_why := mcp_unavailable()) is not None:
    pytest.skip(_why, allow_module_level=True)

manager_module = importlib.import_module(
    "litellm.proxy._experimental.mcp_server.mcp_server_manager"
)
client_module = importlib.import_module("litellm.experimental_mcp_client.client")
handler_module = importlib.import_module("litellm.responses.mcp.litellm_proxy_mcp_handler")

WRAPPED = [
    (manager_module.MCPServerManager, "call_tool"),
    (client_module.MCPClient, "run_with_session"),
    (handler_module.LiteLLM_Proxy_MCP_Handler, "_execute_tool_calls"),
]

SECRET = "mcp-SeCrEt-42ab"
HEADERS = {
    "Authorization": f"Bearer {SECRET}",
    "x-mcp-calc-authorization": SECRET,
    "mcp-session-id": "session-1",
    "mcp-protocol-version": "2025-11-25",
}


calc = pytest.fixture(running_mcp_server, scope="module", name="calc")


def manager(calc: MCPServer, gone: bool = False) -> Any:
    """A manager with ``calc`` registered (its tools mapped), and ``gone`` on a refused port."""
    servers = {
        "calc": {
            "url": calc.url,
            "transport": "http",
            "auth_type": "bearer_token",
            "authentication_token": UPSTREAM_TOKEN,
            "static_headers": {"x-static": SECRET},
        }
    }

    async def make() -> Any:
        created = manager_module.MCPServerManager()
        await created.load_servers_from_config(servers)
        await created._initialize_tool_name_to_mcp_server_name_mapping()
        return created

    return asyncio.run(make())


def call(mcp: Any, name: str, arguments: dict[str, Any], server: str = "calc", **extra: Any) -> Any:
    return asyncio.run(
        mcp.call_tool(
            server_name=server, name=name, arguments=arguments, raw_headers=HEADERS, **extra
        )
    )


def test_uninstrument_restores_litellms_functions(
    instrument: Any, telemetry: Any, calc: MCPServer
) -> None:
    originals = [vars(owner)[name] for owner, name in WRAPPED]
    instrumentor = instrument()
    assert not any(
        vars(owner)[name] is o for (owner, name), o in zip(WRAPPED, originals, strict=True)
    )
    mcp = manager(calc)
    assert call(mcp, "add", {"a": 1, "b": 2}).content[0].text == "3"
    assert telemetry.only("execute_tool add").attributes["gen_ai.tool.name"] == "add"

    instrumentor.uninstrument()
    assert all(vars(owner)[name] is o for (owner, name), o in zip(WRAPPED, originals, strict=True))
    assert call(mcp, "add", {"a": 1, "b": 2}).content[0].text == "3"
    assert len(telemetry.finished("execute_tool")) == 1


@pytest.mark.parametrize("capture", [False, True])
def test_a_tool_call_and_a_tool_error(
    instrument: Any, telemetry: Any, calc: MCPServer, capture: bool
) -> None:
    instrument(capture_message_content=capture)
    mcp = manager(calc)
    assert call(mcp, "add", {"a": 2, "b": 5}).content[0].text == "7"
    assert call(mcp, "refuse", {"reason": "no way"}).isError
    add = telemetry.only("execute_tool add")
    assert add.attributes["mcp.session.id"] == "session-1"
    assert add.attributes["mcp.protocol.version"] == "2025-11-25"
    assert add.attributes["litellm.mcp.server.name"] == "calc"
    assert "jsonrpc.request.id" not in add.attributes  # no MCP request being served
    assert add.status.status_code is StatusCode.UNSET
    assert ("gen_ai.tool.call.arguments" in add.attributes) is capture
    assert ("gen_ai.tool.call.result" in add.attributes) is capture
    refuse = telemetry.only("execute_tool refuse")
    assert refuse.status.status_code is StatusCode.ERROR
    assert refuse.attributes["error.type"] == "tool_error"
    assert ("no way" in (refuse.status.description or "")) is capture
    for span in telemetry.finished("execute_tool"):
        assert SECRET not in repr(dict(span.attributes)) + repr(span.status.description)


def boom(*args: Any, **kwargs: Any) -> None:
    raise RuntimeError("injected")


@pytest.mark.parametrize("step", ["_start", "_finish", "_key_facts", "_header"])
def test_a_fault_of_ours_changes_no_result(
    step: str, instrument: Any, telemetry: Any, calc: MCPServer, caplog: Any, monkeypatch: Any
) -> None:
    caplog.set_level(logging.DEBUG, logger="opentelemetry_instrumentation_litellm")
    mcp = manager(calc)
    expected = [call(mcp, "add", {"a": 2, "b": 2}), call(mcp, "refuse", {"reason": "x"})]
    instrument(capture_message_content=True)
    monkeypatch.setattr(_mcp, step, boom)
    seen = [call(mcp, "add", {"a": 2, "b": 2}), call(mcp, "refuse", {"reason": "x"})]
    assert seen == expected
    assert any(r.exc_info and "injected" in str(r.exc_info[1]) for r in caplog.records)
    # a fault while starting: no span; while describing the call or ending: it ends all the same
    assert len(telemetry.finished("execute_tool")) == (0 if step == "_start" else 2)


@pytest.mark.parametrize("phase_spans", [False, True])
def test_an_mcp_method_on_the_server_span_or_its_own(
    instrument: Any, telemetry: Any, phase_spans: bool
) -> None:
    """The gateway MCP server's handler of a method (``tools/list`` here, called as the
    ``mcp`` package calls it): ``mcp.method.name`` on the current span (the request's server
    span), or with phase spans a span named for the method."""
    from mcp import types
    from opentelemetry.trace import SpanKind

    gateway = importlib.import_module("litellm.proxy._experimental.mcp_server.server").server
    instrument(proxy_phase_spans=phase_spans)
    handler = gateway.request_handlers[types.ListToolsRequest]
    tracer = telemetry.tracer_provider.get_tracer("proxy")
    with tracer.start_as_current_span("POST /mcp", kind=SpanKind.SERVER):
        asyncio.run(handler(types.ListToolsRequest(method="tools/list")))
    server = telemetry.only("POST /mcp")
    if phase_spans:
        span = telemetry.only("tools/list")
        assert span.parent.span_id == server.context.span_id
        assert span.attributes["mcp.method.name"] == "tools/list"
        assert "mcp.method.name" not in server.attributes
    else:
        assert server.attributes["mcp.method.name"] == "tools/list"
        assert not telemetry.finished("tools/list")
