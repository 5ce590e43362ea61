"""A tiny OpenAI-compatible HTTP server for tests (standard library only).

Run it as ``python tests/fake_openai_server.py --port 0``: it binds 127.0.0.1,
prints one line ``LISTENING <port>`` to stdout and serves until SIGTERM/SIGINT.

The behaviour of ``POST /v1/chat/completions`` is chosen by the request's
``model`` name:

* contains ``error-429``     -> 429 rate-limit error (``retry-after: 0``)
* contains ``error-500``     -> 500 server error
* contains ``tool``          -> a ``get_weather`` tool call; a text answer once
  the conversation already holds a ``role: "tool"`` message
* contains ``first-tool``    -> the same, but the call is to the first tool the request
  lists (by its name, id ``call_first_tool``), with the JSON after ``args:`` in the last
  user message as its arguments (``{}`` without); the answer after it quotes the tool's
  output: ``The tool said: <output>`` (an MCP gateway's round trip)
* contains ``length``        -> text answer with ``finish_reason: "length"``
* contains ``stream-error``  -> (streaming) two content chunks, then the socket
  is reset without ``[DONE]`` (this one stream uses chunked framing, so that
  every HTTP client sees the cut as an error)
* contains ``slow``          -> (streaming) 50 ms pause between chunks
* anything else              -> "Hello from fake server", or the text after
  ``echo:`` in the last user message

``POST /v1/responses`` (Responses API, plain JSON or SSE events with
``"stream": true``) follows the same ``error-429`` / ``error-500`` / ``tool`` /
``first-tool`` / ``echo:`` rules; its tool turn is answered once the input holds a
``function_call_output`` item.

Other endpoints, with canned answers: ``POST /v1/embeddings``,
``/v1/completions``, ``/v1/images/generations`` (``n`` example.com URLs),
``/v1/audio/speech`` (64 bytes of ``audio/mpeg``), ``/v1/audio/transcriptions``
(multipart upload; ``text``/``srt``/``vtt`` formats answer plain text) and
Cohere's v2 rerank at ``/v1/rerank`` and ``/v2/rerank`` (documents ranked by the
words they share with the query); and, for the calls beyond chat:
``/v1/responses/compact`` (a Responses object), ``/v1/moderations``,
``/v1/images/edits`` and ``/v1/images/variations`` (multipart, like generations),
``/v1/videos``, ``/v1/videos/edits|extensions`` and ``/v1/videos/{id}/remix`` (a queued
video job),
Mistral's ``/v1/ocr`` (one page of markdown), Perplexity's ``/v1/search`` (two web results)
and ``/v1/vector_stores/{id}/search`` (two scored file chunks), Gemini's
``/models/{model}:generateContent`` and ``:streamGenerateContent`` (SSE, usage on the last
chunk); a ``model`` (or search
query) containing ``error-500`` gets a 500 there too. Every ``/v1/...`` path also works without
``/v1``; rerank also answers at ``/v1/v2/rerank`` (litellm appends ``/v2/rerank``
to whatever ``api_base`` it is given).

Test helpers: ``GET /__requests`` lists every recorded request (method, path,
lower-cased headers, JSON body, the non-file fields of a multipart form as a
dict, or null; the helper endpoints themselves are not recorded), ``POST /__reset``
clears that list, ``GET /health`` answers ``ok``.
"""

from __future__ import annotations

import argparse
import base64
import email.parser
import email.policy
import itertools
import json
import re
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

