"""No credential passed to litellm, in any way litellm accepts one, appears in telemetry."""

from __future__ import annotations

import json

import litellm
import pytest

from conftest import SECRET

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]

CREDENTIAL_KWARGS = {
    "api_key": SECRET,
    "aws_access_key_id": f"AKIA{SECRET}",
    "aws_secret_access_key": SECRET,
    "aws_session_token": SECRET,
    "azure_ad_token": SECRET,
    "azure_api_key": SECRET,
    "vertex_credentials": json.dumps({"private_key": SECRET}),
    "client_secret": SECRET,
    "password": SECRET,
    "extra_headers": {"Authorization": f"Bearer {SECRET}", "x-api-key": SECRET},
    "headers": {"Authorization": f"Bearer {SECRET}"},
    "metadata": {"tags": ["ok-tag"], "api_key": SECRET, "token": SECRET},
}


def everything_recorded(telemetry) -> str:
    """Every span attribute, event and log record attribute, as one string."""
    out = []
    for span in telemetry.spans.get_finished_spans():
        out.append(span.name)
        out.append(repr(dict(span.attributes)))
        out.append(repr(span.status.description))
        for event in span.events:
            out.append(event.name)
            out.append(repr(dict(event.attributes)))
    for log in telemetry.logs.get_finished_logs():
        record = log.log_record
        out.append(repr(record.body))
        out.append(repr(dict(record.attributes or {})))
    return "\n".join(out)


@pytest.mark.parametrize("mode", ["NO_CONTENT", "SPAN_AND_EVENT"])
def test_no_credential_anywhere(instrument, telemetry, llm, mode):
    instrument(capture_message_content=mode)
    # Credentials inside the URL too: only host and port may be recorded.
    api_base = f"http://user:{SECRET}@127.0.0.1:{llm.port}/v1"
    litellm.completion(
        model="openai/gpt-4o-mini", messages=MESSAGES, api_base=api_base, **CREDENTIAL_KWARGS
    )
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(
            model="openai/gpt-4o-mini-error-429",
            messages=MESSAGES,
            api_base=llm.base_url,
            max_retries=0,
            **CREDENTIAL_KWARGS,
        )
    litellm.completion(
        model="gpt-4o-mini", messages=MESSAGES, mock_response="Paris", **CREDENTIAL_KWARGS
    )
    stream = litellm.completion(
        model="openai/gpt-4o-mini",
        messages=MESSAGES,
        api_base=llm.base_url,
        stream=True,
        **CREDENTIAL_KWARGS,
    )
    for _ in stream:
        pass
    spans = telemetry.spans.get_finished_spans()
    assert len(spans) == 4
    recorded = everything_recorded(telemetry)
    assert "TOPSECRET" not in recorded
    assert "ok-tag" in recorded  # the scan does see what was recorded
    if mode != "NO_CONTENT":
        assert "capital of France" in recorded
        assert telemetry.logs.get_finished_logs()


async def test_no_credential_in_async_calls(instrumented, llm):
    await litellm.acompletion(
        model="openai/gpt-4o-mini", messages=MESSAGES, api_base=llm.base_url, **CREDENTIAL_KWARGS
    )
    assert len(instrumented.finished()) == 1
    assert "TOPSECRET" not in everything_recorded(instrumented)
