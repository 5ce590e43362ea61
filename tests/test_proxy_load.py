"""The LiteLLM Proxy traced under load, with probes, two workers, a backend outage and SIGTERM.

Real proxy processes switched on by config.yaml alone (``litellm_settings.callbacks``),
exporting OTLP/HTTP protobuf to a receiver in this process (otlp_receiver.py), the model
answering with ``mock_response``. Two proxies: ``loaded_proxy`` (two workers, a short
batch delay) serves the load, probe, worker and outage tests in turn; the SIGTERM test
starts its own with a one-minute batch delay and, as by default, no metrics exporter.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from otlp_receiver import OTLPReceiver, ReceivedSpan, running
from proxy_fixtures import MASTER_KEY, ProxyServer, proxy_config, proxy_env, start_proxy

SERVER = 2  # opentelemetry.proto SpanKind SPAN_KIND_SERVER
CLIENTS = 16
REQUESTS_PER_CLIENT = 8
HELLO = [{"role": "user", "content": "Say hello"}]


class Caller:
    """One client request's own span: the ``traceparent`` header the proxy must join."""

    def __init__(self, stream: bool = False) -> None:
        self.trace_id = secrets.randbits(128) or 1
        self.span_id = secrets.randbits(64) or 1
        self.stream = stream
        self.headers = {"traceparent": f"00-{self.trace_id:032x}-{self.span_id:016x}-01"}


def ask(proxy: ProxyServer, caller: Caller) -> str:
    """A chat request (an SSE stream if ``caller.stream``), on a new connection; its text."""
    body = {"model": "gpt-4o-mini", "messages": HELLO, "stream": caller.stream}
    request = urllib.request.Request(
        f"{proxy.url}/chat/completions",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {MASTER_KEY}", "Content-Type": "application/json"}
        | caller.headers,
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        raw = answer.read().decode()
    if not caller.stream:
        return json.loads(raw)["choices"][0]["message"]["content"]
    events = [line[6:] for line in raw.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]", raw
    chunks = [json.loads(e) for e in events[:-1]]
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


def ask_all(proxy: ProxyServer, callers: list[Caller], clients: int = CLIENTS) -> list[str]:
    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(lambda caller: ask(proxy, caller), callers))


def complete(caller: Caller, spans: list[ReceivedSpan]) -> bool:
    names = {s.name for s in spans if s.trace_id == caller.trace_id}
    return "POST /chat/completions" in names and "chat gpt-4o-mini" in names


def arrived(
    receiver: OTLPReceiver, callers: list[Caller], timeout: float = 30
) -> list[ReceivedSpan]:
    """The received spans, once every caller's request has its server and litellm spans."""
    return receiver.wait_for(lambda spans: all(complete(c, spans) for c in callers), timeout)


def assert_one_request_tree(caller: Caller, spans: list[ReceivedSpan]) -> ReceivedSpan:
    """Exactly one server span in the caller's trace, child of the caller's span, with the
    litellm chat span below it; return the server span."""
    mine = [s for s in spans if s.trace_id == caller.trace_id]
    servers = [s for s in mine if s.kind == SERVER]
    assert [s.name for s in servers] == ["POST /chat/completions"], [s.name for s in mine]
    server = servers[0]
    assert server.parent_id == caller.span_id
    chats = [s for s in mine if s.name == "chat gpt-4o-mini"]
    assert len(chats) == 1, [s.name for s in mine]
    by_id = {s.span_id: s for s in mine}
    ancestor = chats[0].parent_id
    while ancestor is not None and ancestor != server.span_id:
        ancestor = by_id[ancestor].parent_id if ancestor in by_id else None
    assert ancestor == server.span_id, "the litellm span is not below the server span"
    assert chats[0].pid == server.pid  # one worker served it all
    return server


def message_spans(spans: list[ReceivedSpan], kind: str) -> list[ReceivedSpan]:
    """The ASGI instrumentation's per-message spans (``http send``/``http receive``)."""
    return [s for s in spans if s.name.endswith(f"http {kind}")]


