"""JSON Schemas of the GenAI message attributes, written from the semantic conventions v1.41.1
(gen_ai.input.messages / gen_ai.output.messages / gen_ai.tool.definitions), for the tests to
validate what the instrumentation records."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

_NULLABLE_STRING = {"type": ["string", "null"]}
_MODALITY = {"type": "string"}  # image | video | audio, or any other string


def _media_part(kind: str, key: str, value: dict[str, Any]) -> dict[str, Any]:
    """A blob, file or uri part: its modality, an optional mime type and ``key``."""
    return {
        "type": "object",
        "properties": {
            "type": {"const": kind},
            "mime_type": _NULLABLE_STRING,
            "modality": _MODALITY,
            key: value,
        },
        "required": ["type", "modality", key],
    }


_PARTS: dict[str, dict[str, Any]] = {
    "TextPart": {
        "type": "object",
        "properties": {"type": {"const": "text"}, "content": {"type": "string"}},
        "required": ["type", "content"],
    },
    "ToolCallRequestPart": {
        "type": "object",
        "properties": {
            "type": {"const": "tool_call"},
            "id": _NULLABLE_STRING,
            "name": {"type": "string"},
            "arguments": {},
        },
        "required": ["type", "name"],
    },
    "ToolCallResponsePart": {
        "type": "object",
        "properties": {
            "type": {"const": "tool_call_response"},
            "id": _NULLABLE_STRING,
            "response": {},
        },
        "required": ["type", "response"],
    },
    "BlobPart": _media_part("blob", "content", {"type": "string", "contentEncoding": "base64"}),
    "FilePart": _media_part("file", "file_id", {"type": "string"}),
    "UriPart": _media_part("uri", "uri", {"type": "string"}),
    "ReasoningPart": {
        "type": "object",
        "properties": {"type": {"const": "reasoning"}, "content": {"type": "string"}},
        "required": ["type", "content"],
    },
}
_PART = {"oneOf": [{"$ref": f"#/$defs/{name}"} for name in _PARTS]}
_ROLE = {"type": "string", "minLength": 1}  # system | user | assistant | tool, or any string


def _messages(**more: dict[str, Any]) -> dict[str, Any]:
    """An array of messages: a role, parts, an optional name, and the ``more`` properties
    (required)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": _PARTS,
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "role": _ROLE,
                "parts": {"type": "array", "items": _PART},
                "name": _NULLABLE_STRING,
                **more,
            },
            "required": ["role", "parts", *more],
        },
    }


INPUT_MESSAGES: dict[str, Any] = _messages()
OUTPUT_MESSAGES: dict[str, Any] = _messages(
    finish_reason={
        "type": "string",
        "enum": ["stop", "length", "content_filter", "tool_call", "error"],
    }
)

TOOL_DEFINITIONS: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "type": {"type": "string"},
            "name": {"type": "string"},
            "description": _NULLABLE_STRING,
            "parameters": {},
        },
        "required": ["type", "name"],
    },
}


def validated(attributes: Any) -> dict[str, list[Any]]:
    """The message attributes a span carries, parsed, each checked against its schema."""
    out = {}
    for key, schema in (
        ("gen_ai.input.messages", INPUT_MESSAGES),
        ("gen_ai.output.messages", OUTPUT_MESSAGES),
        ("gen_ai.tool.definitions", TOOL_DEFINITIONS),
    ):
        if key in attributes:
            value = json.loads(attributes[key])
            jsonschema.validate(value, schema)
            out[key] = value
    return out
