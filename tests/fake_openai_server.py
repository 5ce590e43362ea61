"""A tiny OpenAI-compatible HTTP server for tests (standard library only).

Run it as ``python tests/fake_openai_server.py --port 0``: it binds 127.0.0.1,
prints one line ``LISTENING <port>`` to stdout and serves until SIGTERM/SIGINT.

The behaviour of ``POST /v1/chat/completions`` is chosen by the request's
``model`` name:

* contains ``error-429``     -> 429 rate-limit error (``retry-after: 0``)
* contains ``error-500``     -> 500 server error
* contains ``tool``          -> a ``get_weather`` tool call; a text answer once
  the conversation already holds a ``role: "tool"`` message
* contains ``length``        -> text answer with ``finish_reason: "length"``
* contains ``stream-error``  -> (streaming) two content chunks, then the socket
  is reset without ``[DONE]`` (this one stream uses chunked framing, so that
  every HTTP client sees the cut as an error)
* contains ``slow``          -> (streaming) 50 ms pause between chunks
* anything else              -> "Hello from fake server", or the text after
  ``echo:`` in the last user message

Test helpers: ``GET /__requests`` lists every recorded request (method, path,
lower-cased headers, JSON body or null; the helper endpoints themselves are not
recorded), ``POST /__reset`` clears that list, ``GET /health`` answers ``ok``.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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


def _plan_reply(body: dict[str, Any]) -> tuple[str | None, bool, str]:
    """Decide (text, is_tool_call, finish_reason) for a chat request."""
    model = str(body.get("model", ""))
    messages = body.get("messages") or []
    if "tool" in model:
        if any(m.get("role") == "tool" for m in messages if isinstance(m, dict)):
            return TOOL_ANSWER, False, "stop"
        return None, True, "tool_calls"
    user_text = _last_user_text(messages)
    text = user_text.split("echo:", 1)[1].strip() if "echo:" in user_text else DEFAULT_TEXT
    return text, False, "length" if "length" in model else "stop"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeOpenAI/1.0"

    # ---- plumbing -------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:  # silence access logs
        pass

    def _read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
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
            body = self._read_json() if method == "POST" else None
            path = self.path.split("?", 1)[0].rstrip("/")
            if path not in ("/__requests", "/__reset", "/health"):
                self._record(body)
            handler = ROUTES.get((method, path))
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

    def chat(self, body: dict[str, Any]) -> None:
        model = str(body.get("model", ""))
        if "error-429" in model:
            self._send_json(429, {"error": RATE_LIMIT_ERROR}, retry_after="0")
            return
        if "error-500" in model:
            self._send_error(500, "Internal server error", "server_error")
            return
        text, tool_call, finish = _plan_reply(body)
        completion_id = f"chatcmpl-fake-{next(_ids)}"
        if body.get("stream"):
            self._stream_chat(body, completion_id, text, tool_call, finish)
            return
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if tool_call:
            message["tool_calls"] = [TOOL_CALL]
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
            first = {
                "index": 0,
                **TOOL_CALL,
                "function": {**TOOL_CALL["function"], "arguments": ""},
            }
            events = [chunk({"role": "assistant", "content": None, "tool_calls": [first]})]
            events += [
                chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
                for piece in _pieces(TOOL_ARGUMENTS, 5)
            ]
        else:
            events = [chunk({"role": "assistant", "content": ""})]
            events += [chunk({"content": piece}) for piece in _pieces(text or "", 4)]
        events.append(chunk({}, finish))
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append({**base, "choices": [], "usage": USAGE})

        broken = "stream-error" in model
        slow = "slow" in model
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        if broken:
            # A body that simply ends at connection close cannot be told apart from a
            # cut one (aiohttp, litellm's async transport, treats a reset as the end).
            # Chunked framing makes the missing terminator a visible protocol error.
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
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
}


class Server(ThreadingHTTPServer):
    daemon_threads = True  # do not wait for open keep-alive connections on shutdown

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return  # a client disconnect is not worth a traceback
        super().handle_error(request, client_address)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)

    server = Server(("127.0.0.1", args.port), Handler)

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
