"""The LiteLLM Proxy's own work in the trace: auth and hook phases timed, guardrails as spans.

One real proxy (config.yaml entry, master key, custom_auth, the fake OpenAI server as
upstream) with a guardrail class written here, ``WordGuardrail``: it blocks requests with
the word ``forbidden`` and rewrites ``darn`` in requests and ``heck`` in answers. It runs
twice in config.yaml: ``word-filter`` in pre_call and post_call, ``word-watch`` (block
only) in during_call, concurrently with the model call. The proxy exports over OTLP/HTTP
to a receiver in this process. Every route gets a passing, a blocked and a rewritten
request, with and without the caller's ``traceparent``; once with the defaults (auth and
phase durations on the server span), once with phase spans switched on
(``OTEL_INSTRUMENTATION_LITELLM_PROXY_PHASE_SPANS``).
"""

from __future__ import annotations

import json
import secrets
import textwrap
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from matrix import litellm_version, skip_module_without_guardrail_seams
from otlp_receiver import OTLPReceiver, ReceivedSpan, running
from otlp_receiver import tree as span_tree
from proxy_fixtures import (
    MASTER_KEY,
    SECRETS,
    ProxyServer,
    proxy_config,
    proxy_env,
    start_proxy,
)

skip_module_without_guardrail_seams()

GUARDRAIL = textwrap.dedent(
    """
    import asyncio

    from fastapi import HTTPException
    from litellm.integrations.custom_guardrail import CustomGuardrail


    class WordGuardrail(CustomGuardrail):
        async def apply_guardrail(self, inputs, request_data, input_type, logging_obj=None):
            texts = inputs.get("texts") or []
            words = ("forbidden",) if input_type == "request" else ("forbidden", "leak")
            if any(word in text for text in texts for word in words):
                raise HTTPException(status_code=400, detail={"error": "word not allowed"})
            old, new = ("darn", "d**n") if input_type == "request" else ("heck", "h**k")
            if any(old in text for text in texts):
                inputs["texts"] = [text.replace(old, new) for text in texts]
            return inputs


    class SlowWordGuardrail(WordGuardrail):
        # takes a while: its during-call span visibly overlaps the model call

        async def apply_guardrail(self, inputs, request_data, input_type, logging_obj=None):
            await asyncio.sleep(0.3)
            return await super().apply_guardrail(inputs, request_data, input_type, logging_obj)


    class StreamRewriteGuardrail(CustomGuardrail):
        # rewrites "heck" in streamed answers only, and has litellm send the rewritten
        # text (its default streaming mode, "block_only", drops rewrites)

        streaming_transform_mode = "incremental_diff"

        async def apply_guardrail(self, inputs, request_data, input_type, logging_obj=None):
            if input_type == "response" and request_data.get("stream"):
                inputs["texts"] = [t.replace("heck", "h**k") for t in inputs.get("texts") or []]
            return inputs
    """
)

SERVER, INTERNAL = 2, 1
ERROR = 2

ROUTES: dict[str, Callable[[str], dict[str, Any]]] = {
    "/chat/completions": lambda text: {
        "model": "fake",
        "messages": [{"role": "user", "content": text}],
    },
    "/completions": lambda text: {"model": "fake", "prompt": text},
    "/embeddings": lambda text: {"model": "embedder", "input": text},
    "/responses": lambda text: {"model": "fake", "input": text},
    "/v1/messages": lambda text: {
        "model": "fake",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": text}],
    },
    "/images/generations": lambda text: {"model": "imager", "prompt": text},
}


