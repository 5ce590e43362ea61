"""LiteLLM Proxy as an MCP gateway: the MCP tool calls it makes as ``execute_tool`` spans, the
other MCP requests it serves named on their server span.

- ``execute_tool {tool}`` (kind INTERNAL, util-genai's tool invocation): one tool call the
  proxy makes to an MCP server, wherever it comes from: a client's ``tools/call`` on ``/mcp``,
  the REST route ``/mcp-rest/tools/call``, or a ``/v1/responses`` / ``/chat/completions``
  request whose model asked for one of the gateway's tools (then under that request's ``chat``
  span, with the model's tool call id). All of them pass ``MCPServerManager.call_tool
  (server_name, name, arguments, ...)``, the wrapped seam. The span names the tool, its server
  (``litellm.mcp.server.name``), the MCP method, session, protocol version and JSON-RPC id the
  client gave, and the key's team and tags as LLM spans do. A result with ``isError`` ends it
  as ERROR with ``error.type`` ``tool_error``, or, when the upstream server failed, the type
  of the exception litellm's MCP client hit (it turns that into an ``isError`` result:
  ``MCPClient.run_with_session`` is wrapped to see it first); an exception instead of a result
  (the gateway's timeout, a guardrail's refusal) ends it with that exception's type. Arguments
  and result only with content capture on.
- Every MCP request the gateway serves (``tools/list``, ``tools/call``, ``prompts/*``,
  ``resources/*``, ``ping``): ``mcp.method.name``, ``jsonrpc.request.id`` and
  ``mcp.protocol.version`` on the request's server span (one HTTP request carries one MCP
  message); with phase spans switched on a ``{mcp.method.name}`` span instead (not for
  ``tools/call``, whose span is ``execute_tool``). The gateway's MCP server
  (``mcp.server.lowlevel.Server``) runs each request in the handler registered for its type
  in its public ``request_handlers``: those are wrapped. ``initialize`` is answered by the
  ``mcp`` package's session itself, not by a handler: its POST stays a bare server span.

Never recorded: any header but ``mcp-session-id`` and ``mcp-protocol-version``, the servers'
credentials, the message of a failed upstream call (it may quote the server's URL).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any, Final

from opentelemetry.trace import SpanKind, get_current_span, use_span
from opentelemetry.util.genai.types import Error
from opentelemetry.util.genai.utils import fq_exception_type

from opentelemetry_instrumentation_litellm import attributes as attrs
from opentelemetry_instrumentation_litellm._response import field
from opentelemetry_instrumentation_litellm._upstream import (
    JSONRPC_REQUEST_ID,
    MCP_METHOD_NAME,
    MCP_PROTOCOL_VERSION,
    MCP_SESSION_ID,
    USER_ID,
)
from opentelemetry_instrumentation_litellm.proxy import _guardrails as guardrails
from opentelemetry_instrumentation_litellm.proxy import _settings
from opentelemetry_instrumentation_litellm.proxy._guardrails import argument

_logger = logging.getLogger(__name__)

TOOLS_CALL: Final = "tools/call"
TOOL_ERROR: Final = "tool_error"
"""``error.type`` of a tool call whose result has ``isError`` (the MCP conventions' value)."""

_SESSION_HEADER: Final = "mcp-session-id"
_PROTOCOL_HEADER: Final = "mcp-protocol-version"
_MCP_SERVER_MODULE: Final = "mcp.server.lowlevel.server"
"""The ``mcp`` package's low-level server: its ``request_ctx`` holds the MCP request being
served (JSON-RPC id, the HTTP request that carried it)."""

_KEY_FIELDS: Final = (
    ("key_alias", attrs.LITELLM_PROXY_KEY_ALIAS),
    ("team_id", attrs.LITELLM_PROXY_TEAM_ID),
    ("team_alias", attrs.LITELLM_PROXY_TEAM_ALIAS),
    ("org_id", attrs.LITELLM_PROXY_ORG_ID),
    ("organization_alias", attrs.LITELLM_PROXY_ORG_ALIAS),
    ("user_id", attrs.LITELLM_PROXY_USER_ID),
)
"""``UserAPIKeyAuth`` field -> attribute: whose key made the call, as on LLM spans. Never the
key (``api_key``) or its hash (``token``)."""


class _ToolCall:
    """A tool call in flight: what its upstream call raised, if anything."""

    __slots__ = ("upstream_error",)

    def __init__(self) -> None:
        self.upstream_error: BaseException | None = None


_tool_call: ContextVar[_ToolCall | None] = ContextVar("litellm_mcp_tool_call", default=None)
_model_calls: ContextVar[list[tuple[str, str]] | None] = ContextVar(
    "litellm_mcp_model_calls", default=None
)
"""The tool calls a model asked for that the proxy is running: (name as the model called it,
call id), each taken by its tool call's span."""


def _header(headers: Any, name: str) -> str | None:
    """One header (lower-case ``name``) of a header mapping, found case-insensitively."""
    if not isinstance(headers, Mapping):
        return None
    value = headers.get(name)
    if value is None:
        for key, candidate in headers.items():
            if isinstance(key, str) and key.lower() == name:
                value = candidate
                break
    return value if isinstance(value, str) and value else None


def _mcp_request() -> Any:
    """The ``mcp`` package's context of the MCP request being served here, or ``None``."""
    module = sys.modules.get(_MCP_SERVER_MODULE)
    context = getattr(module, "request_ctx", None)
    return context.get(None) if context is not None else None


def _request_facts(attributes: dict[str, Any], headers: Any) -> None:
    """The JSON-RPC id of the MCP request being served, and the session and protocol version
    of ``headers`` (the client's), else of the HTTP request that carried the MCP request."""
    request = _mcp_request()
    if request is not None:
        request_id = field(request, "request_id")
        if request_id is not None:
            attributes[JSONRPC_REQUEST_ID] = str(request_id)
        if headers is None:
            headers = field(field(request, "request"), "headers")
    session = _header(headers, _SESSION_HEADER)
    if session:
        attributes[MCP_SESSION_ID] = session
    version = _header(headers, _PROTOCOL_HEADER)
    if version:
        attributes[MCP_PROTOCOL_VERSION] = version


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, (list, tuple)) else []


