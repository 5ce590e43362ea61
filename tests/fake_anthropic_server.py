"""A tiny Anthropic Messages API server for tests (standard library only).

Run it as ``python tests/fake_anthropic_server.py --port 0``: like
``fake_openai_server.py`` (whose plumbing it reuses) it binds 127.0.0.1, prints
``LISTENING <port>`` and serves until SIGTERM/SIGINT. litellm's ``anthropic/...``
models reach it with ``api_base="http://127.0.0.1:<port>"`` (litellm appends
``/v1/messages``).

``POST /v1/messages`` answers a Message (JSON), or with ``"stream": true`` the
event sequence Anthropic streams: ``message_start`` (id, model, input and cache
token counts), per content block ``content_block_start`` /
``content_block_delta`` (``text_delta`` or ``input_json_delta``) /
``content_block_stop``, a ``ping``, ``message_delta`` (``stop_reason``, output
tokens) and ``message_stop``. The answer is chosen by the request's ``model``:

* contains ``error-500``     -> 500 with an Anthropic ``api_error`` body
* contains ``stream-error``  -> (streaming) ``message_start`` and two text
  deltas, then the connection is reset (chunked framing, so the cut is an error)
* contains ``truncated``     -> (streaming) the same events, then the body ends cleanly
  without ``message_delta`` / ``message_stop`` (litellm then adds an ``error`` event)
* contains ``slow``          -> (streaming) 50 ms pause between events
* anything else              -> "Hello from fake Anthropic", or the text after
  ``echo:`` in the last user message; a request with ``tools`` gets a text block
  and a ``get_weather`` ``tool_use`` block (``stop_reason: "tool_use"``), and a
  text answer once its last message holds a ``tool_result`` block

The response's ``model`` is the requested one, so litellm can price it.

Usage is always ``USAGE``; ``GET /__requests``, ``POST /__reset`` and
``GET /health`` are the fake OpenAI server's test helpers.
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from typing import Any

from fake_openai_server import HELPER_ROUTES, Handler, _last_user_text, _pieces, main

DEFAULT_TEXT = "Hello from fake Anthropic"
TOOL_PREAMBLE = "Let me check."
TOOL_ANSWER = "It is sunny in Paris."
TOOL_INPUT = {"location": "Paris"}
TOOL_NAME = "get_weather"
USAGE: dict[str, int] = {
    "input_tokens": 21,
    "output_tokens": 9,
    "cache_read_input_tokens": 5,
    "cache_creation_input_tokens": 4,
}

_ids = itertools.count(1)


def _has_tool_result(messages: list[Any]) -> bool:
    last = messages[-1] if messages else None
    content = last.get("content") if isinstance(last, dict) else None
    return isinstance(content, list) and any(
        isinstance(block, dict) and block.get("type") == "tool_result" for block in content
    )


def plan_content(body: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """The answer's content blocks and its stop reason."""
    messages = body.get("messages") or []
    tools = bool(body.get("tools"))
    if tools and not _has_tool_result(messages):
        n = next(_ids)
        tool = {"type": "tool_use", "id": f"toolu_fake_{n}", "name": TOOL_NAME, "input": TOOL_INPUT}
        return [{"type": "text", "text": TOOL_PREAMBLE}, tool], "tool_use"
    if tools:
        return [{"type": "text", "text": TOOL_ANSWER}], "end_turn"
    user_text = _last_user_text(messages)
    text = user_text.split("echo:", 1)[1].strip() if "echo:" in user_text else DEFAULT_TEXT
    return [{"type": "text", "text": text}], "end_turn"


def _message(body: dict[str, Any], content: list[Any], stop: str | None) -> dict[str, Any]:
    return {
        "id": f"msg_fake_{next(_ids)}",
        "type": "message",
        "role": "assistant",
        "model": str(body.get("model", "")),
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": dict(USAGE),
    }


def stream_events(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Anthropic's SSE events for the planned answer, in order."""
    content, stop = plan_content(body)
    start = _message(body, [], None)
    start["usage"] = {**USAGE, "output_tokens": 1}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    for index, block in enumerate(content):
        if block["type"] == "text":
            events.append(
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {**block, "text": ""},
                }
            )
            if index == 0:
                events.append({"type": "ping"})
            events += [
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "text_delta", "text": piece},
                }
                for piece in _pieces(block["text"], 5)
            ]
        else:
            events.append(
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {**block, "input": {}},
                }
            )
            events += [
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": piece},
                }
                for piece in _pieces(json.dumps(block["input"]), 6)
            ]
        events.append({"type": "content_block_stop", "index": index})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": USAGE["output_tokens"]},
        }
    )
    events.append({"type": "message_stop"})
    return events


class AnthropicHandler(Handler):
    server_version = "FakeAnthropic/1.0"

    def messages(self, body: dict[str, Any]) -> None:
        model = str(body.get("model", ""))
        if "error-500" in model:
            error = {"type": "api_error", "message": "Internal server error"}
            self._send_json(500, {"type": "error", "error": error})
            return
        if not body.get("stream"):
            content, stop = plan_content(body)
            self._send_json(200, _message(body, content, stop))
            return
        broken = "stream-error" in model
        slow = "slow" in model
        self._start_event_stream(chunked=broken)
        for count, event in enumerate(stream_events(body)):
            if count == 5 and broken:  # message_start, block start, ping, two deltas were sent
                self._abort()
                return
            if count == 5 and "truncated" in model:
                return  # the connection closes: a clean end of a close-delimited body
            if slow and count:
                time.sleep(0.05)
            frame = f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()
            self._write(frame, chunked=broken)


AnthropicHandler.routes = {
    **HELPER_ROUTES,
    ("POST", "/v1/messages"): AnthropicHandler.messages,
}


if __name__ == "__main__":
    sys.exit(main(handler=AnthropicHandler, doc=__doc__ or ""))
