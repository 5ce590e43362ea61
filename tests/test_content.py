"""Opt-in message content: capture modes, the conventions' JSON shapes, size limit, redaction."""

from __future__ import annotations

import base64
import json

import litellm
import pytest
from opentelemetry.util.genai.handler import TelemetryHandler

from genai_schema import validated

CONTENT_ATTRIBUTES = (
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.definitions",
)
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city and state"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
    },
}
QUESTION = {"role": "user", "content": "What's the weather like in Paris today?"}


def test_content_is_off_by_default(instrumented, monkeypatch):
    litellm.completion(
        "gpt-4o-mini",
        [{"role": "system", "content": "Be brief."}, QUESTION],
        mock_response="Sunny.",
        tools=[WEATHER_TOOL],
    )
    span = instrumented.only()
    assert not set(CONTENT_ATTRIBUTES) & set(span.attributes)
    assert "Paris" not in repr(dict(span.attributes))
    assert instrumented.logs.get_finished_logs() == ()


def test_env_variable_turns_span_content_on(instrument, telemetry, monkeypatch):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
    instrument()
    litellm.completion("gpt-4o-mini", [QUESTION], mock_response="Sunny.")
    content = validated(telemetry.only().attributes)
    assert content["gen_ai.input.messages"] == [
        {"role": "user", "parts": [{"type": "text", "content": QUESTION["content"]}], "name": None}
    ]
    assert content["gen_ai.output.messages"] == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "Sunny."}],
            "finish_reason": "stop",
            "name": None,
        }
    ]
    assert telemetry.logs.get_finished_logs() == ()


def test_instrument_argument_overrides_the_environment(instrument, telemetry, monkeypatch):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
    instrument(capture_message_content="NO_CONTENT")
    litellm.completion("gpt-4o-mini", [QUESTION], mock_response="Sunny.")
    assert not set(CONTENT_ATTRIBUTES) & set(telemetry.only().attributes)


def test_capture_mode_hook_point_still_exists():
    """instrument(capture_message_content=...) sets these util-genai handler attributes."""
    handler = TelemetryHandler()
    assert hasattr(handler, "_content_capturing_mode")
    assert hasattr(handler, "_capture_content")


def test_invalid_capture_mode_is_rejected(instrument):
    with pytest.raises(ValueError, match="capture_message_content"):
        instrument(capture_message_content="EVERYTHING")


@pytest.mark.parametrize(
    ("mode", "on_span", "on_event"),
    [
        ("EVENT_ONLY", False, True),
        ("SPAN_AND_EVENT", True, True),
    ],
)
def test_event_modes(instrument, telemetry, mode, on_span, on_event):
    instrument(capture_message_content=mode)
    litellm.completion("gpt-4o-mini", [QUESTION], mock_response="Sunny.")
    span = telemetry.only()
    assert ("gen_ai.input.messages" in span.attributes) is on_span
    logs = telemetry.logs.get_finished_logs()
    assert len(logs) == 1
    record = logs[0].log_record
    assert record.event_name == "gen_ai.client.inference.operation.details"
    assert (
        record.attributes["gen_ai.input.messages"][0]["parts"][0]["content"]
        == (QUESTION["content"])
    )
    assert record.attributes["gen_ai.output.messages"][0]["finish_reason"] == "stop"
    assert record.trace_id == span.context.trace_id and record.span_id == span.context.span_id


def test_system_messages_stay_in_the_chat_history(instrument, telemetry):
    instrument(capture_message_content="SPAN_ONLY")
    litellm.completion(
        "gpt-4o-mini", [{"role": "system", "content": "Be brief."}, QUESTION], mock_response="ok"
    )
    attributes = telemetry.only().attributes
    assert "gen_ai.system_instructions" not in attributes
    messages = validated(attributes)["gen_ai.input.messages"]
    assert messages[0] == {
        "role": "system",
        "parts": [{"type": "text", "content": "Be brief."}],
        "name": None,
    }


def _tool_round_trip(llm, **extra):
    """The LiteLLM docs' get_weather example against the local server."""
    common = {"api_base": llm.base_url, "api_key": "k", "tools": [WEATHER_TOOL], **extra}
    first = litellm.completion(model="openai/gpt-4o-mini-tool", messages=[QUESTION], **common)
    call = first.choices[0].message.tool_calls[0]
    result = json.dumps({"location": "Paris", "temperature": "22", "unit": "celsius"})
    messages = [
        QUESTION,
        first.choices[0].message.model_dump(),
        {"role": "tool", "tool_call_id": call.id, "name": "get_weather", "content": result},
    ]
    second = litellm.completion(model="openai/gpt-4o-mini-tool", messages=messages, **common)
    return first, second, result


