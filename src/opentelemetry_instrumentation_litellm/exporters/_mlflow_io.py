"""OpenAI-shaped ``mlflow.spanInputs``/``mlflow.spanOutputs`` from GenAI message attributes.

Why: MLflow (3.17) maps ``gen_ai.input.messages``/``gen_ai.output.messages`` to a span's
inputs and outputs as they are, a list of ``{role, parts}`` messages. Its trace list
builds the Request/Response preview from the root span's inputs/outputs and only finds
text in OpenAI shapes (``{"messages": [...]}`` and a ChatCompletion with ``choices``);
given the conventions' list it shows raw JSON. The chat view also reads OpenAI
messages. So the MLflow exporter adds OpenAI-shaped copies, and MLflow keeps an
explicit ``mlflow.spanInputs`` over its own mapping.

Only what the span recorded is converted: a span without captured content gets
nothing, and nothing is invented. The conventions' attributes stay on the span.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from opentelemetry_instrumentation_litellm._upstream import (
    GEN_AI_INPUT_MESSAGES as INPUT_MESSAGES,
)
from opentelemetry_instrumentation_litellm._upstream import (
    GEN_AI_OUTPUT_MESSAGES as OUTPUT_MESSAGES,
)
from opentelemetry_instrumentation_litellm._upstream import (
    GEN_AI_REQUEST_MODEL,
    GEN_AI_RESPONSE_ID,
    GEN_AI_RESPONSE_MODEL,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
)
from opentelemetry_instrumentation_litellm._upstream import (
    GEN_AI_SYSTEM_INSTRUCTIONS as SYSTEM_INSTRUCTIONS,
)
from opentelemetry_instrumentation_litellm._upstream import (
    GEN_AI_TOOL_DEFINITIONS as TOOL_DEFINITIONS,
)

SPAN_INPUTS = "mlflow.spanInputs"
SPAN_OUTPUTS = "mlflow.spanOutputs"
CHAT_TOOLS = "mlflow.chat.tools"

_FINISH_REASONS = {"tool_call": "tool_calls"}
"""Conventions' finish reasons whose OpenAI spelling differs."""


def _loads(value: Any) -> Any:
    if not isinstance(value, str):
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else _dumps(value)


def _content_part(part: Mapping[str, Any]) -> Any:
    """One conventions part as an OpenAI content part (unknown parts are kept as they are)."""
    kind = part.get("type")
    if kind == "text":
        return {"type": "text", "text": _as_text(part.get("content", ""))}
    if kind == "blob" and part.get("modality") == "image" and isinstance(part.get("content"), str):
        mime = part.get("mime_type") or "image/*"
        return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{part['content']}"}}
    if kind == "uri" and part.get("modality") == "image" and isinstance(part.get("uri"), str):
        return {"type": "image_url", "image_url": {"url": part["uri"]}}
    return dict(part)


def _tool_call(part: Mapping[str, Any]) -> dict[str, Any]:
    arguments = part.get("arguments")
    return {
        "id": part.get("id"),
        "type": "function",
        "function": {
            "name": part.get("name"),
            "arguments": arguments if isinstance(arguments, str) else _dumps(arguments),
        },
    }


