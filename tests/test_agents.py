"""Agent-to-agent (A2A) calls as ``invoke_agent`` spans: litellm's A2A client
(``litellm.a2a_protocol``) against a real A2A agent (``tests/a2a_agent_server.py``, the
``a2a-sdk`` server framework), and the LiteLLM Proxy's ``/a2a/{agent}`` route in front of it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as GenAI
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.semconv.attributes.server_attributes import SERVER_ADDRESS, SERVER_PORT
from opentelemetry.trace import SpanKind, StatusCode

from conftest import start_process_group
from otlp_receiver import OTLPReceiver, running
from processes import free_port, stop_process_group
from proxy_fixtures import MASTER_KEY, SECRETS, proxy_config, proxy_env, start_proxy

pytest.importorskip("a2a", reason="the A2A tests need a2a-sdk (the test extra)")

from a2a.compat.v0_3.types import (
    MessageSendParams,
    SendMessageRequest,
    SendStreamingMessageRequest,
)

TESTS = Path(__file__).resolve().parent
AGENT_NAME = "echo-agent"


class Agent:
    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def agent() -> Iterator[Agent]:
    port = free_port()
    command = [sys.executable, str(TESTS / "a2a_agent_server.py"), "--port", str(port)]
    command += ["--name", AGENT_NAME]
    proc, _ = start_process_group(command, "READY", timeout=60)
    try:
        yield Agent(port)
    finally:
        stop_process_group(proc)


def message(text: str, streaming: bool = False) -> Any:
    kind = SendStreamingMessageRequest if streaming else SendMessageRequest
    params = MessageSendParams(
        message={
            "role": "user",
            "parts": [{"kind": "text", "text": text}],
            "messageId": uuid.uuid4().hex,
            "contextId": "conversation-42",
        }
    )
    return kind(id=str(uuid.uuid4()), params=params)


def assert_agent_span(span: Any, agent: Agent, *, name: str | None = AGENT_NAME) -> None:
    assert span.name == (f"invoke_agent {name}" if name else "invoke_agent")
    assert span.kind is SpanKind.CLIENT
    attributes = span.attributes
    assert attributes[GenAI.GEN_AI_OPERATION_NAME] == "invoke_agent"
    assert attributes[GenAI.GEN_AI_PROVIDER_NAME] == "a2a_agent"
    assert attributes[SERVER_ADDRESS] == "127.0.0.1"
    assert attributes[SERVER_PORT] == agent.port
    assert attributes[GenAI.GEN_AI_CONVERSATION_ID] == "conversation-42"
    if name:
        assert attributes[GenAI.GEN_AI_AGENT_NAME] == name


def test_asend_message_is_an_invoke_agent_span(agent, instrument, telemetry):
    import litellm.a2a_protocol as a2a

    instrument()
    answer = asyncio.run(a2a.asend_message(api_base=agent.url, request=message("hello")))
    assert answer.result["parts"][0]["text"] == "echo: hello"
    span = telemetry.only("invoke_agent")
    # the agent's card is resolved inside the call: its name is not known at the span's start
    assert_agent_span(span, agent, name=None)
    assert span.status.status_code is StatusCode.UNSET
    assert GenAI.GEN_AI_INPUT_MESSAGES not in span.attributes  # content is opt-in


def test_a_client_with_its_card_names_the_agent_and_content_is_captured(
    agent, instrument, telemetry
):
    import litellm.a2a_protocol as a2a

    instrument(capture_message_content="SPAN_ONLY")

    async def call() -> Any:
        client = await a2a.create_a2a_client(base_url=agent.url)
        return await a2a.asend_message(a2a_client=client, request=message("tell me"))

    answer = asyncio.run(call())
    assert answer.result["parts"][0]["text"] == "echo: tell me"
    span = telemetry.only("invoke_agent")
    assert_agent_span(span, agent)
    inputs = json.loads(span.attributes[GenAI.GEN_AI_INPUT_MESSAGES])
    outputs = json.loads(span.attributes[GenAI.GEN_AI_OUTPUT_MESSAGES])
    assert [(m["role"], m["parts"]) for m in inputs] == [
        ("user", [{"type": "text", "content": "tell me"}])
    ]
    assert outputs[0]["parts"] == [{"type": "text", "content": "echo: tell me"}]


def test_the_sync_function_is_traced_once(agent, instrument, telemetry):
    import litellm.a2a_protocol as a2a

    instrument()

    async def client() -> Any:
        return await a2a.create_a2a_client(base_url=agent.url)

    answer = a2a.send_message(a2a_client=asyncio.run(client()), request=message("sync"))
    assert answer.result["parts"][0]["text"] == "echo: sync"
    assert_agent_span(telemetry.only("invoke_agent"), agent)  # not one per inner call


def test_a_failing_agent_fails_the_span_with_the_users_exception(agent, instrument, telemetry):
    import litellm.a2a_protocol as a2a

    untraced = None
    try:
        asyncio.run(a2a.asend_message(api_base=agent.url, request=message("please fail")))
    except Exception as error:
        untraced = type(error)
    assert untraced is not None
    instrument()
    with pytest.raises(untraced):
        asyncio.run(a2a.asend_message(api_base=agent.url, request=message("please fail")))
    span = telemetry.only("invoke_agent")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[ERROR_TYPE].endswith(untraced.__name__)


def test_a_streamed_answer_keeps_its_type_and_ends_the_span_once(agent, instrument, telemetry):
    import litellm.a2a_protocol as a2a

    instrument(capture_message_content="SPAN_ONLY")

    async def read() -> tuple[Any, list[Any]]:
        stream = a2a.asend_message_streaming(
            api_base=agent.url, request=message("streamed", streaming=True)
        )
        return stream, [event async for event in stream]

    stream, events = asyncio.run(read())
    assert hasattr(stream, "__anext__") and events
    dumped = events[-1].model_dump(mode="json", exclude_none=True)
    assert dumped["result"]["parts"][0]["text"] == "echo: streamed"
    span = telemetry.only("invoke_agent")
    assert_agent_span(span, agent, name=None)
    outputs = json.loads(span.attributes[GenAI.GEN_AI_OUTPUT_MESSAGES])
    assert outputs[0]["parts"] == [{"type": "text", "content": "echo: streamed"}]


def test_uninstrument_restores_the_a2a_functions(instrument):
    import litellm.a2a_protocol as a2a

    before = (a2a.send_message, a2a.asend_message, a2a.asend_message_streaming)
    instrumentor = instrument()
    assert a2a.asend_message is not before[1]
    instrumentor.uninstrument()
    assert (a2a.send_message, a2a.asend_message, a2a.asend_message_streaming) == before


# --- the LiteLLM Proxy's /a2a/{agent} route ----------------------------------------------

receiver = pytest.fixture(running, scope="module", name="receiver")


@pytest.fixture(scope="module")
def agent_proxy(tmp_path_factory, fake_llm, agent, receiver: OTLPReceiver) -> Iterator[Any]:
    config = proxy_config(fake_llm.base_url, callback=True, custom_auth=False)
    config["agents"] = [
        {
            "agent_name": "echo",
            "agent_card_params": {"name": AGENT_NAME, "url": agent.url + "/"},
        }
    ]
    env = proxy_env(**receiver.exporter_env(), OTEL_BSP_SCHEDULE_DELAY="100")
    proxy = start_proxy(tmp_path_factory.mktemp("proxy-a2a"), config, env)
    try:
        yield proxy
    finally:
        proxy.stop()


def test_an_a2a_call_through_the_proxy_is_one_trace(agent_proxy, agent, receiver):
    body = {
        "jsonrpc": "2.0",
        "id": "req-1",
        "method": "message/send",
        "params": {
            "message": {
                "role": "user",
                "parts": [{"kind": "text", "text": "via the gateway"}],
                "messageId": uuid.uuid4().hex,
                "contextId": "conversation-42",
            }
        },
    }
    answer = agent_proxy.post("/a2a/echo", body, key=MASTER_KEY)
    assert "via the gateway" in json.dumps(answer), answer

    def done(spans: list[Any]) -> bool:
        return any(s.name.startswith("invoke_agent") for s in spans) and any(
            s.kind == 2 for s in spans
        )

    spans = receiver.wait_for(done)
    agents = [s for s in spans if s.name.startswith("invoke_agent")]
    assert len(agents) == 1, [s.name for s in spans]
    span = agents[0]
    server = next(s for s in spans if s.kind == 2 and s.trace_id == span.trace_id)
    assert span.name == f"invoke_agent {AGENT_NAME}", agent_proxy.log()
    assert span.kind == 3  # CLIENT
    assert span.attributes[GenAI.GEN_AI_AGENT_NAME] == AGENT_NAME
    assert span.attributes[GenAI.GEN_AI_AGENT_ID]
    assert span.attributes[SERVER_PORT] == agent.port
    assert span.trace_id == server.trace_id
    text = json.dumps([s.attributes for s in spans if s.trace_id == span.trace_id])
    assert not any(secret in text for secret in SECRETS)


def test_openinference_reads_an_agent_span_as_an_agent(agent, instrument, telemetry):
    import litellm.a2a_protocol as a2a

    instrument(capture_message_content="SPAN_ONLY", openinference=True)
    asyncio.run(a2a.asend_message(api_base=agent.url, request=message("for phoenix")))
    attributes = telemetry.only("invoke_agent").attributes
    assert attributes["openinference.span.kind"] == "AGENT"
    assert attributes["input.value"] == "for phoenix"
    assert attributes["output.value"] == "echo: for phoenix"


def test_instrument_survives_an_a2a_module_that_cannot_be_imported(
    monkeypatch, instrument, telemetry
):
    """litellm 1.102.4's ``litellm.a2a_protocol`` raises a TypeError on import when the
    optional a2a-sdk is missing: instrument() skips it and traces everything else."""
    import importlib.abc

    import litellm

    class Broken(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, path: Any, target: Any = None) -> None:
            if name == "litellm.a2a_protocol":
                raise TypeError("NoneType takes no arguments")
            return None

    monkeypatch.delitem(sys.modules, "litellm.a2a_protocol", raising=False)
    monkeypatch.setattr(sys, "meta_path", [Broken(), *sys.meta_path])
    instrument()
    litellm.completion(
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        mock_response="still traced",
    )
    assert telemetry.only("chat")
