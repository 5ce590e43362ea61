"""Credentials in every place litellm takes them never reach a span, an event, a log
record (OTel or Python logging), with content capture on: complements tests/test_secrets.py
with the Router's model list, ``litellm_params``, metadata, headers and the fault paths."""

from __future__ import annotations

import asyncio
import json
import logging

import litellm
import pytest

from mcp_fixtures import mcp_unavailable
from test_secrets import everything_recorded

pytestmark = pytest.mark.usefixtures("litellm_callbacks")  # Routers add to its lists

PACKAGE = "opentelemetry_instrumentation_litellm"
SECRET = "SeCrEt-9f8e7d6c5b4a"
MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]

CREDENTIALS = {
    "api_key": f"sk-{SECRET}",
    "aws_access_key_id": f"AKIA{SECRET}",
    "aws_secret_access_key": SECRET,
    "aws_session_token": SECRET,
    "aws_bedrock_runtime_endpoint": f"https://user:{SECRET}@bedrock.example",
    "azure_ad_token": SECRET,
    "azure_api_key": SECRET,
    "azure_client_secret": SECRET,
    "client_secret": SECRET,
    "vertex_credentials": json.dumps({"private_key": SECRET, "client_email": "a@b.c"}),
    "vertex_project": "proj",
    "extra_headers": {"Authorization": f"Bearer {SECRET}", "x-api-key": SECRET},
    "headers": {"Authorization": f"Bearer {SECRET}", "api-key": SECRET},
}
METADATA = {
    "tags": ["visible-tag"],
    "api_key": SECRET,
    "user_api_key": f"sk-{SECRET}",
    "user_api_key_hash": SECRET,
    "headers": {"authorization": f"Bearer {SECRET}"},
}


def recorded(telemetry, caplog) -> str:
    python_logs = [
        f"{r.getMessage()} {r.exc_text or ''} {r.args!r}"
        for r in caplog.records
        if r.name.startswith(PACKAGE)
    ]
    return everything_recorded(telemetry) + "\n".join(python_logs)


@pytest.fixture
def capture(instrument, telemetry, caplog):
    caplog.set_level(logging.DEBUG, logger=PACKAGE)
    instrument(capture_message_content="SPAN_AND_EVENT")
    return telemetry


def _router() -> litellm.Router:
    params = {"model": "openai/gpt-4o-mini", **CREDENTIALS, "mock_response": "Paris"}
    return litellm.Router(
        model_list=[
            {"model_name": "fast", "litellm_params": params, "model_info": {"id": "dep-1"}},
            {
                "model_name": "bedrock",
                "litellm_params": {
                    "model": "bedrock/anthropic.claude-3",
                    "aws_access_key_id": f"AKIA{SECRET}",
                    "aws_secret_access_key": SECRET,
                    "mock_response": "Paris",
                },
            },
        ],
        num_retries=0,
    )


def test_credentials_in_kwargs_litellm_params_metadata_and_headers(capture, caplog):
    litellm.completion(
        "gpt-4o-mini",
        MESSAGES,
        mock_response="Paris",
        metadata=METADATA,
        litellm_params={"api_key": SECRET, "metadata": METADATA},
        **CREDENTIALS,
    )
    stream = litellm.completion(
        "gpt-4o-mini",
        MESSAGES,
        mock_response="Paris",
        stream=True,
        metadata=METADATA,
        **CREDENTIALS,
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream) == "Paris"
    litellm.embedding(
        model="text-embedding-3-small", input=["hi"], mock_response=[0.1], **CREDENTIALS
    )
    assert len(capture.finished()) == 3
    everything = recorded(capture, caplog)
    assert SECRET not in everything
    assert "visible-tag" in everything and "capital of France" in everything


