"""MCP through a real LiteLLM Proxy: MCP servers (tests/fake_mcp_server.py, the ``mcp``
package's FastMCP over streamable HTTP) in their own process groups, a proxy whose
config.yaml registers them (``mcp_servers:``, no database), and a real MCP client session
(the ``mcp`` package's streamable HTTP client) through the proxy's ``/mcp``.

Registered servers:

* ``calc``: up; the proxy sends it the static bearer :data:`UPSTREAM_TOKEN` (its
  ``authentication_token``), which it checks (tool ``authorized``);
* ``gone``: up while the proxy starts (so the proxy knows its tools), then stopped: its
  registered URL refuses connections, a server that went down.

Every credential of the run (the proxy's keys, the upstream token, the static header, a
client's per-server MCP auth header) is in :data:`MCP_SECRETS`, for the scans.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conftest import TESTS, start_process_group
from otlp_receiver import OTLPReceiver, ReceivedSpan
from otlp_receiver import tree as span_tree
from processes import free_port, stop_process_group
from proxy_fixtures import (
    CALLBACK,
    MASTER_KEY,
    PROVIDER_KEY,
    SECRETS,
    ProxyServer,
    proxy_env,
    start_proxy,
)

LITELLM_MCP_MODULES = (
    "litellm.proxy._experimental.mcp_server.mcp_server_manager",
    "litellm.experimental_mcp_client.client",
    "litellm.responses.mcp.litellm_proxy_mcp_handler",
)
"""litellm 1.102.4's MCP gateway modules the instrumentation wraps (tests/test_upstream.py)."""


def mcp_unavailable() -> str | None:
    """Why the MCP tests cannot run with what is installed, or None: they need the ``mcp``
    package's FastMCP server framework (``mcp`` 1.x; 2.x renamed it) for the test server and
    litellm's MCP gateway modules as 1.102.4 lays them out (the other litellm columns of the CI
    matrix differ: their MCP tests are not written yet)."""
    import importlib

    for name in ("mcp.server.fastmcp", *LITELLM_MCP_MODULES):
        try:
            importlib.import_module(name)
        except Exception as error:
            return f"the MCP tests need {name}, which does not import here: {error!r}"[:300]
    return None


UPSTREAM_TOKEN = "mcp-upstream-TOPSECRET-5d2c91"
"""The bearer token the proxy sends the ``calc`` server (config.yaml ``authentication_token``)."""
STATIC_SECRET = "mcp-static-TOPSECRET-18ab77"
"""A static header the proxy sends the ``calc`` server (config.yaml ``static_headers``)."""
CLIENT_MCP_TOKEN = "mcp-client-TOPSECRET-c0ffee"
"""A client's own credential for the ``calc`` server, in ``x-mcp-calc-authorization``."""
MCP_SECRETS = (*SECRETS, UPSTREAM_TOKEN, STATIC_SECRET, CLIENT_MCP_TOKEN)
"""What must appear in no span of an MCP run."""

TOOL_MODEL = "mcp-chat"
"""A model group whose model (the fake OpenAI server's ``first-tool``) calls the first tool
it is offered, then answers with what the tool said."""


@dataclass
class MCPServer:
    """A running tests/fake_mcp_server.py process group."""

    port: int
    process: Any

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def stop(self) -> None:
        stop_process_group(self.process)


def start_mcp_server(token: str = UPSTREAM_TOKEN) -> MCPServer:
    port = free_port()
    command = [sys.executable, str(TESTS / "fake_mcp_server.py"), "--port", str(port)]
    env = {"MCP_TOKEN": token, "PATH": "/usr/bin:/bin"}
    # its log (tracebacks of connections the proxy drops) is of no use to the tests
    process, _ = start_process_group(command, "LISTENING", env=env, stderr=subprocess.DEVNULL)
    return MCPServer(port, process)


def running_mcp_server() -> Iterator[MCPServer]:
    """A started MCP server, stopped afterwards: the body of a test module's fixture."""
    server = start_mcp_server()
    try:
        yield server
    finally:
        server.stop()


def mcp_config(fake_llm_url: str, calc: MCPServer, gone: MCPServer) -> dict[str, Any]:
    """The proxy's config.yaml: the two MCP servers, a tool-calling model, the callback."""
    server = {"transport": "http", "allow_all_keys": True}
    return {
        "model_list": [
            {
                "model_name": TOOL_MODEL,
                "litellm_params": {
                    "model": "openai/first-tool-model",
                    "api_base": fake_llm_url,
                    "api_key": PROVIDER_KEY,
                },
            }
        ],
        "mcp_servers": {
            "calc": {
                **server,
                "url": calc.url,
                "auth_type": "bearer_token",
                "authentication_token": UPSTREAM_TOKEN,
                "static_headers": {"x-static-secret": STATIC_SECRET},
            },
            "gone": {**server, "url": gone.url},
        },
        "litellm_settings": {"callbacks": [CALLBACK]},
        "general_settings": {
            "master_key": MASTER_KEY,
            "custom_auth": "custom_auth.user_api_key_auth",
        },
    }