def guardrail_config(fake_llm_url: str) -> dict[str, Any]:
    config = proxy_config(fake_llm_url, callback=True, custom_auth=True)
    upstream = {"api_base": fake_llm_url, "api_key": "sk-fake-upstream"}
    config["model_list"] += [
        {"model_name": "fake", "litellm_params": {"model": "openai/gpt-4o-mini", **upstream}},
        {"model_name": "imager", "litellm_params": {"model": "openai/dall-e-3", **upstream}},
        {"model_name": "piped", "litellm_params": {"model": "openai/gpt-4o-mini", **upstream}},
        {"model_name": "checked", "litellm_params": {"model": "openai/gpt-4o-mini", **upstream}},
        {"model_name": "speaker", "litellm_params": {"model": "openai/tts-1", **upstream}},
        {"model_name": "transcriber", "litellm_params": {"model": "openai/whisper-1", **upstream}},
    ]
    config["guardrails"] = [
        {  # runs only as a step of the "screening" pipeline
            "guardrail_name": "screen",
            "litellm_params": {
                "guardrail": "word_guardrail.WordGuardrail",
                "mode": "pre_call",
                "default_on": False,
            },
        },
        {  # runs only as a step of the "answers" pipeline
            "guardrail_name": "answer-screen",
            "litellm_params": {
                "guardrail": "word_guardrail.WordGuardrail",
                "mode": "post_call",
                "default_on": False,
            },
        },
        {  # first: the inner layer of a streamed answer's post-call chain
            "guardrail_name": "word-rewrite",
            "litellm_params": {
                "guardrail": "word_guardrail.StreamRewriteGuardrail",
                "mode": "post_call",
                "default_on": True,
            },
        },
        {
            "guardrail_name": "word-filter",
            "litellm_params": {
                "guardrail": "word_guardrail.WordGuardrail",
                "mode": ["pre_call", "post_call"],
                "default_on": True,
            },
        },
        {
            "guardrail_name": "word-watch",
            "litellm_params": {
                "guardrail": "word_guardrail.SlowWordGuardrail",
                "mode": "during_call",
                "default_on": True,
            },
        },
    ]
    # a pre-call guardrail pipeline for the "piped" model: screen, then word-filter
    config["policies"] = {
        "screening": {
            "guardrails": {"add": ["screen", "word-filter"]},
            "pipeline": {
                "mode": "pre_call",
                "steps": [
                    {
                        "guardrail": "screen",
                        "on_pass": "next",
                        "on_fail": "block",
                        "pass_data": True,
                    },
                    {"guardrail": "word-filter", "on_pass": "allow", "on_fail": "block"},
                ],
            },
        }
    }
    # and a post-call one for the "checked" model
    config["policies"]["answers"] = {
        "guardrails": {"add": ["answer-screen"]},
        "pipeline": {
            "mode": "post_call",
            "steps": [{"guardrail": "answer-screen", "on_pass": "allow", "on_fail": "block"}],
        },
    }
    config["policy_attachments"] = [
        {"policy": "screening", "models": ["piped"]},
        {"policy": "answers", "models": ["checked"]},
    ]
    return config


receiver = pytest.fixture(running, scope="module", name="receiver")


PHASE_SPANS = "phase-spans"


@dataclass(frozen=True)
class GuardedProxy:
    server: ProxyServer
    phase_spans: bool
    """Auth and hook phases as spans (the switch on), or as server span durations."""


@pytest.fixture(scope="module", params=["timed", PHASE_SPANS])
def guarded_proxy(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    fake_llm: Any,
    receiver: OTLPReceiver,
) -> Iterator[GuardedProxy]:
    """The proxy with the default auth and phase timing, or with phase spans."""
    directory: Path = tmp_path_factory.mktemp("proxy-guardrails")
    (directory / "word_guardrail.py").write_text(GUARDRAIL)
    phase_spans = request.param == PHASE_SPANS
    switch = {"OTEL_INSTRUMENTATION_LITELLM_PROXY_PHASE_SPANS": "true"} if phase_spans else {}
    env = proxy_env(**receiver.exporter_env(), OTEL_BSP_SCHEDULE_DELAY="100", **switch)
    proxy = start_proxy(directory, guardrail_config(fake_llm.base_url), env)
    try:
        yield GuardedProxy(proxy, phase_spans)
    finally:
        proxy.stop()


AUDIO = b"RIFF\x24\x00\x00\x00WAVEfmt fake audio"