def assert_no_duplicates(spans: list[ReceivedSpan]) -> None:
    repeated = [key for key, n in Counter((s.trace_id, s.span_id) for s in spans).items() if n > 1]
    assert not repeated, f"{len(repeated)} spans received more than once"


receiver = pytest.fixture(running, scope="module", name="receiver")


@pytest.fixture(scope="module")
def loaded_proxy(
    tmp_path_factory: pytest.TempPathFactory, receiver: OTLPReceiver, fake_llm: Any
) -> Iterator[ProxyServer]:
    env = proxy_env(
        **receiver.exporter_env(),
        OTEL_BSP_SCHEDULE_DELAY="200",
        OTEL_EXPORTER_OTLP_TRACES_TIMEOUT="2",
        OTEL_METRICS_EXPORTER="otlp",
        OTEL_EXPORTER_OTLP_METRICS_PROTOCOL="http/protobuf",
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=receiver.metrics_url,
        OTEL_METRIC_EXPORT_INTERVAL="500",
    )
    config = proxy_config(fake_llm.base_url, callback=True, custom_auth=False)
    proxy = start_proxy(tmp_path_factory.mktemp("proxy-load"), config, env, workers=2)
    try:
        yield proxy
    finally:
        proxy.stop()


def test_load_loses_nothing_and_duplicates_nothing(
    loaded_proxy: ProxyServer, receiver: OTLPReceiver
):
    """16 concurrent clients, 128 requests, every other one a stream: each is one server
    span in its caller's trace, with its litellm span below it, and no span arrives twice."""
    callers = [Caller(stream=i % 2 == 1) for i in range(CLIENTS * REQUESTS_PER_CLIENT)]
    answers = ask_all(loaded_proxy, callers)
    assert answers == ["Hello from the proxy"] * len(callers)

    spans = arrived(receiver, callers)
    for caller in callers:
        assert_one_request_tree(caller, spans)
    assert_no_duplicates(spans)
    assert not message_spans(spans, "send") + message_spans(spans, "receive")


def test_metrics_are_recorded_when_an_exporter_is_configured(
    loaded_proxy: ProxyServer, receiver: OTLPReceiver
):
    """Without a metrics exporter the proxy's instrumentations get a no-op meter provider
    (measuring for nothing cost CPU); with one, the HTTP server's and litellm's metrics
    both arrive."""
    ask(loaded_proxy, Caller())
    deadline = time.monotonic() + 20
    wanted = {"http.server.duration", "gen_ai.client.operation.duration"}
    while not wanted <= receiver.metric_names and time.monotonic() < deadline:
        time.sleep(0.2)
    assert wanted <= receiver.metric_names, receiver.metric_names


def test_probes_are_untraced_by_default(loaded_proxy: ProxyServer, receiver: OTLPReceiver):
    """Liveness and readiness probes, then a chat, all in one caller's trace: only the
    chat's spans arrive (the probes' would have been exported before them)."""
    caller = Caller()
    for path in ("/health/liveliness", "/health/liveness", "/health/readiness"):
        probe = urllib.request.Request(f"{loaded_proxy.url}{path}", headers=caller.headers)
        with urllib.request.urlopen(probe, timeout=10) as answer:
            assert answer.status == 200
    ask(loaded_proxy, caller)
    spans = arrived(receiver, [caller])
    assert_one_request_tree(caller, spans)
    assert not [s.name for s in spans if "health" in s.name]


def test_every_worker_exports(loaded_proxy: ProxyServer, receiver: OTLPReceiver):
    """Requests on new connections (the two workers race to accept each) until spans from
    both worker processes arrived; the supervisor process serves nothing."""
    pids: set[Any] = set()
    for _round in range(6):
        callers = [Caller() for _ in range(16)]
        ask_all(loaded_proxy, callers, clients=4)
        spans = arrived(receiver, callers)
        pids |= {assert_one_request_tree(c, spans).pid for c in callers}
        if len(pids) == 2:
            break
    assert len(pids) == 2, f"spans came from worker processes {pids} only"
    assert loaded_proxy.process.pid not in pids


LOST = re.compile(
    r"(\d+) spans in \d+ batches could not be exported by \w+ since [\d:]+; export resumed"
)