@dataclass(frozen=True)
class MCPProxy:
    server: ProxyServer
    capture_content: bool
    receiver: OTLPReceiver


def start_mcp_proxy(
    directory: Path,
    fake_llm_url: str,
    receiver: OTLPReceiver,
    calc: MCPServer,
    *,
    capture_content: bool,
) -> Iterator[MCPProxy]:
    """The body of a fixture: a proxy with ``calc`` and a ``gone`` server stopped once the
    proxy is up; stopped afterwards."""
    gone = start_mcp_server()
    content = {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY"}
    env = proxy_env(
        **receiver.exporter_env(),
        OTEL_BSP_SCHEDULE_DELAY="100",
        **(content if capture_content else {}),
    )
    try:
        proxy = start_proxy(directory, mcp_config(fake_llm_url, calc, gone), env)
        try:
            listed_tools(proxy, "gone")  # now the proxy knows which server has them
        except BaseException:
            proxy.stop()
            raise
    finally:
        gone.stop()
    try:
        yield MCPProxy(proxy, capture_content, receiver)
    finally:
        proxy.stop()


def listed_tools(proxy: ProxyServer, server: str) -> list[str]:
    """The tools of ``server`` the proxy lists on its REST route (``GET /mcp-rest/tools/list``),
    which also tells the proxy whose tools they are."""
    request = urllib.request.Request(
        f"{proxy.url}/mcp-rest/tools/list?server_id={server}",
        headers={"Authorization": f"Bearer {MASTER_KEY}"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        tools = [tool["name"] for tool in json.load(answer)["tools"]]
    assert tools, f"the proxy lists no tool of {server}:\n{proxy.log()}"
    return tools


# -- a client session through the proxy -------------------------------------------------


@dataclass
class Session:
    """What one MCP client session through the proxy saw."""

    session_id: str | None = None
    protocol_version: str | None = None
    tools: list[str] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    """Tool name -> its ``CallToolResult``."""


def traceparent() -> tuple[dict[str, str], int, int]:
    """A caller's ``traceparent`` header, its trace id and span id."""
    trace_id, span_id = secrets.randbits(128) or 1, secrets.randbits(64) or 1
    return {"traceparent": f"00-{trace_id:032x}-{span_id:016x}-01"}, trace_id, span_id


async def _run_session(
    url: str, headers: dict[str, str], calls: list[tuple[str, dict[str, Any]]], extra: bool
) -> Session:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    seen = Session()
    async with (
        streamablehttp_client(url, headers=headers) as (read, write, session_id),
        ClientSession(read, write) as session,
    ):
        initialized = await session.initialize()
        seen.protocol_version = initialized.protocolVersion
        seen.session_id = session_id()
        seen.tools = [tool.name for tool in (await session.list_tools()).tools]
        for name, arguments in calls:
            seen.results[name] = await session.call_tool(name, arguments)
        if extra:
            await session.list_prompts()
            await session.list_resources()
    return seen


def mcp_session(
    proxy: ProxyServer,
    calls: list[tuple[str, dict[str, Any]]],
    *,
    key: str = MASTER_KEY,
    headers: dict[str, str] | None = None,
    extra: bool = False,
) -> Session:
    """Initialize, list tools, make ``calls`` (and with ``extra`` list prompts and
    resources) in one MCP client session through the proxy's ``/mcp``."""
    all_headers = {"Authorization": f"Bearer {key}", **(headers or {})}
    return asyncio.run(_run_session(f"{proxy.url}/mcp", all_headers, calls, extra))


# -- reading the spans ------------------------------------------------------------------

SERVER = 2
INTERNAL = 1
ERROR = 2


def tree(spans: list[ReceivedSpan]) -> str:
    """The spans as an indented tree with their tool names, for assertion messages."""
    return span_tree(spans, "gen_ai.tool.name")


def everything_received(spans: list[ReceivedSpan]) -> str:
    """Every name, attribute, status message and resource of ``spans``, as one string."""
    return "\n".join(
        f"{s.name} {s.attributes!r} {s.status_message!r} {s.resource!r}" for s in spans
    )