def _openai_messages(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One conventions message as OpenAI messages: each tool result is its own message."""
    parts = message.get("parts")
    parts = [p for p in parts if isinstance(p, Mapping)] if isinstance(parts, list) else []
    results = [p for p in parts if p.get("type") == "tool_call_response"]
    calls = [p for p in parts if p.get("type") == "tool_call"]
    reasoning = [p for p in parts if p.get("type") == "reasoning"]
    content = [
        _content_part(p)
        for p in parts
        if p.get("type") not in ("tool_call_response", "tool_call", "reasoning")
    ]
    out = [
        {"role": "tool", "tool_call_id": p.get("id"), "content": _as_text(p.get("response"))}
        for p in results
    ]
    if content or calls or reasoning or not results:
        openai: dict[str, Any] = {"role": message.get("role") or "user"}
        if len(content) == 1 and content[0].get("type") == "text":
            openai["content"] = content[0]["text"]
        else:
            openai["content"] = content or None
        if calls:
            openai["tool_calls"] = [_tool_call(p) for p in calls]
        if reasoning:
            openai["reasoning_content"] = "".join(_as_text(p.get("content", "")) for p in reasoning)
        if message.get("name"):
            openai["name"] = message["name"]
        out.insert(0, openai)
    return out


def _messages(value: Any) -> list[Mapping[str, Any]] | None:
    decoded = _loads(value)
    if not isinstance(decoded, list):
        return None
    return [m for m in decoded if isinstance(m, Mapping)]


def _inputs(attributes: Mapping[str, Any]) -> dict[str, Any] | None:
    messages = _messages(attributes.get(INPUT_MESSAGES))
    if messages is None:
        return None
    converted: list[dict[str, Any]] = []
    instructions = _loads(attributes.get(SYSTEM_INSTRUCTIONS))
    if isinstance(instructions, list) and instructions:
        converted.extend(_openai_messages({"role": "system", "parts": instructions}))
    for message in messages:
        converted.extend(_openai_messages(message))
    inputs: dict[str, Any] = {"messages": converted}
    if model := attributes.get(GEN_AI_REQUEST_MODEL):
        inputs["model"] = model
    return inputs


def _outputs(attributes: Mapping[str, Any]) -> dict[str, Any] | None:
    messages = _messages(attributes.get(OUTPUT_MESSAGES))
    if messages is None:
        return None
    choices = []
    for index, message in enumerate(messages):
        converted = _openai_messages({**message, "role": message.get("role") or "assistant"})
        reason = message.get("finish_reason")
        choices.append(
            {
                "index": index,
                "message": converted[0],
                "finish_reason": _FINISH_REASONS.get(reason, reason),
            }
        )
    outputs: dict[str, Any] = {"object": "chat.completion", "choices": choices}
    if response_id := attributes.get(GEN_AI_RESPONSE_ID):
        outputs["id"] = response_id
    if model := attributes.get(GEN_AI_RESPONSE_MODEL) or attributes.get(GEN_AI_REQUEST_MODEL):
        outputs["model"] = model
    prompt = attributes.get(GEN_AI_USAGE_INPUT_TOKENS)
    completion = attributes.get(GEN_AI_USAGE_OUTPUT_TOKENS)
    if isinstance(prompt, int) and isinstance(completion, int):
        outputs["usage"] = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
    return outputs


def _tools(attributes: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    definitions = _loads(attributes.get(TOOL_DEFINITIONS))
    if not isinstance(definitions, list):
        return None
    tools = []
    for tool in definitions:
        if not isinstance(tool, Mapping) or not tool.get("name"):
            continue
        function = {"name": tool["name"]}
        for key in ("description", "parameters"):
            if tool.get(key) is not None:
                function[key] = tool[key]
        tools.append({"type": tool.get("type") or "function", "function": function})
    return tools or None


def mlflow_io_attributes(attributes: Mapping[str, Any]) -> dict[str, str]:
    """The MLflow attributes to add to a span with these attributes (often none).

    Attributes MLflow already has (set by someone else) are left alone.
    """
    extra: dict[str, str] = {}
    if SPAN_INPUTS not in attributes and (inputs := _inputs(attributes)) is not None:
        extra[SPAN_INPUTS] = _dumps(inputs)
    if SPAN_OUTPUTS not in attributes and (outputs := _outputs(attributes)) is not None:
        extra[SPAN_OUTPUTS] = _dumps(outputs)
    if CHAT_TOOLS not in attributes and (tools := _tools(attributes)) is not None:
        extra[CHAT_TOOLS] = _dumps(tools)
    return extra
