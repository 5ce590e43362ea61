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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from otlp_receiver import OTLPReceiver, ReceivedSpan, running
from proxy_fixtures import (
    MASTER_KEY,
    SECRETS,
    ProxyServer,
    proxy_config,
    proxy_env,
    start_proxy,
)

GUARDRAIL = textwrap.dedent(
    """
    import asyncio

    from fastapi import HTTPException
    from litellm.integrations.custom_guardrail import CustomGuardrail


    class WordGuardrail(CustomGuardrail):
        async def apply_guardrail(self, inputs, request_data, input_type, logging_obj=None):
            texts = inputs.get("texts") or []
            if any("forbidden" in text for text in texts):
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
    ]
    config["guardrails"] = [
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


def send(
    proxy: ProxyServer, route: str, text: str, headers: dict[str, str], key: str = MASTER_KEY
) -> int:
    """POST ``text`` on ``route``; the HTTP status."""
    try:
        proxy.post(route, ROUTES[route](text), key, **headers)
    except urllib.error.HTTPError as error:
        return error.code
    return 200


def tree(spans: list[ReceivedSpan]) -> str:
    """The spans as an indented tree, for assertion messages."""
    ids = {s.span_id for s in spans}
    ordered = sorted(spans, key=lambda s: s.start)
    lines: list[str] = []

    def walk(span: ReceivedSpan, depth: int) -> None:
        outcome = span.attributes.get("litellm.guardrail.outcome", "")
        lines.append(f"{'  ' * depth}{span.name} {outcome} status={span.status_code}")
        for child in (s for s in ordered if s.parent_id == span.span_id):
            walk(child, depth + 1)

    for span in ordered:
        if span.parent_id not in ids:
            walk(span, 0)
    return "\n".join(lines)


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
    ) -> None:
        self.caller_span = (secrets.randbits(64) or 1) if caller else None
        trace_id = secrets.randbits(128) or 1
        headers = (
            {"traceparent": f"00-{trace_id:032x}-{self.caller_span:016x}-01"} if caller else {}
        )
        seen = {s.trace_id for s in receiver.snapshot() if s.kind == SERVER}
        self.status = send(proxy.server, route, text, headers, key)

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
            return any(s.kind == SERVER for s in spans) and (
                self.status != 200
                or not proxy.phase_spans
                or any(s.name == POST_CALL for s in spans)
            )

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
ROUTED = {"/chat/completions", "/embeddings"}
"""Routes the proxy sends through the Router's wrapped methods."""
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