DEFAULT_TEXT = "Hello from fake server"
TOOL_ANSWER = "It is sunny in Paris."
TOOL_ARGUMENTS = json.dumps({"location": "Paris"})
TOOL_CALL = {
    "id": "call_weather_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": TOOL_ARGUMENTS},
}
RATE_LIMIT_ERROR = {
    "message": "Rate limit exceeded",
    "type": "rate_limit_error",
    "code": "rate_limit_exceeded",
}
CREATED = 1_700_000_000
USAGE: dict[str, Any] = {
    "prompt_tokens": 11,
    "completion_tokens": 7,
    "total_tokens": 18,
    "prompt_tokens_details": {"cached_tokens": 3},
    "completion_tokens_details": {"reasoning_tokens": 2},
}
RESPONSES_USAGE: dict[str, Any] = {
    "input_tokens": 12,
    "output_tokens": 6,
    "total_tokens": 18,
    # The installed openai SDK requires cache_write_tokens next to cached_tokens.
    "input_tokens_details": {"cached_tokens": 2, "cache_write_tokens": 0},
    "output_tokens_details": {"reasoning_tokens": 1},
}
IMAGE_USAGE: dict[str, Any] = {
    "input_tokens": 9,
    "output_tokens": 1,
    "total_tokens": 10,
    "input_tokens_details": {"text_tokens": 9, "image_tokens": 0},
}
TRANSCRIPT = "Hello from the audio file"
# An ID3v2 tag header, one MPEG-1 Layer III frame header, then silence: 64 bytes.
SPEECH_BYTES = (b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64").ljust(64, b"\x00")
MODELS = ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "gpt-3.5-turbo-instruct"]

_ids = itertools.count(1)  # next() on itertools.count is atomic under the GIL
_recorded: list[dict[str, Any]] = []
_recorded_lock = threading.Lock()


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):  # multi-part content: join the text parts
                content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
            return content if isinstance(content, str) else ""
    return ""


def _echo_or_default(user_text: str) -> str:
    return user_text.split("echo:", 1)[1].strip() if "echo:" in user_text else DEFAULT_TEXT


FIRST_TOOL_CALL_ID = "call_first_tool"


def _tool_name(tool: Any) -> str | None:
    """A function tool's name, in the Responses (``name``) or Chat (``function.name``) shape."""
    if not isinstance(tool, dict):
        return None
    name = tool.get("name") or (tool.get("function") or {}).get("name")
    return name if isinstance(name, str) else None


def _tool_call(body: dict[str, Any], user_text: str) -> dict[str, Any]:
    """The tool call a ``tool`` model makes: ``get_weather``, or for a ``first-tool`` model the
    first tool the request lists, with the arguments after ``args:`` in ``user_text``."""
    if "first-tool" not in str(body.get("model", "")):
        return TOOL_CALL
    names = [n for n in map(_tool_name, body.get("tools") or []) if n]
    arguments = user_text.split("args:", 1)[1].strip() if "args:" in user_text else "{}"
    return {
        "id": FIRST_TOOL_CALL_ID,
        "type": "function",
        "function": {"name": names[0] if names else "no_tool", "arguments": arguments},
    }


def _tool_answer(body: dict[str, Any], output: Any) -> str:
    """The answer after the tool's output: it quoted for a ``first-tool`` model."""
    if "first-tool" in str(body.get("model", "")):
        return f"The tool said: {output}"
    return TOOL_ANSWER


def _plan_reply(body: dict[str, Any]) -> tuple[str | None, bool, str]:
    """Decide (text, is_tool_call, finish_reason) for a chat request."""
    model = str(body.get("model", ""))
    messages = body.get("messages") or []
    if "tool" in model:
        results = [m for m in messages if isinstance(m, dict) and m.get("role") == "tool"]
        if results:
            return _tool_answer(body, results[-1].get("content")), False, "stop"
        return None, True, "tool_calls"
    text = _echo_or_default(_last_user_text(messages))
    return text, False, "length" if "length" in model else "stop"


