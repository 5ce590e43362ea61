"""The LiteLLM Proxy's ``/v1/messages`` with an Anthropic-native model: one trace with the
server span, the guardrail's spans and one ``chat`` span with model, tokens and cost.

One real proxy (config.yaml: the ``otel`` callback, a pre- and post-call guardrail, the model
``claude`` = ``anthropic/claude-haiku-4-5-20251001`` behind the fake Anthropic server),
exporting over OTLP/HTTP to a receiver in this process, content capture on. The proxy calls
``Router.aanthropic_messages`` and so ``litellm.anthropic_messages``.
"""

from __future__ import annotations

import json
import textwrap
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fake_anthropic_server import DEFAULT_TEXT, USAGE
from otlp_receiver import OTLPReceiver, ReceivedSpan, running
from proxy_fixtures import (
    MASTER_KEY,
    PROVIDER_KEY,
    SECRETS,
    ProxyServer,
    proxy_config,
    proxy_env,
    start_proxy,
)
from test_anthropic_messages import ALL_INPUT, MODEL, expected_cost, validated

SERVER = 2

GUARDRAIL = textwrap.dedent(
    """
    from litellm.integrations.custom_guardrail import CustomGuardrail


    class PassingGuardrail(CustomGuardrail):
        async def apply_guardrail(self, inputs, request_data, input_type, logging_obj=None):
            return inputs
    """
)

receiver = pytest.fixture(running, scope="module", name="receiver")


@pytest.fixture(scope="module")
def proxy(
    tmp_path_factory: pytest.TempPathFactory,
    fake_llm: Any,
    fake_anthropic: Any,
    receiver: OTLPReceiver,
) -> Iterator[ProxyServer]:
    directory: Path = tmp_path_factory.mktemp("proxy-anthropic")
    (directory / "passing_guardrail.py").write_text(GUARDRAIL)
    config = proxy_config(fake_llm.base_url, callback=True, custom_auth=False)
    config["model_list"].append(
        {
            "model_name": "claude",
            "litellm_params": {
                "model": f"anthropic/{MODEL}",
                "api_base": fake_anthropic.root,
                "api_key": PROVIDER_KEY,
            },
        }
    )
    config["guardrails"] = [
        {
            "guardrail_name": "screen",
            "litellm_params": {
                "guardrail": "passing_guardrail.PassingGuardrail",
                "mode": ["pre_call", "post_call"],
                "default_on": True,
            },
        }
    ]
    env = proxy_env(
        **receiver.exporter_env(),
        OTEL_BSP_SCHEDULE_DELAY="100",
        OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="SPAN_ONLY",
    )
    server = start_proxy(directory, config, env)
    try:
        yield server
    finally:
        server.stop()


def post_messages(proxy: ProxyServer, body: dict[str, Any]) -> bytes:
    request = urllib.request.Request(
        f"{proxy.url}/v1/messages",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {MASTER_KEY}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        return answer.read()


def trace_of_one_request(
    proxy: ProxyServer, receiver: OTLPReceiver, body: dict[str, Any]
) -> tuple[bytes, list[ReceivedSpan]]:
    """The answer and the spans of the request's trace, once its server span and its chat
    span arrived."""
    seen = {s.trace_id for s in receiver.snapshot() if s.kind == SERVER}
    answer = post_messages(proxy, body)

    def new_server(spans: list[ReceivedSpan]) -> ReceivedSpan | None:
        return next((s for s in spans if s.kind == SERVER and s.trace_id not in seen), None)

    def done(spans: list[ReceivedSpan]) -> bool:
        server = new_server(spans)
        return server is not None and any(
            s.trace_id == server.trace_id and s.name.startswith("chat ") for s in spans
        )

    spans = receiver.wait_for(done)
    server = new_server(spans)
    assert server is not None, proxy.log()
    # the post-call guardrail's span may come in a later batch than the server span
    spans = receiver.wait_for(
        lambda all_spans: (
            sum(s.name == "guardrail screen" for s in all_spans if s.trace_id == server.trace_id)
            >= 2
        ),
        timeout=5,
    )
    return answer, [s for s in spans if s.trace_id == server.trace_id]


def ancestors(span: ReceivedSpan, spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
    by_id = {s.span_id: s for s in spans}
    chain = []
    while span.parent_id in by_id:
        span = by_id[span.parent_id]
        chain.append(span)
    return chain


def assert_one_trace(spans: list[ReceivedSpan], *, stream: bool) -> ReceivedSpan:
    """Server span, guardrail spans and one chat span under it with model, tokens, cost."""
    (server,) = [s for s in spans if s.kind == SERVER]
    calls = [s for s in spans if "gen_ai.operation.name" in s.attributes]
    assert len(calls) == 1, [s.name for s in spans]
    (chat,) = calls
    assert chat.name == f"chat {MODEL}"
    assert server in ancestors(chat, spans)
    attributes = chat.attributes
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "anthropic"
    assert attributes["gen_ai.request.model"] == MODEL
    assert attributes["gen_ai.response.model"] == MODEL
    assert attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert attributes["gen_ai.usage.input_tokens"] == ALL_INPUT
    assert attributes["gen_ai.usage.output_tokens"] == USAGE["output_tokens"]
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == USAGE["cache_read_input_tokens"]
    assert attributes["litellm.response.cost"] == pytest.approx(expected_cost())
    assert attributes.get("gen_ai.request.stream", False) is stream
    guardrails = [s for s in spans if s.name == "guardrail screen"]
    modes = sorted(s.attributes["litellm.guardrail.mode"] for s in guardrails)
    assert modes == ["post_call", "pre_call"], [s.name for s in spans]
    assert all(server in ancestors(s, spans) for s in guardrails)
    for span in spans:
        text = json.dumps(span.attributes, default=str)
        assert not any(secret in text for secret in SECRETS), span.name
    content = validated(attributes)  # content capture is on in this proxy
    (question,) = content["gen_ai.input.messages"]
    assert question["parts"] == [{"type": "text", "content": "Say hello"}]
    (answer,) = content["gen_ai.output.messages"]
    assert answer["parts"] == [{"type": "text", "content": DEFAULT_TEXT}]
    return chat


BODY = {
    "model": "claude",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Say hello"}],
}


def test_a_message(proxy: ProxyServer, receiver: OTLPReceiver) -> None:
    answer, spans = trace_of_one_request(proxy, receiver, BODY)
    assert json.loads(answer)["content"][0]["text"] == DEFAULT_TEXT
    assert_one_trace(spans, stream=False)


def test_a_stream(proxy: ProxyServer, receiver: OTLPReceiver) -> None:
    answer, spans = trace_of_one_request(proxy, receiver, {**BODY, "stream": True})
    assert b"event: message_stop" in answer
    chat = assert_one_trace(spans, stream=True)
    assert chat.attributes["gen_ai.response.time_to_first_chunk"] > 0