def _key_facts(attributes: dict[str, Any], key: Any) -> None:
    """The key's alias, team, organization, owner, end user and tags (the key's, then its
    team's)."""
    if key is None:
        return
    for name, attribute in _KEY_FIELDS:
        value = field(key, name)
        if isinstance(value, str) and value:
            attributes[attribute] = value
    end_user = field(key, "end_user_id")
    if isinstance(end_user, str) and end_user:
        attributes[USER_ID] = end_user
    tags: list[str] = []
    for holder in ("metadata", "team_metadata"):
        for tag in _strings(field(field(key, holder), "tags")):
            if tag not in tags:
                tags.append(tag)
    if tags:
        attributes[attrs.LITELLM_REQUEST_TAGS] = tags


def _model_call_id(name: str) -> str | None:
    """The id of the model's tool call the proxy is making now (a model call with the
    gateway's tools): the first one not yet taken whose name is ``name``, prefixed with its
    server's or not."""
    calls = _model_calls.get()
    if not calls:
        return None
    for index, (called, call_id) in enumerate(calls):
        if called == name or called.endswith(f"-{name}"):
            del calls[index]
            return call_id
    return None


def _result_text(result: Any) -> str:
    """The text parts of a ``CallToolResult``, joined."""
    parts = [field(part, "text") for part in (field(result, "content") or ())]
    return "\n".join(part for part in parts if isinstance(part, str))


def _result_value(result: Any) -> Any:
    """What a tool returned, for ``gen_ai.tool.call.result``: its structured content, else
    its text."""
    structured = field(result, "structuredContent")
    return structured if structured is not None else _result_text(result)