def _plan_response_output(body: dict[str, Any], n: int) -> dict[str, Any]:
    """The single output item of a Responses API request: a message or a function call."""
    raw_input = body.get("input")
    items = [i for i in raw_input if isinstance(i, dict)] if isinstance(raw_input, list) else []
    if "tool" in str(body.get("model", "")):
        outputs = [i for i in items if i.get("type") == "function_call_output"]
        if not outputs:
            user_text = raw_input if isinstance(raw_input, str) else _last_user_text(items)
            call = _tool_call(body, user_text)
            return {
                "type": "function_call",
                "id": f"fc_fake_{n}",
                "call_id": call["id"],
                "name": call["function"]["name"],
                "arguments": call["function"]["arguments"],
                "status": "completed",
            }
        text = _tool_answer(body, outputs[-1].get("output"))
    else:
        text = _echo_or_default(raw_input if isinstance(raw_input, str) else _last_user_text(items))
    return {
        "type": "message",
        "id": f"msg_fake_{n}",
        "role": "assistant",
        "status": "completed",
        # OpenAI sends "logprobs": [] too, and litellm's content_part.done model requires it.
        "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
    }


def _response_object(body: dict[str, Any], n: int, output: list[dict[str, Any]]) -> dict[str, Any]:
    """A Responses API ``response`` object; ``output=[]`` gives the in-progress form."""
    done = bool(output)
    tools = body.get("tools")
    return {
        "id": f"resp_fake_{n}",
        "object": "response",
        "created_at": CREATED,
        "status": "completed" if done else "in_progress",
        "model": str(body.get("model", "")) + "-2024-07-18",
        "output": output,
        "usage": RESPONSES_USAGE if done else None,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "metadata": body.get("metadata") or {},
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "tool_choice": body.get("tool_choice") or "auto",
        "tools": tools if isinstance(tools, list) else [],
        "temperature": body.get("temperature", 1.0),
        "top_p": body.get("top_p", 1.0),
        "max_output_tokens": body.get("max_output_tokens"),
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "text": {"format": {"type": "text"}},
        "truncation": "disabled",
        "store": True,
        "user": None,
    }


def _response_events(body: dict[str, Any], n: int, item: dict[str, Any]) -> list[dict[str, Any]]:
    """The SSE events OpenAI streams for a one-item response, numbered from 0."""
    item_ref = {"item_id": item["id"], "output_index": 0}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": _response_object(body, n, [])},
        {"type": "response.in_progress", "response": _response_object(body, n, [])},
    ]
    if item["type"] == "function_call":
        arguments = item["arguments"]
        events.append(
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {**item, "arguments": "", "status": "in_progress"},
            }
        )
        events += [
            {"type": "response.function_call_arguments.delta", **item_ref, "delta": piece}
            for piece in _pieces(arguments, 4)
        ]
        done = {"type": "response.function_call_arguments.done", **item_ref, "name": item["name"]}
        events.append({**done, "arguments": arguments})
    else:
        text = item["content"][0]["text"]
        part_ref = {**item_ref, "content_index": 0}
        events.append(
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {**item, "status": "in_progress", "content": []},
            }
        )
        empty_part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        events.append({"type": "response.content_part.added", **part_ref, "part": empty_part})
        events += [
            {"type": "response.output_text.delta", **part_ref, "delta": piece, "logprobs": []}
            for piece in _pieces(text, 4)
        ]
        events.append(
            {"type": "response.output_text.done", **part_ref, "text": text, "logprobs": []}
        )
        events.append(
            {"type": "response.content_part.done", **part_ref, "part": item["content"][0]}
        )
    events.append({"type": "response.output_item.done", "output_index": 0, "item": item})
    events.append({"type": "response.completed", "response": _response_object(body, n, [item])})
    return [{**event, "sequence_number": seq} for seq, event in enumerate(events)]