def test_tool_calling_flow(instrument, telemetry, llm):
    instrument(capture_message_content="SPAN_ONLY")
    _first, second, result = _tool_round_trip(llm)
    assert second.choices[0].message.content == "It is sunny in Paris."
    first_span, second_span = telemetry.finished()

    first = validated(first_span.attributes)
    assert first["gen_ai.tool.definitions"] == [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Get the current weather in a given location",
            "parameters": WEATHER_TOOL["function"]["parameters"],
        }
    ]
    assert first["gen_ai.output.messages"] == [
        {
            "role": "assistant",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "call_weather_1",
                    "name": "get_weather",
                    "arguments": {"location": "Paris"},
                }
            ],
            "finish_reason": "tool_call",
            "name": None,
        }
    ]
    assert first_span.attributes["gen_ai.response.finish_reasons"] == ("tool_call",)

    second_input = validated(second_span.attributes)["gen_ai.input.messages"]
    assert [m["role"] for m in second_input] == ["user", "assistant", "tool"]
    assert second_input[1]["parts"] == first["gen_ai.output.messages"][0]["parts"]
    assert second_input[2]["parts"] == [
        {"type": "tool_call_response", "id": "call_weather_1", "response": result}
    ]


async def test_tool_calling_flow_async(instrument, telemetry, llm):
    instrument(capture_message_content="SPAN_ONLY")
    first = await litellm.acompletion(
        model="openai/gpt-4o-mini-tool",
        messages=[QUESTION],
        api_base=llm.base_url,
        api_key="k",
        tools=[WEATHER_TOOL],
    )
    assert first.choices[0].message.tool_calls
    content = validated(telemetry.only().attributes)
    assert content["gen_ai.output.messages"][0]["parts"][0]["type"] == "tool_call"
    assert content["gen_ai.tool.definitions"][0]["name"] == "get_weather"


PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32).decode()


def test_images_audio_files_and_reasoning(instrument, telemetry):
    instrument(capture_message_content="SPAN_ONLY")
    litellm.completion(
        "gpt-4o-mini",
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in these?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                    {"type": "input_audio", "input_audio": {"data": PNG, "format": "wav"}},
                    {"type": "file", "file": {"file_id": "file-123"}},
                ],
            },
            {"role": "assistant", "content": "A cat.", "reasoning_content": "It has whiskers."},
            {"role": "user", "content": "Sure?"},
        ],
        mock_response="Yes.",
    )
    messages = validated(telemetry.only().attributes)["gen_ai.input.messages"]
    assert messages[0]["parts"] == [
        {"type": "text", "content": "What is in these?"},
        {
            "type": "uri",
            "mime_type": None,
            "modality": "image",
            "uri": "https://example.com/cat.png",
        },
        {"type": "blob", "mime_type": "image/png", "modality": "image", "content": PNG},
        {"type": "blob", "mime_type": "audio/wav", "modality": "audio", "content": PNG},
        {"type": "file", "mime_type": None, "modality": "document", "file_id": "file-123"},
    ]
    assert messages[1]["parts"] == [
        {"type": "reasoning", "content": "It has whiskers."},
        {"type": "text", "content": "A cat."},
    ]


def test_size_limit(instrument, telemetry):
    instrument(capture_message_content="SPAN_ONLY", max_content_length=100)
    big_image = base64.b64encode(b"x" * 500).decode()
    litellm.completion(
        "gpt-4o-mini",
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "a" * 1000},
                    {
                        "type": "image_url",
                        "image_url": {"url": f"data:image/png;base64,{big_image}"},
                    },
                ],
            },
        ],
        mock_response="b" * 250,
    )
    content = validated(telemetry.only().attributes)
    (text,) = content["gen_ai.input.messages"][0]["parts"]  # the oversized image is left out
    assert text["content"] == "a" * 100 + "...[truncated 900 chars]"
    assert content["gen_ai.output.messages"][0]["parts"][0]["content"] == (
        "b" * 100 + "...[truncated 150 chars]"
    )


def test_size_limit_from_environment(instrument, telemetry, monkeypatch):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_LITELLM_MAX_CONTENT_LENGTH", "10")
    instrument(capture_message_content="SPAN_ONLY")
    litellm.completion("gpt-4o-mini", [QUESTION], mock_response="ok")
    parts = validated(telemetry.only().attributes)["gen_ai.input.messages"][0]["parts"]
    assert parts[0]["content"].startswith("What's the...[truncated")


def test_redaction_hook(instrument, telemetry, llm):
    instrument(
        capture_message_content="SPAN_ONLY",
        redact_content=lambda text: text.replace("Paris", "<city>"),
    )
    _tool_round_trip(llm)
    recorded = " ".join(json.dumps(validated(span.attributes)) for span in telemetry.finished())
    assert "Paris" not in recorded
    assert "<city>" in recorded


def test_failing_redaction_hook_records_no_content(instrument, telemetry):
    def broken(text):
        raise RuntimeError("redactor bug")

    instrument(capture_message_content="SPAN_ONLY", redact_content=broken)
    response = litellm.completion("gpt-4o-mini", [QUESTION], mock_response="Sunny in Paris.")
    assert response.choices[0].message.content == "Sunny in Paris."
    attributes = telemetry.only().attributes
    assert "Paris" not in repr(dict(attributes))
    assert "[redacted: the redaction hook failed]" in attributes["gen_ai.input.messages"]
