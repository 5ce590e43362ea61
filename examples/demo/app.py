"""A small litellm app that runs without an API key (litellm's ``mock_response``).

It is what the demo (``bash scripts/dev.sh demo``) traces: one application span
with a plain call, an async call, a stream and a tool-calling round trip under it.
"""

from __future__ import annotations

import asyncio
import json

MODEL = "openai/gpt-4o-mini"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string", "description": "The city"}},
            "required": ["location"],
        },
    },
}


def get_weather(location: str) -> str:
    return json.dumps({"location": location, "temperature": "22", "unit": "celsius"})


def run(tracer) -> str:
    """Run the app under one span; return its trace id as 32 hex digits."""
    import litellm

    with tracer.start_as_current_span("weather-assistant") as app_span:
        litellm.completion(
            model=MODEL,
            messages=[
                {"role": "system", "content": "You are a concise assistant."},
                {"role": "user", "content": "Say hello in French."},
            ],
            mock_response="Bonjour !",
            user="demo-user",
            metadata={"tags": ["demo"], "session_id": "demo-session"},
        )

        async def ask_async() -> None:
            await litellm.acompletion(
                model=MODEL,
                messages=[{"role": "user", "content": "Name a color."}],
                mock_response="Blue.",
                metadata={"session_id": "demo-session"},
            )

        asyncio.run(ask_async())

        stream = litellm.completion(
            model=MODEL,
            messages=[{"role": "user", "content": "Count to five."}],
            mock_response="One, two, three, four, five.",
            stream=True,
            stream_options={"include_usage": True},
        )
        print("  stream:", "".join(c.choices[0].delta.content or "" for c in stream if c.choices))

        question = [{"role": "user", "content": "What's the weather like in Paris today?"}]
        first = litellm.completion(
            model=MODEL,
            messages=question,
            tools=[WEATHER_TOOL],
            mock_tool_calls=[
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'},
                }
            ],
        )
        tool_call = first.choices[0].message.tool_calls[0]
        arguments = json.loads(tool_call.function.arguments)
        answer = litellm.completion(
            model=MODEL,
            messages=[
                *question,
                first.choices[0].message.model_dump(),
                {"role": "tool", "tool_call_id": tool_call.id, "content": get_weather(**arguments)},
            ],
            tools=[WEATHER_TOOL],
            mock_response="It is 22 degrees Celsius and sunny in Paris.",
        )
        print("  answer:", answer.choices[0].message.content)
        return f"{app_span.get_span_context().trace_id:032x}"