def _parse_multipart(raw: bytes, content_type: str) -> dict[str, Any]:
    """The non-file fields of a multipart/form-data body (the ``cgi`` module is gone in 3.13)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    fields: dict[str, Any] = {}
    for part in message.iter_parts() if message.is_multipart() else []:
        name = part.get_param("name", header="content-disposition")
        if name and part.get_filename() is None:
            payload = part.get_payload(decode=True) or b""
            fields[str(name)] = payload.decode("utf-8", "replace")
    return fields


def _rerank_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Documents ranked by how many query words they share (ties keep input order)."""
    query = set(str(body.get("query", "")).lower().split())
    texts = [
        d.get("text", "") if isinstance(d, dict) else str(d) for d in body.get("documents") or []
    ]
    ranked = sorted(range(len(texts)), key=lambda i: -len(query & set(texts[i].lower().split())))
    top_n = body.get("top_n")
    ranked = ranked[: int(top_n)] if top_n else ranked
    results: list[dict[str, Any]] = []
    for rank, index in enumerate(ranked):
        result: dict[str, Any] = {
            "index": index,
            "relevance_score": round(max(0.95 - 0.1 * rank, 0.01), 2),
        }
        if body.get("return_documents"):
            result["document"] = {"text": texts[index]}
        results.append(result)
    return results


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeOpenAI/1.0"
    routes: ClassVar[dict[tuple[str, str], Callable[..., None]]] = {}
    """(method, path) -> handler method; set to ``ROUTES`` below, a subclass brings its own."""

    # ---- plumbing -------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:  # silence access logs
        pass

    def _read_body(self) -> Any:
        """The request body: parsed JSON, a multipart form's non-file fields, or None."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type") or ""
        if content_type.startswith("multipart/form-data"):
            return _parse_multipart(raw, content_type)
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def _record(self, body: Any) -> None:
        entry = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body,
        }
        with _recorded_lock:
            _recorded.append(entry)

    def _send(self, status: int, data: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(data)

    def _send_json(self, status: int, payload: Any, **headers: str) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", **headers)

    def _send_error(self, status: int, message: str, kind: str, **extra: str) -> None:
        self._send_json(status, {"error": {"message": message, "type": kind, **extra}})

    def _route(self, method: str) -> None:
        try:
            body = self._read_body() if method == "POST" else None
            path = self.path.split("?", 1)[0].rstrip("/")
            if path not in ("/__requests", "/__reset", "/health"):
                self._record(body)
            handler = self.routes.get((method, path)) or _pattern_route(method, path)
            if handler is None:
                self._send_error(404, f"Unknown path {method} {path}", "invalid_request_error")
            else:
                handler(self, body if isinstance(body, dict) else {})
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away; nothing to tell it

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    # ---- test helpers ---------------------------------------------------

    def health(self, _body: dict[str, Any]) -> None:
        self._send(200, b"ok", "text/plain")

    def list_requests(self, _body: dict[str, Any]) -> None:
        with _recorded_lock:
            snapshot = list(_recorded)
        self._send_json(200, snapshot)

    def reset(self, _body: dict[str, Any]) -> None:
        with _recorded_lock:
            _recorded.clear()
        self._send_json(200, {"ok": True})

    # ---- OpenAI endpoints -----------------------------------------------

    def models(self, _body: dict[str, Any]) -> None:
        data = [
            {"id": m, "object": "model", "created": CREATED, "owned_by": "fake"} for m in MODELS
        ]
        self._send_json(200, {"object": "list", "data": data})

    def _sent_model_error(self, model: str) -> bool:
        """Answer the ``error-429`` / ``error-500`` model switches; True if one matched."""
        if "error-429" in model:
            self._send_json(429, {"error": RATE_LIMIT_ERROR}, retry_after="0")
            return True
        if "error-500" in model:
            self._send_error(500, "Internal server error", "server_error")
            return True
        return False

    def _start_event_stream(self, chunked: bool = False) -> None:
        """Send the headers of an SSE response that ends when the connection closes."""
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def chat(self, body: dict[str, Any]) -> None:
        model = str(body.get("model", ""))
        if self._sent_model_error(model):
            return
        text, tool_call, finish = _plan_reply(body)
        completion_id = f"chatcmpl-fake-{next(_ids)}"
        if body.get("stream"):
            self._stream_chat(body, completion_id, text, tool_call, finish)
            return
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if tool_call:
            messages = body.get("messages") or []
            message["tool_calls"] = [_tool_call(body, _last_user_text(messages))]
        n = max(1, int(body.get("n") or 1))
        choices = [
            {"index": i, "message": message, "logprobs": None, "finish_reason": finish}
            for i in range(n)
        ]
        self._send_json(
            200,
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": CREATED,
                "model": model + "-2024-07-18",
                "system_fingerprint": "fp_fake",
                "choices": choices,
                "usage": USAGE,
            },
        )

    def _stream_chat(
        self,
        body: dict[str, Any],
        completion_id: str,
        text: str | None,
        tool_call: bool,
        finish: str,
    ) -> None:
        model = str(body["model"])
        base = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model + "-2024-07-18",
            "system_fingerprint": "fp_fake",
        }

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            return {**base, "choices": [choice]}

        if tool_call:
            # Like OpenAI: the first delta names the call, later ones carry argument pieces.
            call = _tool_call(body, _last_user_text(body.get("messages") or []))
            first = {"index": 0, **call, "function": {**call["function"], "arguments": ""}}
            events = [chunk({"role": "assistant", "content": None, "tool_calls": [first]})]
            events += [
                chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
                for piece in _pieces(call["function"]["arguments"], 5)
            ]
        else:
            events = [chunk({"role": "assistant", "content": ""})]
            events += [chunk({"content": piece}) for piece in _pieces(text or "", 4)]
        events.append(chunk({}, finish))
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append({**base, "choices": [], "usage": USAGE})

        broken = "stream-error" in model
        slow = "slow" in model
        # A body that simply ends at connection close cannot be told apart from a cut
        # one (aiohttp, litellm's async transport, treats a reset as the end). Chunked
        # framing makes the missing terminator of a broken stream a visible protocol error.
        self._start_event_stream(chunked=broken)
        for count, event in enumerate(events):
            if broken and count == 3:  # role chunk + two content chunks were sent
                self._abort()
                return
            if slow and count:
                time.sleep(0.05)
            self._write(f"data: {json.dumps(event)}\n\n".encode(), chunked=broken)
        self._write(b"data: [DONE]\n\n")

    def _write(self, data: bytes, chunked: bool = False) -> None:
        if chunked:
            data = b"%x\r\n%s\r\n" % (len(data), data)
        self.wfile.write(data)
        self.wfile.flush()

    def _abort(self) -> None:
        """Drop the connection mid-response, as a failing upstream would."""
        self.wfile.flush()
        time.sleep(0.05)  # let the client consume what was sent before the reset
        # SO_LINGER 0 makes close() send a TCP RST instead of a clean FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()  # the reader holds a reference that would keep the socket open
        self.connection.close()

    def embeddings(self, body: dict[str, Any]) -> None:
        inputs = body.get("input")
        count = len(inputs) if isinstance(inputs, list) and inputs else 1
        if isinstance(inputs, list) and inputs and isinstance(inputs[0], int):
            count = 1  # a single pre-tokenised input
        dims = int(body.get("dimensions") or 8)
        data = []
        for i in range(count):
            vector = [round(0.1 * (i + 1) + 0.01 * d, 4) for d in range(dims)]
            embedding: Any = vector
            if body.get("encoding_format") == "base64":
                embedding = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode()
            data.append({"object": "embedding", "index": i, "embedding": embedding})
        self._send_json(
            200,
            {
                "object": "list",
                "data": data,
                "model": body.get("model"),
                "usage": {"prompt_tokens": 5, "total_tokens": 5},
            },
        )

    def completions(self, body: dict[str, Any]) -> None:
        choice = {"text": "Once upon a time", "index": 0, "finish_reason": "stop", "logprobs": None}
        self._send_json(
            200,
            {
                "id": f"cmpl-fake-{next(_ids)}",
                "object": "text_completion",
                "created": CREATED,
                "model": body.get("model"),
                "choices": [choice],
                "usage": {"prompt_tokens": 4, "completion_tokens": 5, "total_tokens": 9},
            },
        )

    def create_response(self, body: dict[str, Any]) -> None:
        # Not "responses": BaseHTTPRequestHandler.responses is its status-phrase table.
        if self._sent_model_error(str(body.get("model", ""))):
            return
        n = next(_ids)
        item = _plan_response_output(body, n)
        if not body.get("stream"):
            self._send_json(200, _response_object(body, n, [item]))
            return
        self._start_event_stream()
        for event in _response_events(body, n, item):
            self._write(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode())

    def images(self, body: dict[str, Any]) -> None:
        prompt = str(body.get("prompt", ""))
        data: list[dict[str, Any]] = []
        for _ in range(max(1, int(body.get("n") or 1))):
            image_number = next(_ids)
            if body.get("response_format") == "b64_json":
                image = {"b64_json": base64.b64encode(b"fake-image-%d" % image_number).decode()}
            else:
                image = {"url": f"https://example.com/image-{image_number}.png"}
            data.append({**image, "revised_prompt": prompt})
        self._send_json(200, {"created": CREATED, "data": data, "usage": IMAGE_USAGE})

    def speech(self, _body: dict[str, Any]) -> None:
        self._send(200, SPEECH_BYTES, "audio/mpeg")

    def transcriptions(self, form: dict[str, Any]) -> None:
        response_format = form.get("response_format") or "json"
        if response_format in ("text", "srt", "vtt"):
            self._send(200, TRANSCRIPT.encode(), "text/plain; charset=utf-8")
            return
        payload: dict[str, Any] = {"text": TRANSCRIPT}
        if response_format == "verbose_json":  # what litellm asks for, to price by duration
            payload.update(task="transcribe", language="english", duration=3.0, segments=[])
        payload["usage"] = {"type": "duration", "seconds": 3}
        self._send_json(200, payload)

    def rerank(self, body: dict[str, Any]) -> None:
        self._send_json(
            200,
            {
                "id": f"rerank-fake-{next(_ids)}",
                "results": _rerank_results(body),
                "meta": {
                    "billed_units": {"search_units": 1},
                    "tokens": {"input_tokens": 20, "output_tokens": 0},
                },
            },
        )

    # ---- calls beyond chat: moderation, image edits, video, OCR, search -------------

    def _sent_500(self, *values: Any) -> bool:
        if any("error-500" in str(v) for v in values):
            self._send_error(500, "Internal server error", "server_error")
            return True
        return False

    def compact_response(self, body: dict[str, Any]) -> None:
        if self._sent_model_error(str(body.get("model", ""))):
            return
        n = next(_ids)
        item = {
            "type": "compaction",
            "id": f"cmp_fake_{n}",
            "encrypted_content": "opaque",
        }
        self._send_json(200, {**_response_object(body, n, [item]), "object": "response.compaction"})

    def moderations(self, body: dict[str, Any]) -> None:
        if self._sent_500(body.get("model")):
            return
        inputs = body.get("input")
        count = len(inputs) if isinstance(inputs, list) else 1
        result = {
            "flagged": False,
            "categories": {"violence": False},
            "category_scores": {"violence": 0.01},
        }
        self._send_json(
            200,
            {
                "id": f"modr-fake-{next(_ids)}",
                "model": body.get("model") or "omni-moderation-latest",
                "results": [result] * count,
            },
        )

    def image_variations(self, form: dict[str, Any]) -> None:
        if self._sent_500(form.get("model")):
            return
        data = [
            {"url": f"https://example.com/variation-{next(_ids)}.png"}
            for _ in range(max(1, int(form.get("n") or 1)))
        ]
        self._send_json(200, {"created": CREATED, "data": data})

    def image_edits(self, form: dict[str, Any]) -> None:
        if self._sent_500(form.get("model")):
            return
        self.images(form)

    def videos(self, body: dict[str, Any], video_id: str | None = None) -> None:
        if self._sent_500(body.get("model"), body.get("prompt")):
            return
        self._send_json(
            200,
            {
                "id": f"video_fake_{next(_ids)}",
                "object": "video",
                "model": body.get("model") or "sora-2",
                "status": "queued",
                "progress": 0,
                "created_at": CREATED,
                "seconds": str(body.get("seconds") or "4"),
                "size": body.get("size") or "720x1280",
                "remixed_from_video_id": video_id,
            },
        )

    def ocr(self, body: dict[str, Any]) -> None:
        if self._sent_500(body.get("model")):
            return
        page = {
            "index": 0,
            "markdown": "# Invoice\n\nTotal: 42 EUR",
            "images": [],
            "dimensions": {"dpi": 200, "height": 2200, "width": 1700},
        }
        self._send_json(
            200,
            {
                "pages": [page],
                "model": body.get("model"),
                "usage_info": {"pages_processed": 1, "doc_size_bytes": 1024},
            },
        )

    def search(self, body: dict[str, Any]) -> None:
        if self._sent_500(body.get("query")):
            return
        results = [
            {"title": f"Result {i}", "url": f"https://example.com/{i}", "snippet": "..."}
            for i in (1, 2)
        ][: int(body.get("max_results") or 2)]
        self._send_json(200, {"id": f"search-fake-{next(_ids)}", "results": results})

    def vector_store_search(self, body: dict[str, Any], store_id: str) -> None:
        if self._sent_500(body.get("query")):
            return
        data = [
            {
                "file_id": f"file-{i}",
                "filename": f"doc-{i}.txt",
                "score": score,
                "attributes": {},
                "content": [{"type": "text", "text": f"chunk {i} of {store_id}"}],
            }
            for i, score in ((1, 0.9), (2, 0.5))
        ][: int(body.get("max_num_results") or 2)]
        self._send_json(
            200,
            {
                "object": "vector_store.search_results.page",
                "search_query": body.get("query"),
                "data": data,
                "has_more": False,
                "next_page": None,
            },
        )

    # ---- Gemini's generateContent (litellm.google_genai with a gemini/ model) -------

    def gemini_generate(self, body: dict[str, Any], model: str, stream: bool = False) -> None:
        if self._sent_500(model):
            return
        n = next(_ids)
        usage = {
            "promptTokenCount": 5,
            "candidatesTokenCount": 4,
            "thoughtsTokenCount": 2,
            "totalTokenCount": 11,
        }
        identity = {"modelVersion": f"{model}-001", "responseId": f"gresp-fake-{n}"}
        if not stream:
            candidate = {
                "content": {"role": "model", "parts": [{"text": DEFAULT_TEXT}]},
                "finishReason": "STOP",
                "index": 0,
            }
            self._send_json(200, {"candidates": [candidate], "usageMetadata": usage, **identity})
            return
        self._start_event_stream()
        pieces = _pieces(DEFAULT_TEXT, 8)
        for i, piece in enumerate(pieces):
            candidate: dict[str, Any] = {
                "content": {"role": "model", "parts": [{"text": piece}]},
                "index": 0,
            }
            chunk: dict[str, Any] = {"candidates": [candidate], **identity}
            if i == len(pieces) - 1:
                candidate["finishReason"] = "STOP"
                chunk["usageMetadata"] = usage
            self._write(f"data: {json.dumps(chunk)}\n\n".encode())

    def gemini_stream(self, body: dict[str, Any], model: str) -> None:
        self.gemini_generate(body, model, stream=True)


def _pattern_route(method: str, path: str) -> Any:
    """Handlers of the paths that carry an id (``/v1/videos/{id}/remix``, ...)."""
    if method != "POST":
        return None
    for pattern, handler in PATTERN_ROUTES:
        match = pattern.fullmatch(path)
        if match:
            return lambda self, body: handler(self, body, match.group(1))
    return None


PATTERN_ROUTES = [
    (
        re.compile(r"(?:/v1)?/videos/([^/]+)/remix"),
        Handler.videos,
    ),
    (re.compile(r"(?:/v1)?/vector_stores/([^/]+)/search"), Handler.vector_store_search),
    (re.compile(r"(?:/v1beta)?/models/([^/:]+):generateContent"), Handler.gemini_generate),
    (re.compile(r"(?:/v1beta)?/models/([^/:]+):streamGenerateContent"), Handler.gemini_stream),
]

ROUTES = {
    ("GET", "/health"): Handler.health,
    ("GET", "/__requests"): Handler.list_requests,
    ("POST", "/__reset"): Handler.reset,
    ("GET", "/v1/models"): Handler.models,
    ("GET", "/models"): Handler.models,
    ("POST", "/v1/chat/completions"): Handler.chat,
    ("POST", "/chat/completions"): Handler.chat,
    ("POST", "/v1/embeddings"): Handler.embeddings,
    ("POST", "/embeddings"): Handler.embeddings,
    ("POST", "/v1/completions"): Handler.completions,
    ("POST", "/completions"): Handler.completions,
    ("POST", "/v1/responses"): Handler.create_response,
    ("POST", "/responses"): Handler.create_response,
    ("POST", "/v1/images/generations"): Handler.images,
    ("POST", "/images/generations"): Handler.images,
    ("POST", "/v1/audio/speech"): Handler.speech,
    ("POST", "/audio/speech"): Handler.speech,
    ("POST", "/v1/audio/transcriptions"): Handler.transcriptions,
    ("POST", "/audio/transcriptions"): Handler.transcriptions,
    ("POST", "/v1/rerank"): Handler.rerank,
    ("POST", "/rerank"): Handler.rerank,
    ("POST", "/v2/rerank"): Handler.rerank,  # litellm's cohere provider, api_base = root
    ("POST", "/v1/v2/rerank"): Handler.rerank,  # the same with api_base = root + "/v1"
    ("POST", "/v1/responses/compact"): Handler.compact_response,
    ("POST", "/v1/moderations"): Handler.moderations,
    ("POST", "/v1/images/edits"): Handler.image_edits,
    ("POST", "/v1/images/variations"): Handler.image_variations,
    ("POST", "/v1/videos"): Handler.videos,
    ("POST", "/v1/videos/edits"): Handler.videos,
    ("POST", "/v1/videos/extensions"): Handler.videos,
    ("POST", "/v1/ocr"): Handler.ocr,
    ("POST", "/v1/search"): Handler.search,
}
Handler.routes = ROUTES

HELPER_ROUTES = {
    key: ROUTES[key] for key in (("GET", "/health"), ("GET", "/__requests"), ("POST", "/__reset"))
}
"""The test-helper endpoints, for another fake server built on ``Handler``."""

ROUTES.update(  # every /v1/... path also without /v1
    {(m, p[3:]): h for (m, p), h in list(ROUTES.items()) if p.startswith("/v1/")} | ROUTES
)


class Server(ThreadingHTTPServer):
    daemon_threads = True  # do not wait for open keep-alive connections on shutdown

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return  # a client disconnect is not worth a traceback
        super().handle_error(request, client_address)


def main(argv: list[str] | None = None, handler: type[Handler] = Handler, doc: str = "") -> int:
    """Serve ``handler`` (default: the OpenAI endpoints) until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(description=(doc or __doc__ or "").splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)

    server = Server(("127.0.0.1", args.port), handler)

    def stop(_signum: int, _frame: Any) -> None:
        # shutdown() blocks until serve_forever returns, so call it from another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"LISTENING {server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