def test_credentials_in_router_model_lists(capture, caplog):
    router = _router()
    router.completion(model="fast", messages=MESSAGES, metadata=METADATA)
    asyncio.run(router.acompletion(model="bedrock", messages=MESSAGES))
    error = litellm.RateLimitError("limited", "openai", "gpt-4o-mini")
    with pytest.raises(litellm.RateLimitError):
        router.completion(model="fast", messages=MESSAGES, mock_response=error)
    assert len(capture.finished("router")) == 3
    everything = recorded(capture, caplog)
    assert SECRET not in everything
    assert "dep-1" in everything


def test_credentials_when_our_steps_fail(capture, caplog, monkeypatch):
    """Our failure logs (with tracebacks) carry no credential either."""
    from opentelemetry_instrumentation_litellm import _request, _response

    def boom(*args, **kwargs):
        raise ValueError("injected")

    monkeypatch.setattr(_request, "apply_litellm_request", boom)
    monkeypatch.setattr(_response, "apply_hidden_params", boom)
    litellm.completion("gpt-4o-mini", MESSAGES, mock_response="Paris", **CREDENTIALS)
    assert any(r.exc_text or r.exc_info for r in caplog.records if r.name.startswith(PACKAGE))
    for record in caplog.records:
        if record.exc_info:
            logging.Formatter().format(record)  # fills exc_text, as a handler would
    assert SECRET not in recorded(capture, caplog)


# -- the LiteLLM Proxy as an MCP gateway ---------------------------------------------------


@pytest.fixture(scope="module")
def calc():
    from mcp_fixtures import start_mcp_server

    server = start_mcp_server(token=SECRET)
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.skipif(mcp_unavailable() is not None, reason=str(mcp_unavailable()))
def test_credentials_of_mcp_servers_and_their_callers(capture, caplog, calc, monkeypatch):
    """Every credential an MCP tool call through the gateway carries (the server's token and
    static headers from config.yaml, a caller's own and per-server MCP headers, OAuth headers,
    the virtual key and its hash) reaches no span and no log record, including the records of
    a step of ours that fails; the server got its token (the tool says ``yes``)."""
    from litellm.proxy._experimental.mcp_server.mcp_server_manager import MCPServerManager
    from litellm.proxy._types import UserAPIKeyAuth

    from opentelemetry_instrumentation_litellm.proxy import _mcp

    key = UserAPIKeyAuth(api_key=f"sk-{SECRET}", token=SECRET, team_id="team-visible")
    headers = {
        "Authorization": f"Bearer sk-{SECRET}",
        "x-mcp-calc-authorization": f"Bearer {SECRET}",
        "mcp-session-id": "session-visible",
    }
    config = {"url": calc.url, "transport": "http", "auth_type": "bearer_token"}
    servers = {"calc": {**config, "authentication_token": SECRET, "static_headers": {"x": SECRET}}}

    async def run() -> list:
        manager = MCPServerManager()
        await manager.load_servers_from_config(servers)
        await manager._initialize_tool_name_to_mcp_server_name_mapping()
        results = []
        for name, arguments in (
            ("authorized", {}),
            ("add", {"a": 1, "b": 2}),
            ("refuse", {"reason": "r"}),
        ):
            results.append(
                await manager.call_tool(
                    server_name="calc",
                    name=name,
                    arguments=arguments,
                    user_api_key_auth=key,
                    oauth2_headers={"Authorization": f"Bearer {SECRET}"},
                    raw_headers=headers,
                )
            )
        return results

    results = asyncio.run(run())
    assert results[0].content[0].text == "yes"
    monkeypatch.setattr(_mcp, "_finish", boom)
    asyncio.run(run())
    for record in caplog.records:
        if record.exc_info:
            logging.Formatter().format(record)  # fills exc_text, as a handler would
    assert any(r.exc_text for r in caplog.records if r.name.startswith(PACKAGE))
    assert len(capture.finished("execute_tool")) == 6
    everything = recorded(capture, caplog)
    assert SECRET not in everything
    assert "team-visible" in everything and "session-visible" in everything


def boom(*args, **kwargs):
    raise ValueError("injected")