def multipart(fields: dict[str, str], filename: str, content: bytes) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body with ``fields`` and one file: (body, content type)."""
    boundary = secrets.token_hex(8)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: audio/wav\r\n\r\n".encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def send(
    proxy: ProxyServer,
    route: str,
    body: dict[str, Any],
    headers: dict[str, str],
    key: str = MASTER_KEY,
) -> tuple[int, bytes]:
    """POST ``body`` on ``route`` (as a form with an audio file on the transcription
    route, as JSON elsewhere): the HTTP status and the answer's bytes."""
    if route == "/audio/transcriptions":
        data, content_type = multipart(body, "hello.wav", AUDIO)
    else:
        data, content_type = json.dumps(body).encode(), "application/json"
    request = urllib.request.Request(
        f"{proxy.url}{route}",
        data=data,
        method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": content_type} | headers,
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def tree(spans: list[ReceivedSpan]) -> str:
    """The spans as an indented tree with their guardrail outcomes, for assertion messages."""
    return span_tree(spans, "litellm.guardrail.outcome")


class Request:
    """One request through the proxy and the spans of its trace."""

    def __init__(
        self,
        proxy: GuardedProxy,
        receiver: OTLPReceiver,
        route: str,
        text: str,
        caller: bool,
        key: str = MASTER_KEY,
        *,
        body: dict[str, Any] | None = None,
        last: Callable[[list[ReceivedSpan]], bool] | None = None,
    ) -> None:
        """``body`` (default: ``ROUTES[route](text)``); ``last``: whether the spans that may
        reach the receiver after the server span are there (default: the post-call phase)."""
        self.caller_span = (secrets.randbits(64) or 1) if caller else None
        trace_id = secrets.randbits(128) or 1
        headers = (
            {"traceparent": f"00-{trace_id:032x}-{self.caller_span:016x}-01"} if caller else {}
        )
        seen = {s.trace_id for s in receiver.snapshot() if s.kind == SERVER}
        body = ROUTES[route](text) if body is None else body
        self.status, self.answer = send(proxy.server, route, body, headers, key)
        if last is None:  # the post-call phase's span, if it is one, may come after the server's
            last = lambda spans: (  # noqa: E731
                not proxy.phase_spans or any(s.name == POST_CALL for s in spans)
            )

        def new_servers(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
            return [s for s in spans if s.kind == SERVER and s.trace_id not in seen]

        if not caller:  # one worker, one request at a time: the one new server span
            servers = new_servers(receiver.wait_for(lambda spans: bool(new_servers(spans))))
            assert len(servers) == 1, servers
            trace_id = servers[0].trace_id

        def in_trace(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
            return [s for s in spans if s.trace_id == trace_id]

        def done(spans: list[ReceivedSpan]) -> bool:
            # the server span ends last; and the post-call phase's batch may come after it
            return any(s.kind == SERVER for s in spans) and (self.status != 200 or last(spans))

        self.spans = in_trace(receiver.wait_for(lambda spans: done(in_trace(spans))))
        self.route = route
        self.phase_spans = proxy.phase_spans

    def one(self, name: str, **attributes: Any) -> ReceivedSpan:
        found = [
            s
            for s in self.spans
            if s.name == name and all(s.attributes.get(k) == v for k, v in attributes.items())
        ]
        assert len(found) == 1, f"{name} {attributes}:\n{tree(self.spans)}"
        return found[0]

    def named(self, name: str) -> list[ReceivedSpan]:
        return [s for s in self.spans if s.name == name]

    def guardrail(self, name: str, mode: str, parent: ReceivedSpan) -> ReceivedSpan:
        span = self.one(f"guardrail {name}", **{"litellm.guardrail.mode": mode})
        assert span.kind == INTERNAL
        assert span.parent_id == parent.span_id, tree(self.spans)
        assert span.attributes["litellm.guardrail.name"] == name
        assert parent.start <= span.start <= span.end <= parent.end
        return span

    def model_call(self) -> list[ReceivedSpan]:
        return [s for s in self.spans if "gen_ai.operation.name" in s.attributes]


class Phases:
    """The auth and hook phases of one request: spans of their own, or (the default)
    durations on the server span, under which the guardrails then hang directly."""

    def __init__(self, request: Request, server: ReceivedSpan) -> None:
        self.request, self.server = request, server

    def parent(self, phase: str) -> ReceivedSpan:
        """Where a guardrail run in ``phase`` hangs: the phase's span, or the server span."""
        return self.request.one(phase) if self.request.phase_spans else self.server

    def ran(self, phase: str) -> bool:
        if self.request.phase_spans:
            return bool(self.request.named(phase))
        return DURATIONS[phase] in self.server.attributes

    def check(self, failed: str | None = None) -> None:
        """Auth and pre_call ran under the server span, in that order; the spans, if any,
        or their durations bound their guardrails; ``failed``: the phase that raised."""
        request, server = self.request, self.server
        if request.phase_spans:
            for phase in (AUTH, PRE_CALL):
                assert request.one(phase).parent_id == server.span_id
            assert request.one(AUTH).end <= request.one(PRE_CALL).start
            if failed:
                assert request.one(failed).status_code == ERROR
            assert not any(name in server.attributes for name in DURATIONS.values())
            return
        assert not request.named(AUTH) and not request.named(PRE_CALL), tree(request.spans)
        for phase in (AUTH, PRE_CALL):
            duration = server.attributes[DURATIONS[phase]]
            assert isinstance(duration, float)
            assert 0 < duration <= (server.end - server.start) / 1e9


def assert_request(request: Request, outcomes: dict[str, str]) -> None:
    """The span tree of one request: ``outcomes`` maps each mode that ran to its outcome."""
    spans = request.spans
    server = next((s for s in spans if s.kind == SERVER), None)
    assert server is not None, tree(spans)
    assert server.parent_id == request.caller_span, tree(spans)
    assert {s.trace_id for s in spans} == {server.trace_id}
    status = server.attributes.get(
        "http.response.status_code", server.attributes.get("http.status_code")
    )
    assert status == request.status
    phases = Phases(request, server)
    phases.check(failed=PRE_CALL if outcomes["pre_call"] == "blocked" else None)

    pre = request.guardrail("word-filter", "pre_call", phases.parent(PRE_CALL))
    if not request.phase_spans:  # the guardrail ran within the timed phase
        assert (pre.end - pre.start) / 1e9 <= server.attributes[DURATIONS[PRE_CALL]]
    assert pre.attributes["litellm.guardrail.outcome"] == outcomes["pre_call"]
    if outcomes["pre_call"] == "blocked":
        assert request.status == 400
        assert pre.status_code == ERROR
        assert pre.attributes["error.type"] == "fastapi.exceptions.HTTPException"
        assert not request.model_call(), tree(spans)
        assert not phases.ran(POST_CALL)
        assert not request.named("guardrail word-watch")
    else:
        assert request.status == 200
        assert pre.status_code != ERROR
        [call] = request.model_call()
        routers = [s for s in spans if s.name.startswith("router ")]
        if request.route in ROUTED and request.phase_spans:
            [router] = routers
            assert router.parent_id == server.span_id
            assert call.parent_id == router.span_id, tree(spans)
        else:  # the Router's facts, if it ran, on the server span
            assert not routers and call.parent_id == server.span_id, tree(spans)
        if request.route in ROUTED and not request.phase_spans:
            group = ROUTES[request.route]("")["model"]
            assert server.attributes["litellm.router.model_group"] == group
        assert pre.end <= call.start
        assert phases.ran(POST_CALL), tree(spans)
        post_phase = phases.parent(POST_CALL)
        if request.phase_spans:
            assert post_phase.parent_id == server.span_id
            assert call.end <= post_phase.start
        post = request.guardrail("word-filter", "post_call", post_phase)
        assert call.end <= post.start
        assert post.attributes["litellm.guardrail.outcome"] == outcomes["post_call"]
        if "during_call" in outcomes:
            during = request.one("guardrail word-watch")
            assert during.parent_id == server.span_id
            assert during.attributes["litellm.guardrail.mode"] == "during_call"
            assert during.attributes["litellm.guardrail.outcome"] == outcomes["during_call"]
            assert during.overlaps(call), "a during-call guardrail runs with the model call"
        else:
            assert not request.named("guardrail word-watch")
    # nothing secret, and no content (capture is off): not even in an error's status
    text = json.dumps([(s.attributes, s.status_message) for s in spans])
    for word in (*SECRETS, "forbidden", "darn", "heck", "word not allowed"):
        assert word not in text, f"{word!r} recorded"


AUTH, PRE_CALL, POST_CALL = "proxy auth", "proxy pre_call", "proxy post_call"
DURATIONS = {
    AUTH: "litellm.proxy.auth.duration",
    PRE_CALL: "litellm.proxy.pre_call.duration",
    POST_CALL: "litellm.proxy.post_call.duration",
}
"""The server span's attribute for each phase's duration, without phase spans."""
ECHOES = {"/chat/completions", "/responses", "/v1/messages"}
"""Routes whose upstream answer repeats the request (the fake server's ``echo:``)."""
ROUTED = set(ROUTES)
"""Routes the proxy sends through the Router's wrapped methods: all of them, now that every
Router method that calls a model is wrapped (before, only completion and embedding were)."""
NO_DURING_CALL = {"/images/generations"}
"""Routes where litellm runs no during-call guardrail."""


@pytest.mark.parametrize("caller", [True, False], ids=["traceparent", "no-traceparent"])
@pytest.mark.parametrize("route", list(ROUTES))
def test_guardrails_auth_and_hooks_share_the_request_trace(
    guarded_proxy: GuardedProxy, receiver: OTLPReceiver, route: str, caller: bool
) -> None:
    during = {} if route in NO_DURING_CALL else {"during_call": "passed"}
    passing = Request(guarded_proxy, receiver, route, "hello there", caller)
    assert_request(passing, {"pre_call": "passed", "post_call": "passed", **during})

    blocked = Request(guarded_proxy, receiver, route, "a forbidden word", caller)
    assert_request(blocked, {"pre_call": "blocked"})

    rewritten = Request(guarded_proxy, receiver, route, "echo: darn it and heck", caller)
    answer = "modified" if route in ECHOES else "passed"
    assert_request(rewritten, {"pre_call": "modified", "post_call": answer, **during})


def test_a_refused_key_is_timed_or_ends_the_auth_span_with_an_error_and_no_key(
    guarded_proxy: GuardedProxy, receiver: OTLPReceiver
) -> None:
    key = "sk-unknown-TOPSECRET-5d1a"
    refused = Request(guarded_proxy, receiver, "/chat/completions", "hello", True, key=key)
    assert refused.status >= 400  # custom_auth.py raises a plain Exception: litellm says 500
    server = refused.one("POST /chat/completions")
    phases = Phases(refused, server)
    if refused.phase_spans:
        auth = refused.one(AUTH)
        assert auth.parent_id == server.span_id
        assert auth.status_code == ERROR
        assert auth.attributes["error.type"]
        assert auth.status_message == ""  # an auth error's message may quote the key
    else:
        assert server.attributes[DURATIONS[AUTH]] > 0
    assert not phases.ran(PRE_CALL) and not refused.model_call()
    text = json.dumps([(s.name, s.attributes, s.status_message) for s in refused.spans])
    for secret in (key, *SECRETS):
        assert secret not in text


# -- audio routes --------------------------------------------------------------------------

AUDIO_ROUTES: dict[str, Callable[[str], dict[str, Any]]] = {
    "/audio/speech": lambda text: {"model": "speaker", "input": text, "voice": "alloy"},
    "/audio/transcriptions": lambda text: {"model": "transcriber", "prompt": text},
}


def assert_audio_request(request: Request, pre_call: str) -> None:
    """An audio route runs the pre-call hooks only: no during-call or post-call guardrail."""
    server = next(s for s in request.spans if s.kind == SERVER)
    assert server.parent_id == request.caller_span, tree(request.spans)
    assert {s.trace_id for s in request.spans} == {server.trace_id}
    phases = Phases(request, server)
    phases.check(failed=PRE_CALL if pre_call == "blocked" else None)
    pre = request.guardrail("word-filter", "pre_call", phases.parent(PRE_CALL))
    assert pre.attributes["litellm.guardrail.outcome"] == pre_call
    assert not phases.ran(POST_CALL) and not request.named("guardrail word-watch")
    assert len(request.named("guardrail word-filter")) == 1
    if pre_call == "blocked":
        assert request.status == 400
        assert pre.status_code == ERROR
        assert pre.attributes["error.type"] == "fastapi.exceptions.HTTPException"
        assert not request.model_call(), tree(request.spans)
        return
    assert request.status == 200
    [call] = request.model_call()
    routers = [s for s in request.spans if s.name.startswith("router ")]
    parents = {server.span_id} | {s.span_id for s in routers if s.parent_id == server.span_id}
    assert call.parent_id in parents, tree(request.spans)
    assert pre.end <= call.start
    text = json.dumps([(s.attributes, s.status_message) for s in request.spans])
    for word in (*SECRETS, "forbidden", "darn"):
        assert word not in text, f"{word!r} recorded"


def audio_request(
    proxy: GuardedProxy, receiver: OTLPReceiver, route: str, text: str, caller: bool
) -> Request:
    def last(spans: list[ReceivedSpan]) -> bool:
        return any("gen_ai.operation.name" in s.attributes for s in spans)

    return Request(proxy, receiver, route, text, caller, body=AUDIO_ROUTES[route](text), last=last)


@pytest.mark.parametrize("caller", [True, False], ids=["traceparent", "no-traceparent"])
def test_speech_guardrails_check_the_text_to_speak(
    guarded_proxy: GuardedProxy, receiver: OTLPReceiver, fake_llm: Any, caller: bool
) -> None:
    route = "/audio/speech"
    passing = audio_request(guarded_proxy, receiver, route, "hello there", caller)
    assert_audio_request(passing, "passed")
    assert passing.answer and passing.answer[:1] != b"{"  # audio bytes

    blocked = audio_request(guarded_proxy, receiver, route, "a forbidden word", caller)
    assert_audio_request(blocked, "blocked")

    fake_llm.reset()
    rewritten = audio_request(guarded_proxy, receiver, route, "darn it", caller)
    assert_audio_request(rewritten, "modified")
    [spoken] = [r["body"]["input"] for r in fake_llm.requests() if r["path"].endswith("speech")]
    assert spoken == "d**n it"


@pytest.mark.parametrize("caller", [True, False], ids=["traceparent", "no-traceparent"])
def test_transcription_guardrails_see_no_text(
    guarded_proxy: GuardedProxy, receiver: OTLPReceiver, caller: bool
) -> None:
    # litellm 1.102.4 gives a guardrail nothing of a transcription request (its input is
    # audio; the ``prompt`` field is not checked) and runs no post-call hook on the
    # route, so the transcript is never checked either: the guardrail always passes.
    route = "/audio/transcriptions"
    for text in ("hello there", "a forbidden word", "darn it"):
        request = audio_request(guarded_proxy, receiver, route, text, caller)
        assert_audio_request(request, "passed")
        assert json.loads(request.answer)["text"] == "Hello from the audio file"


# -- streamed answers ------------------------------------------------------------------------


def streamed(answer: bytes) -> tuple[str, list[Any]]:
    """A chat stream's text and its error frames."""
    text, errors = "", []
    for line in answer.decode().splitlines():
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        event = json.loads(line[len("data: ") :])
        if "error" in event:
            errors.append(event["error"])
        for choice in event.get("choices") or ():
            text += (choice.get("delta") or {}).get("content") or ""
    return text, errors


STREAM_CHECKS = ("word-rewrite", "word-filter")
"""The post-call guardrails, in config.yaml's order: the layers of a streamed answer's
post-call chain, inner to outer."""


def stream_request(
    proxy: GuardedProxy,
    receiver: OTLPReceiver,
    text: str,
    caller: bool,
    route: str = "/chat/completions",
    checks: tuple[str, ...] = STREAM_CHECKS,
) -> Request:
    body = {**ROUTES[route](text), "stream": True}

    def checked(spans: list[ReceivedSpan]) -> bool:  # the stream checks end after the server
        modes = [(s.name, s.attributes.get("litellm.guardrail.mode")) for s in spans]
        return all((f"guardrail {name}", "post_call") in modes for name in checks)

    return Request(proxy, receiver, route, text, caller, body=body, last=checked)


def assert_stream(request: Request, outcomes: dict[str, str]) -> None:
    """One span per post-call guardrail and stream, siblings under the server span."""
    spans = request.spans
    server = next(s for s in spans if s.kind == SERVER)
    assert server.parent_id == request.caller_span, tree(spans)
    assert {s.trace_id for s in spans} == {server.trace_id}
    assert request.status == 200  # a block mid-stream comes after the status line
    phases = Phases(request, server)
    phases.check()
    pre = request.guardrail("word-filter", "pre_call", phases.parent(PRE_CALL))
    assert pre.attributes["litellm.guardrail.outcome"] == "passed"
    [call] = request.model_call()
    assert call.parent_id in {server.span_id} | {s.span_id for s in spans if "router" in s.name}
    assert not phases.ran(POST_CALL), "litellm runs no post_call_success_hook on streams"
    for name, outcome in outcomes.items():
        check = request.guardrail(name, "post_call", server)
        assert call.start <= check.start, tree(spans)
        assert check.attributes["litellm.guardrail.outcome"] == outcome, tree(spans)
        if outcome == "blocked":
            assert check.status_code == ERROR
            assert check.attributes["error.type"] == "fastapi.exceptions.HTTPException"
        else:
            assert check.status_code != ERROR
    text = json.dumps([(s.attributes, s.status_message) for s in spans])
    for word in (*SECRETS, "leak", "heck", "word not allowed"):
        assert word not in text, f"{word!r} recorded"


@pytest.mark.parametrize("caller", [True, False], ids=["traceparent", "no-traceparent"])
def test_a_streamed_answer_gets_one_guardrail_span_per_guardrail(
    guarded_proxy: GuardedProxy, receiver: OTLPReceiver, caller: bool
) -> None:
    passing = stream_request(guarded_proxy, receiver, "echo: hello there", caller)
    assert_stream(passing, {"word-rewrite": "passed", "word-filter": "passed"})
    assert streamed(passing.answer) == ("hello there", [])

    # the answer's text reached the client before the end-of-stream check blocked it:
    # litellm ends the stream with an error event
    blocked = stream_request(guarded_proxy, receiver, "echo: a leak", caller)
    assert_stream(blocked, {"word-rewrite": "passed", "word-filter": "blocked"})
    text, errors = streamed(blocked.answer)
    assert text == "a leak"
    assert [error["message"] for error in errors] == ["word not allowed"]

    # word-rewrite (streaming_transform_mode "incremental_diff") sends its rewrite;
    # word-filter's own "heck" rewrite would be dropped in litellm's default "block_only"
    rewritten = stream_request(guarded_proxy, receiver, "echo: oh heck", caller)
    assert_stream(rewritten, {"word-rewrite": "modified", "word-filter": "passed"})
    assert streamed(rewritten.answer) == ("oh h**k", [])


@pytest.mark.parametrize("route", ["/responses", "/v1/messages"])
def test_streamed_answers_on_the_responses_and_messages_routes(
    guarded_proxy: GuardedProxy, receiver: OTLPReceiver, route: str
) -> None:
    passing = stream_request(guarded_proxy, receiver, "echo: hello there", True, route)
    assert_stream(passing, {"word-rewrite": "passed", "word-filter": "passed"})
    assert b"word not allowed" not in passing.answer

    # word-filter blocks at a sampled chunk, before word-rewrite's check of the stream ended:
    # that check is cut short (its span ends later, without an outcome)
    blocked = stream_request(guarded_proxy, receiver, "echo: a leak", True, route, ("word-filter",))
    assert_stream(blocked, {"word-filter": "blocked"})
    assert b"word not allowed" in blocked.answer  # an error event ends the stream


def test_a_streamed_completions_answer_gets_the_outcome_litellm_gave_it(
    guarded_proxy: GuardedProxy, receiver: OTLPReceiver
) -> None:
    # litellm 1.102.4 lets a streamed /completions answer through its guardrails' stream
    # checks unread (the check spans show "passed", whatever the text); 1.110 reads it, and
    # the end-of-stream check blocks it with an error event: the spans say what happened
    request = stream_request(guarded_proxy, receiver, "echo: a leak", True, "/completions")
    events = [
        json.loads(line[len("data: ") :])
        for line in request.answer.decode().splitlines()
        if line.startswith("data: {")
    ]
    text = "".join(c.get("text") or "" for e in events for c in e.get("choices") or ())
    assert text == "a leak"
    blocked = any("error" in event for event in events)
    assert blocked is (litellm_version() >= (1, 110))
    outcome = "blocked" if blocked else "passed"
    assert_stream(request, {"word-rewrite": "passed", "word-filter": outcome})


# -- guardrail pipelines -----------------------------------------------------------------------


def assert_pipeline(request: Request, outcome: str, steps: dict[str, str]) -> ReceivedSpan:
    """The pipeline's span under the pre-call phase, its steps' spans under it."""
    spans = request.spans
    server = next(s for s in spans if s.kind == SERVER)
    assert server.parent_id == request.caller_span, tree(spans)
    assert {s.trace_id for s in spans} == {server.trace_id}
    pipeline = request.one("guardrail pipeline screening")
    assert pipeline.parent_id == Phases(request, server).parent(PRE_CALL).span_id, tree(spans)
    assert pipeline.attributes["litellm.guardrail.policy"] == "screening"
    assert pipeline.attributes["litellm.guardrail.mode"] == "pre_call"
    assert pipeline.attributes["litellm.guardrail.outcome"] == outcome, tree(spans)
    pre_call_spans = [
        s
        for s in spans
        if s.name.startswith("guardrail ")
        and s.attributes.get("litellm.guardrail.mode") == "pre_call"
    ]
    assert sorted(s.name for s in pre_call_spans) == sorted(
        ["guardrail pipeline screening", *(f"guardrail {name}" for name in steps)]
    ), tree(spans)  # the pipeline's guardrails run once, as its steps
    for name, step_outcome in steps.items():
        step = request.guardrail(name, "pre_call", pipeline)
        assert step.attributes["litellm.guardrail.outcome"] == step_outcome, tree(spans)
    if outcome == "blocked":
        assert request.status == 400
        assert pipeline.status_code == ERROR
        assert pipeline.attributes["error.type"] == "fastapi.exceptions.HTTPException"
        assert not request.model_call()
    else:
        assert request.status == 200
        assert pipeline.status_code != ERROR
        [call] = request.model_call()
        assert pipeline.end <= call.start
    text = json.dumps([(s.attributes, s.status_message) for s in spans])
    for word in (*SECRETS, "forbidden", "darn", "word not allowed"):
        assert word not in text, f"{word!r} recorded"
    return pipeline


@pytest.mark.parametrize("caller", [True, False], ids=["traceparent", "no-traceparent"])
def test_a_guardrail_pipeline_and_its_steps_are_spans(
    guarded_proxy: GuardedProxy, receiver: OTLPReceiver, fake_llm: Any, caller: bool
) -> None:
    def piped(text: str) -> Request:
        body = {"model": "piped", "messages": [{"role": "user", "content": text}]}
        return Request(guarded_proxy, receiver, "/chat/completions", text, caller, body=body)

    assert_pipeline(piped("hello there"), "passed", {"screen": "passed", "word-filter": "passed"})

    blocked = piped("a forbidden word")
    assert_pipeline(blocked, "blocked", {"screen": "blocked"})
    assert request_step_error(blocked, "screen") == "fastapi.exceptions.HTTPException"

    fake_llm.reset()
    rewritten = piped("echo: darn it")
    assert_pipeline(rewritten, "modified", {"screen": "modified", "word-filter": "passed"})
    [sent] = [r["body"]["messages"][-1]["content"] for r in fake_llm.requests()]
    assert sent == "echo: d**n it"  # pass_data: the rewrite reached the next step and the model


def request_step_error(request: Request, name: str) -> str:
    step = request.one(f"guardrail {name}")
    assert step.status_code == ERROR
    return step.attributes["error.type"]


def test_a_post_call_pipeline_checks_the_answer(
    guarded_proxy: GuardedProxy, receiver: OTLPReceiver
) -> None:
    def checked(text: str) -> Request:
        body = {"model": "checked", "messages": [{"role": "user", "content": text}]}
        return Request(guarded_proxy, receiver, "/chat/completions", text, True, body=body)

    def pipeline_and_step(request: Request) -> tuple[ReceivedSpan, ReceivedSpan]:
        server = next(s for s in request.spans if s.kind == SERVER)
        pipeline = request.one("guardrail pipeline answers")
        post_call = Phases(request, server).parent(POST_CALL)
        assert pipeline.parent_id == post_call.span_id, tree(request.spans)
        assert pipeline.attributes["litellm.guardrail.mode"] == "post_call"
        step = request.guardrail("answer-screen", "post_call", pipeline)
        return pipeline, step

    rewritten = checked("echo: oh heck")
    pipeline, step = pipeline_and_step(rewritten)
    assert rewritten.status == 200
    assert json.loads(rewritten.answer)["choices"][0]["message"]["content"] == "oh h**k"
    assert pipeline.attributes["litellm.guardrail.outcome"] == "modified"
    assert step.attributes["litellm.guardrail.outcome"] == "modified"

    blocked = checked("echo: a leak")
    pipeline, step = pipeline_and_step(blocked)
    assert blocked.status == 400
    assert step.attributes["litellm.guardrail.outcome"] == "blocked"
    assert pipeline.attributes["litellm.guardrail.outcome"] == "blocked"
    assert pipeline.attributes["error.type"] == "fastapi.exceptions.HTTPException"
    assert pipeline.status_code == ERROR


def test_every_proxy_seam_is_on_a_real_requests_path(
    guarded_proxy: GuardedProxy, receiver: OTLPReceiver
) -> None:
    """Each function ``proxy/_seams.py`` wraps is called while the proxy serves real
    requests on this column's litellm: the span its wrapper makes is in the request's trace,
    and the proxy logged no seam as missing or bypassed (``_upstream.seam_lost``)."""
    from opentelemetry_instrumentation_litellm import _upstream
    from opentelemetry_instrumentation_litellm.proxy import _seams

    if not guarded_proxy.phase_spans:
        pytest.skip("checked once, on the proxy with phase spans (a span per phase)")
    plain = Request(guarded_proxy, receiver, "/chat/completions", "echo: hello", True)
    stream = stream_request(guarded_proxy, receiver, "echo: a leak", True)
    piped = Request(
        guarded_proxy,
        receiver,
        "/chat/completions",
        "hello",
        True,
        body={"model": "piped", "messages": [{"role": "user", "content": "hello"}]},
    )
    pre_call, post_call = (
        {"litellm.guardrail.mode": "pre_call"},
        {"litellm.guardrail.mode": "post_call"},
    )
    blocked_stream_check = stream.one("guardrail word-filter", **post_call)
    on_path = {
        _upstream.PROXY_AUTH_BUILDERS: plain.one(AUTH),
        ("pre_call_hook",): plain.one(PRE_CALL),
        ("post_call_success_hook",): plain.one(POST_CALL),
        (_upstream.PROXY_PRE_CALL_GUARDRAIL,): plain.one("guardrail word-filter", **pre_call),
        (_upstream.PROXY_GUARDRAIL_WITH_METRICS,): plain.one("guardrail word-watch"),
        ("async_post_call_streaming_iterator_hook",): blocked_stream_check,
        # litellm ends the stream with an error event instead of raising: only the wrapped
        # handler tells the check it blocked
        **{(name,): blocked_stream_check for name in _upstream.PROXY_STREAM_BLOCK_HANDLERS},
        (_upstream.PROXY_PIPELINE_RUN,): piped.one("guardrail pipeline screening"),
        (_upstream.PROXY_PIPELINE_STEP,): piped.one("guardrail screen"),
    }
    assert blocked_stream_check.attributes["litellm.guardrail.outcome"] == "blocked"
    # A guardrail overriding the streaming hook gets its span from the stream layer
    # (checked in process: tests/test_proxy_spans.py); these are all apply_guardrail ones.
    in_process = {(_upstream.PROXY_STREAM_LAYER,)}
    assert {seam.names for seam in _seams.WRAPPERS} == on_path.keys() | in_process
    log = guarded_proxy.server.log(tail=None)
    assert "(or no longer calls it)" not in log, log[-3000:]