def _start(handler: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
    """``MCPServerManager.call_tool(server_name, name, arguments, user_api_key_auth, ...,
    raw_headers=...)``: its ``execute_tool`` invocation, started; a fault while describing
    the call leaves the span with what was described."""
    name = str(argument(args, kwargs, 1, "name"))
    invocation = handler.tool(name)
    try:
        _describe(invocation, name, args, kwargs)
    except Exception:
        _logger.debug("litellm instrumentation: execute_tool span", exc_info=True)
    return invocation


def _describe(invocation: Any, name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """What the call's arguments and the MCP request being served say about it."""
    server = argument(args, kwargs, 0, "server_name")
    attributes = invocation.attributes
    attributes[MCP_METHOD_NAME] = TOOLS_CALL
    if isinstance(server, str) and server:
        attributes[attrs.LITELLM_MCP_SERVER_NAME] = server
    _request_facts(attributes, kwargs.get("raw_headers"))
    call_id = _model_call_id(name)
    if call_id:
        invocation.tool_call_id = call_id
    _key_facts(attributes, argument(args, kwargs, 3, "user_api_key_auth"))
    if invocation.should_capture_content:
        invocation.arguments = argument(args, kwargs, 2, "arguments")


def _finish(invocation: Any, result: Any, call: _ToolCall) -> None:
    """End the span from the tool's result: ``isError`` fails it, as the upstream failure
    noted on ``call`` when there was one, else as ``tool_error``."""
    if field(result, "isError") is not True:
        if invocation.should_capture_content:
            invocation.tool_result = _result_value(result)
        invocation.stop()
        return
    upstream = call.upstream_error
    if upstream is not None:  # its message may quote the server's URL: never recorded
        invocation.fail(Error(message=None, type=fq_exception_type(upstream)))
        return
    message = _result_text(result) if invocation.should_capture_content else None
    invocation.fail(Error(message=message, type=TOOL_ERROR))


def _fail(invocation: Any, error: BaseException) -> None:
    """End the span from an exception raised instead of a result (content: its message)."""
    message = str(error) if invocation.should_capture_content else None
    invocation.fail(Error(message=message, type=fq_exception_type(error)))


def _end(invocation: Any) -> None:
    """After a failure of ours while ending the span: end it, if that did not."""
    span = invocation.span
    if span.is_recording():
        span.end()


async def call_tool(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """``MCPServerManager.call_tool``: one tool call to an MCP server, in its span."""
    settings = _settings.active
    invocation = call = None
    if settings is not None and settings.handler is not None:
        try:
            call = _ToolCall()
            invocation = _start(settings.handler, args, kwargs)
        except Exception:
            _logger.debug("litellm instrumentation: no execute_tool span", exc_info=True)
    if invocation is None or call is None:
        return await wrapped(*args, **kwargs)
    token = _tool_call.set(call)
    try:
        result = await wrapped(*args, **kwargs)
    except BaseException as error:
        _tool_call.reset(token)
        try:
            _fail(invocation, error)
        except Exception:
            _logger.debug("litellm instrumentation: execute_tool span", exc_info=True)
            _end(invocation)
        raise
    _tool_call.reset(token)
    try:
        _finish(invocation, result, call)
    except Exception:
        _logger.debug("litellm instrumentation: execute_tool span", exc_info=True)
        _end(invocation)
    return result


async def run_with_session(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """``MCPClient.run_with_session``: one upstream MCP session; what it raises is noted on the
    tool call in flight (litellm's ``MCPClient.call_tool`` turns it into an ``isError``
    result)."""
    call = _tool_call.get()
    if call is None:
        return await wrapped(*args, **kwargs)
    try:
        return await wrapped(*args, **kwargs)
    except Exception as error:
        call.upstream_error = error
        raise


def _tool_calls(tool_calls: Any) -> list[tuple[str, str]]:
    """(name, id) of a model's tool calls: Responses API ``function_call`` items (``name``,
    ``call_id``) or Chat Completions tool calls (``function.name``, ``id``)."""
    out = []
    for item in tool_calls if isinstance(tool_calls, (list, tuple)) else ():
        name = field(item, "name") or field(field(item, "function"), "name")
        call_id = field(item, "call_id") or field(item, "id")
        if isinstance(name, str) and isinstance(call_id, str):
            out.append((name, call_id))
    return out


async def model_tool_calls(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """``LiteLLM_Proxy_MCP_Handler._execute_tool_calls(tool_server_map, tool_calls, ...)``: the
    tools a model asked for, run one after the other; their ids for their spans."""
    calls = None
    if _settings.active is not None:
        try:
            calls = _tool_calls(argument(args, kwargs, 1, "tool_calls"))
        except Exception:
            _logger.debug("litellm instrumentation: no tool call ids", exc_info=True)
    if not calls:
        return await wrapped(*args, **kwargs)
    token = _model_calls.set(calls)
    try:
        return await wrapped(*args, **kwargs)
    finally:
        _model_calls.reset(token)


def _method_attributes(method: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {MCP_METHOD_NAME: method}
    _request_facts(attributes, None)
    return attributes


async def mcp_request(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """A handler of the gateway's MCP server (``request_handlers[type](request)``): the
    request's method on the current span (the HTTP request's server span), or, with phase
    spans, in a span of its own (``tools/call`` has its ``execute_tool`` span)."""
    settings = _settings.active
    span = None
    if settings is not None and args:
        try:
            method = field(args[0], "method")
            if isinstance(method, str):
                attributes = _method_attributes(method)
                if settings.phase_spans and method != TOOLS_CALL:
                    span = settings.tracer.start_span(
                        method, kind=SpanKind.INTERNAL, attributes=attributes
                    )
                else:
                    server = get_current_span()
                    if server.is_recording():
                        server.set_attributes(attributes)
        except Exception:
            _logger.debug("litellm instrumentation: MCP method not recorded", exc_info=True)
    if span is None:
        return await wrapped(*args, **kwargs)
    try:
        with use_span(
            span, end_on_exit=False, record_exception=False, set_status_on_exception=False
        ):
            return await wrapped(*args, **kwargs)
    except BaseException as error:
        try:
            guardrails.fail(span, fq_exception_type(error), str(error), settings)
        except Exception:
            _logger.debug("litellm instrumentation: MCP method span", exc_info=True)
        raise
    finally:
        try:
            span.end()
        except Exception:
            _logger.debug("litellm instrumentation: MCP method span not ended", exc_info=True)