def test_receiver_down_then_back(loaded_proxy: ProxyServer, receiver: OTLPReceiver):
    """With the backend gone, requests are answered as before (all of them while it is still
    down). The outage outlasts the exporter's timeout (2 s here): the spans of that time are
    lost, and each worker that lost some says how many, in one warning, once export resumes."""
    # How many spans a plain and a streamed request make (the proxy's own spans included)
    probes = [Caller(stream=False), Caller(stream=True)]
    ask_all(loaded_proxy, probes, clients=1)
    arrived(receiver, probes)
    time.sleep(1)  # the request's spans that end after its server span's batch
    per_request = {c.stream: len(receiver.in_trace(c.trace_id)) for c in probes}
    start = len(loaded_proxy.log(tail=None))
    receiver.stop()
    try:
        during = [Caller(stream=i % 2 == 1) for i in range(32)]
        assert ask_all(loaded_proxy, during, clients=8) == ["Hello from the proxy"] * 32
        time.sleep(4)  # the last batch's export has given up
    finally:
        receiver.start()  # the same port
    received = sum(1 for c in during for _ in receiver.in_trace(c.trace_id))
    lost = sum(per_request[c.stream] for c in during) - received
    assert lost > 0
    reported: list[int] = []
    for _round in range(5):  # until each worker exported again (connections go to either)
        after = [Caller() for _ in range(8)]
        ask_all(loaded_proxy, after, clients=4)
        spans = arrived(receiver, after)
        for caller in after:
            assert_one_request_tree(caller, spans)
        time.sleep(0.5)
        reported = [int(n) for n in LOST.findall(loaded_proxy.log(tail=None)[start:])]
        if sum(reported) >= lost:
            break
    assert sum(reported) == lost, loaded_proxy.log()
    assert len(reported) <= 2  # one warning per worker
    assert_no_duplicates(receiver.snapshot())


def test_sigterm_flushes_what_the_batch_processor_holds(
    tmp_path: Path, receiver: OTLPReceiver, fake_llm: Any
):
    """Spans held for a minute by the batch processor reach the receiver when the proxy gets
    SIGTERM: none before it, all after it, each once. This proxy names its own URLs to
    exclude (``OTEL_PYTHON_FASTAPI_EXCLUDED_URLS``), so its probes are traced too, and
    records the ASGI ``send`` message spans (one per streamed chunk)."""
    env = proxy_env(
        **receiver.exporter_env(),
        OTEL_BSP_SCHEDULE_DELAY="60000",
        OTEL_PYTHON_FASTAPI_EXCLUDED_URLS="/metrics",
        OTEL_INSTRUMENTATION_LITELLM_PROXY_EXCLUDE_SPANS="receive",
    )
    config = proxy_config(fake_llm.base_url, callback=True, custom_auth=False)
    proxy = start_proxy(tmp_path, config, env)
    try:
        callers = [Caller(stream=i % 2 == 1) for i in range(8)]
        ask_all(proxy, callers, clients=4)
        prober = Caller()
        probe = urllib.request.Request(f"{proxy.url}/health/readiness", headers=prober.headers)
        with urllib.request.urlopen(probe, timeout=10) as answer:
            assert answer.status == 200
        time.sleep(1.0)
        held = [s for c in [*callers, prober] for s in receiver.in_trace(c.trace_id)]
        assert not held, "the spans were not held back"
    finally:
        proxy.stop()
    spans = arrived(receiver, callers, 5)
    for caller in callers:
        assert_one_request_tree(caller, spans)
    assert_no_duplicates(spans)
    for caller in callers:
        sends = message_spans([s for s in spans if s.trace_id == caller.trace_id], "send")
        # the response's start and body; a stream's body comes in several chunks
        assert len(sends) >= (3 if caller.stream else 2), [s.name for s in sends]
    assert not message_spans(spans, "receive")
    probes = [s for s in receiver.in_trace(prober.trace_id) if s.kind == SERVER]
    assert [s.name for s in probes] == ["GET /health/readiness"]
    assert probes[0].parent_id == prober.span_id
