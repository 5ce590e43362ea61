"""The LiteLLM Proxy traced server-side, read back from a real MLflow server.

Three real proxies (see proxy_fixtures.py), each started once:

- ``config_proxy``: switched on by config.yaml alone (``litellm_settings.callbacks``), two
  workers, ``OTEL_TRACES_EXPORTER=mlflow``: plain HTTP and OpenAI SDK clients, streams,
  tags, a caller's ``traceparent``, a client hanging up mid-stream, embeddings, key and
  team identity, every worker exporting, and no key in any span;
- the ``opentelemetry-instrument --`` wrapper alone, exporting with the standard OTLP
  variables, master key only, a one-minute batch delay: the spans arrive by the flush at
  SIGTERM;
- the wrapper and the config entry together, two workers, a one-minute batch delay, and
  SIGTERM to the process group: every span still reaches MLflow, none twice.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import sys
import textwrap
import time
import types
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import litellm
import openai
import pytest
from mlflow.entities import SpanStatusCode
from opentelemetry.sdk.trace import SpanProcessor

from conftest import SECRET, Telemetry
from mlflow_fixtures import MLflowServer, read_trace, search_traces
from opentelemetry_instrumentation_litellm.proxy import _shutdown
from proxy_fixtures import (
    MASTER_KEY,
    PROVIDER_KEY,
    SECRETS,
    VIRTUAL_KEY,
    VIRTUAL_KEY_ATTRIBUTES,
    ProxyServer,
    create_experiment,
    proxy_config,
    proxy_env,
    start_proxy,
)

TAGS = ["jobID:214590dsff09fds", "taskName:run_page_classification"]
HELLO = [{"role": "user", "content": "Say hello"}]


class Caller:
    """A client-side span the proxy's spans must join: its W3C ``traceparent`` header."""

    def __init__(self) -> None:
        self.trace_id = secrets.randbits(128) or 1
        self.span_id = f"{secrets.randbits(64) or 1:016x}"
        self.headers = {"traceparent": f"00-{self.trace_id:032x}-{self.span_id}-01"}


def named(trace: Any, name: str) -> list[Any]:
    """Spans called ``name`` or, for a name ending in a space, starting with it."""
    return [
        s
        for s in trace.data.spans
        if s.name == name or (name.endswith(" ") and s.name.startswith(name))
    ]


def one(trace: Any, name: str) -> Any:
    found = named(trace, name)
    assert len(found) == 1, [s.name for s in trace.data.spans]
    return found[0]


def read(
    server: MLflowServer,
    caller: Caller,
    names: tuple[str, ...] = ("POST /chat/completions", "chat "),
    timeout: float = 20.0,
) -> Any:
    """The caller's trace from MLflow, once it holds a span for each of ``names``."""
    deadline = time.monotonic() + timeout
    while True:
        trace = read_trace(server.url, caller.trace_id, spans=len(names), timeout=timeout)
        if all(named(trace, name) for name in names) or time.monotonic() > deadline:
            return trace
        time.sleep(0.2)


def assert_chain(trace: Any, caller: Caller, route: str, group: str, leaf: str) -> Any:
    """caller -> ``POST {route}`` -> the ``leaf`` span, the Router's facts on the server
    span (no router span by default in the proxy); return the leaf."""
    server = one(trace, f"POST {route}")
    span = one(trace, leaf)
    assert server.parent_id == caller.span_id
    assert span.parent_id == server.span_id
    assert not named(trace, "router ")
    assert server.attributes["http.route"] == route
    assert server.attributes["litellm.router.model_group"] == group
    assert "litellm.router.attempts" not in server.attributes  # only when it tried again
    assert span.attributes["litellm.model_id"]
    return span


def assert_no_secrets(trace: Any) -> None:
    """No key, key hash or provider key in any attribute or event of any span, nor in tags."""
    text = json.dumps([s.to_dict() for s in trace.data.spans], default=str)
    text += json.dumps(trace.info.to_dict(), default=str)
    for secret in SECRETS:
        assert secret not in text, f"{secret} recorded in trace {trace.info.trace_id}"


def proxy_attributes(span: Any) -> dict[str, Any]:
    return {k: v for k, v in span.attributes.items() if k.startswith("litellm.proxy.")}


def openai_client(proxy: ProxyServer, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=proxy.url, api_key=key, max_retries=0, timeout=30)


# -- launched by config.yaml alone ------------------------------------------------------


def test_plain_http_request_joins_the_callers_trace(
    config_proxy: ProxyServer, mlflow_server: MLflowServer
):
    caller = Caller()
    answer = config_proxy.post(
        "/chat/completions",
        {
            "model": "gpt-4o-mini",
            "messages": HELLO,
            "user": "alice",
            "metadata": {"tags": TAGS},
        },
        **caller.headers,
    )
    assert answer["choices"][0]["message"]["content"] == "Hello from the proxy"

    trace = read(mlflow_server, caller)
    assert trace.info.experiment_id == config_proxy.experiment_id
    chat = assert_chain(trace, caller, "/chat/completions", "gpt-4o-mini", "chat gpt-4o-mini")
    assert chat.span_type == "CHAT_MODEL"
    attributes = chat.attributes
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert attributes["gen_ai.usage.input_tokens"] == 10
    assert attributes["gen_ai.usage.output_tokens"] == 20
    assert attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert attributes["litellm.request.tags"] == TAGS
    assert attributes["user.id"] == "alice"
    assert trace.info.trace_metadata["mlflow.trace.user"] == "alice"
    assert proxy_attributes(chat) == {}  # the master key has no alias, team or owner here
    assert trace.info.tags["service.name"] == "litellm-proxy"
    assert_no_secrets(trace)


def test_openai_sdk_stream_with_a_virtual_key(
    config_proxy: ProxyServer, mlflow_server: MLflowServer
):
    caller = Caller()
    stream = openai_client(config_proxy, VIRTUAL_KEY).chat.completions.create(
        model="gpt-4o-mini",
        messages=HELLO,
        stream=True,
        stream_options={"include_usage": True},
        user="bob",
        extra_headers=caller.headers,
        extra_body={"litellm_metadata": {"tags": TAGS}},
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "Hello from the proxy"

    trace = read(mlflow_server, caller)
    chat = assert_chain(trace, caller, "/chat/completions", "gpt-4o-mini", "chat gpt-4o-mini")
    attributes = chat.attributes
    assert chat.status.status_code == SpanStatusCode.UNSET
    assert attributes["gen_ai.request.stream"] is True
    assert attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert attributes["gen_ai.usage.input_tokens"] > 0
    assert attributes["gen_ai.usage.output_tokens"] > 0
    assert attributes["litellm.request.tags"] == TAGS
    assert attributes["user.id"] == "bob"
    assert proxy_attributes(chat) == VIRTUAL_KEY_ATTRIBUTES
    assert_no_secrets(trace)


def test_operator_metadata_from_the_request_the_key_and_its_team(
    config_proxy: ProxyServer, mlflow_server: MLflowServer
):
    """Only the listed keys, the request's own value first, then the key's, then the team's."""
    caller = Caller()
    config_proxy.post(
        "/chat/completions",
        {
            "model": "gpt-4o-mini",
            "messages": HELLO,
            "metadata": {"project": "from-request", "api_key": PROVIDER_KEY, "other": "x"},
        },
        key=VIRTUAL_KEY,
        **caller.headers,
    )
    trace = read(mlflow_server, caller)
    chat = assert_chain(trace, caller, "/chat/completions", "gpt-4o-mini", "chat gpt-4o-mini")
    assert {k: v for k, v in chat.attributes.items() if k.startswith("litellm.metadata.")} == {
        "litellm.metadata.project": "from-request",
        "litellm.metadata.cost_center": "cc-42",
        "litellm.metadata.department": "search",
    }
    assert_no_secrets(trace)


def test_client_hanging_up_mid_stream_ends_the_span_as_failed(
    config_proxy: ProxyServer, mlflow_server: MLflowServer
):
    """A raw HTTP/1.1 client reads three SSE events of a ~25 s stream, then closes."""
    caller = Caller()
    body = json.dumps(
        {
            "model": "slow-chat",
            "stream": True,
            "messages": [{"role": "user", "content": "echo: " + "word " * 400}],
        }
    ).encode()
    head = (
        f"POST /chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{config_proxy.port}\r\n"
        f"Authorization: Bearer {MASTER_KEY}\r\nContent-Type: application/json\r\n"
        f"traceparent: {caller.headers['traceparent']}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", config_proxy.port), timeout=30) as sock:
        sock.sendall(head + body)
        received = b""
        while received.count(b"data: ") < 3:
            chunk = sock.recv(4096)
            assert chunk, received
            received += chunk
    closed_ns = time.time_ns()

    trace = read(mlflow_server, caller)
    chat = assert_chain(trace, caller, "/chat/completions", "slow-chat", "chat slow-model")
    assert chat.status.status_code == SpanStatusCode.ERROR
    assert chat.attributes["gen_ai.response.finish_reasons"] == ["error"]
    assert chat.attributes["gen_ai.request.stream"] is True
    ended_after = (chat.end_time_ns - closed_ns) / 1e9
    assert ended_after < 3, f"the span ended {ended_after:.1f}s after the client hung up"


def test_embeddings(config_proxy: ProxyServer, mlflow_server: MLflowServer, fake_llm: Any):
    caller = Caller()
    answer = openai_client(config_proxy, VIRTUAL_KEY).embeddings.create(
        model="embedder", input=["hello", "world"], extra_headers=caller.headers
    )
    assert len(answer.data) == 2

    trace = read(mlflow_server, caller, ("POST /embeddings", "embeddings "))
    span = assert_chain(
        trace, caller, "/embeddings", "embedder", "embeddings text-embedding-3-small"
    )
    assert span.span_type == "EMBEDDING"
    assert span.attributes["gen_ai.operation.name"] == "embeddings"
    assert span.attributes["gen_ai.provider.name"] == "openai"
    assert span.attributes["server.port"] == fake_llm.port
    assert span.attributes["gen_ai.usage.input_tokens"] > 0
    assert span.attributes["litellm.proxy.key_alias"] == "ci-pipeline"
    assert_no_secrets(trace)


def test_every_worker_exports(config_proxy: ProxyServer, mlflow_server: MLflowServer):
    """Requests, each on a new connection (the workers race to accept each one), until
    traces from both workers' processes are in MLflow."""
    pids: set[str] = set()
    for _round in range(4):
        callers = [Caller() for _ in range(12)]
        for caller in callers:
            config_proxy.post(
                "/chat/completions", {"model": "gpt-4o-mini", "messages": HELLO}, **caller.headers
            )
        pids |= {read(mlflow_server, c).info.tags["process.pid"] for c in callers}
        if len(pids) == 2:
            break
    assert len(pids) == 2, f"traces came from worker processes {pids} only"
    assert str(config_proxy.process.pid) not in pids  # the supervisor serves nothing


def test_probes_are_not_traced(config_proxy: ProxyServer, mlflow_server: MLflowServer):
    """A liveness probe, then a chat request, both in one caller's trace: only the chat's
    spans arrive (the probe's would have been exported first)."""
    caller = Caller()
    probe = urllib.request.Request(f"{config_proxy.url}/health/liveliness", headers=caller.headers)
    with urllib.request.urlopen(probe, timeout=10) as answer:
        assert answer.status == 200
    config_proxy.post(
        "/chat/completions", {"model": "gpt-4o-mini", "messages": HELLO}, **caller.headers
    )
    trace = read(mlflow_server, caller)
    assert sorted(s.name for s in trace.data.spans) == [
        "POST /chat/completions",
        "chat gpt-4o-mini",
    ]
    # the key check, the hook phases and the Router: facts of the server span, not spans
    server = one(trace, "POST /chat/completions")
    assert server.attributes["litellm.router.model_group"] == "gpt-4o-mini"
    for phase in ("auth", "pre_call", "post_call"):
        assert server.attributes[f"litellm.proxy.{phase}.duration"] > 0


def test_no_key_in_any_span_of_the_experiment(
    config_proxy: ProxyServer, mlflow_server: MLflowServer
):
    caller = Caller()
    for key in (MASTER_KEY, VIRTUAL_KEY):
        config_proxy.post(
            "/chat/completions",
            {"model": "gpt-4o-mini", "messages": HELLO},
            key=key,
            **caller.headers,
        )
    read(mlflow_server, caller)
    traces = search_traces(mlflow_server.url, config_proxy.experiment_id)
    assert traces
    for trace in traces:
        assert_no_secrets(trace)


# -- the opentelemetry-instrument wrapper ------------------------------------------------


def test_opentelemetry_instrument_wrapper_with_otlp_variables(
    tmp_path: Path, mlflow_server: MLflowServer, fake_llm: Any
):
    """``opentelemetry-instrument -- litellm --config ...``, nothing in config.yaml. The batch
    processor holds spans for a minute: they reach MLflow only by the flush at SIGTERM."""
    _, experiment_id = create_experiment(mlflow_server, "proxy-wrapper")
    env = proxy_env(
        OTEL_SERVICE_NAME="llm-gateway",
        OTEL_TRACES_EXPORTER="otlp",
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL="http/protobuf",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"{mlflow_server.url}/v1/traces",
        OTEL_EXPORTER_OTLP_TRACES_HEADERS=f"x-mlflow-experiment-id={experiment_id}",
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        OTEL_BSP_SCHEDULE_DELAY="60000",
        OTEL_PYTHON_FASTAPI_EXCLUDED_URLS="health",
    )
    config = proxy_config(fake_llm.base_url, callback=False, custom_auth=False)
    proxy = start_proxy(tmp_path, config, env, wrapper=True)
    try:
        plain, streamed = Caller(), Caller()
        proxy.post(
            "/chat/completions",
            {"model": "gpt-4o-mini", "messages": HELLO, "metadata": {"tags": TAGS}},
            **plain.headers,
        )
        stream = openai_client(proxy, MASTER_KEY).chat.completions.create(
            model="gpt-4o-mini", messages=HELLO, stream=True, extra_headers=streamed.headers
        )
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    finally:
        proxy.stop()
    traces = [read(mlflow_server, plain), read(mlflow_server, streamed)]

    for trace, caller in zip(traces, (plain, streamed), strict=True):
        assert trace.info.experiment_id == experiment_id
        chat = assert_chain(trace, caller, "/chat/completions", "gpt-4o-mini", "chat ")
        assert chat.span_type == "CHAT_MODEL"
        assert chat.attributes["gen_ai.provider.name"] == "openai"
        # what the master key gives without a database: the proxy's admin user
        assert proxy_attributes(chat) == {"litellm.proxy.user_id": "default_user_id"}
        assert trace.info.tags["service.name"] == "llm-gateway"
        assert "telemetry.auto.version" in trace.info.tags  # the wrapper set up the SDK
        assert_no_secrets(trace)
    assert one(traces[0], "chat ").attributes["litellm.request.tags"] == TAGS
    assert one(traces[1], "chat ").attributes["gen_ai.request.stream"] is True


def test_sigterm_loses_no_span_and_nothing_is_traced_twice(
    tmp_path: Path, mlflow_server: MLflowServer, fake_llm: Any
):
    """The wrapper and the config entry together, two workers, spans held for a minute by
    the batch processor: SIGTERM to the process group, then every trace is complete."""
    experiment_name, _ = create_experiment(mlflow_server, "proxy-sigterm")
    env = proxy_env(
        OTEL_TRACES_EXPORTER="mlflow",
        MLFLOW_TRACKING_URI=mlflow_server.url,
        MLFLOW_EXPERIMENT_NAME=experiment_name,
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        OTEL_BSP_SCHEDULE_DELAY="60000",
        OTEL_PYTHON_FASTAPI_EXCLUDED_URLS="health",
    )
    config = proxy_config(fake_llm.base_url, callback=True, custom_auth=False)
    proxy = start_proxy(tmp_path, config, env, wrapper=True, workers=2)
    try:
        callers = [Caller() for _ in range(8)]

        def send(caller: Caller) -> None:
            proxy.post(
                "/chat/completions", {"model": "gpt-4o-mini", "messages": HELLO}, **caller.headers
            )

        with ThreadPoolExecutor(len(callers)) as pool:
            list(pool.map(send, callers))
    finally:
        stopped = time.monotonic()
        proxy.stop()
    assert time.monotonic() - stopped < 30, proxy.log()

    pids = set()
    for caller in callers:
        trace = read(mlflow_server, caller)
        assert_chain(trace, caller, "/chat/completions", "gpt-4o-mini", "chat gpt-4o-mini")
        pids.add(trace.info.tags["process.pid"])
        assert_no_secrets(trace)
    assert pids, "no worker exported"


# -- the proxy's request facts, in process ------------------------------------------------


def test_proxy_metadata_becomes_attributes_and_the_key_hash_does_not(instrumented: Telemetry):
    """What the proxy puts in a call's metadata, read by name: alias, team, org, owner."""
    litellm.completion(
        model="openai/gpt-4o-mini",
        messages=HELLO,
        mock_response="hi",
        metadata={
            "user_api_key": SECRET,
            "user_api_key_hash": SECRET,
            "user_api_key_alias": "ci-pipeline",
            "user_api_key_team_id": "team-7",
            "user_api_key_team_alias": "search-team",
            "user_api_key_org_id": "org-1",
            "user_api_key_org_alias": None,
            "user_api_key_user_id": "svc-ci",
            "user_api_key_end_user_id": "carol",
            "user_api_key_spend": 0.5,
        },
    )
    span = instrumented.only("chat ")
    assert {k: v for k, v in span.attributes.items() if k.startswith("litellm.proxy.")} == {
        "litellm.proxy.key_alias": "ci-pipeline",
        "litellm.proxy.team_id": "team-7",
        "litellm.proxy.team_alias": "search-team",
        "litellm.proxy.org_id": "org-1",
        "litellm.proxy.user_id": "svc-ci",
    }
    assert span.attributes["user.id"] == "carol"  # the proxy's end user, without ``user``
    assert SECRET not in json.dumps(dict(span.attributes))


def test_the_user_argument_wins_over_the_proxys_end_user(instrumented: Telemetry):
    litellm.completion(
        model="openai/gpt-4o-mini",
        messages=HELLO,
        mock_response="hi",
        user="dave",
        litellm_metadata={"user_api_key_end_user_id": "carol"},
    )
    assert instrumented.only("chat ").attributes["user.id"] == "dave"


@pytest.mark.parametrize("holder", ["metadata", "litellm_metadata"])
def test_sdk_calls_without_proxy_metadata_get_no_proxy_attributes(
    instrumented: Telemetry, holder: str
):
    litellm.completion(
        model="openai/gpt-4o-mini", messages=HELLO, mock_response="hi", **{holder: {"a": 1}}
    )
    assert not any(k.startswith("litellm.proxy.") for k in instrumented.only("chat ").attributes)


def test_the_proxys_shutdown_flushes_the_providers_and_uninstrument_restores_it(
    instrument: Any, telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch
):
    """uvicorn's SIGTERM skips ``atexit``: the proxy's shutdown event is where spans get out."""
    flushed: list[int] = []

    class Recorder(SpanProcessor):
        def force_flush(self, timeout_millis: int = 30000) -> bool:
            flushed.append(timeout_millis)
            return True

    telemetry.tracer_provider.add_span_processor(Recorder())
    events: list[str] = []

    async def proxy_shutdown_event() -> None:
        events.append("shutdown")

    server = types.ModuleType(_shutdown.PROXY_SERVER_MODULE)
    server.proxy_shutdown_event = proxy_shutdown_event  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, _shutdown.PROXY_SERVER_MODULE, server)

    instrumentor = instrument()
    assert server.proxy_shutdown_event is not proxy_shutdown_event
    asyncio.run(server.proxy_shutdown_event())
    assert events == ["shutdown"]
    assert len(flushed) == 1  # once, after the proxy's own shutdown, with a time limit
    assert 0 < flushed[0] <= _shutdown.FLUSH_TIMEOUT_MILLIS

    instrumentor.instrument(tracer_provider=telemetry.tracer_provider)  # a no-op: once
    instrumentor.uninstrument()
    assert server.proxy_shutdown_event is proxy_shutdown_event


def test_importing_the_proxy_module_changes_nothing_naming_otel_instruments(tmp_path: Path):
    """``import`` alone: no env var written, no provider set, litellm untouched. Asking for
    ``otel`` (what config.yaml names) instruments, with the exporter passed as an argument
    rather than written to ``OTEL_TRACES_EXPORTER``."""
    import subprocess

    from mlflow_fixtures import child_env

    script = tmp_path / "check.py"
    script.write_text(
        textwrap.dedent(
            """
            import os
            import litellm
            from opentelemetry import trace
            before_env, before_completion = dict(os.environ), litellm.completion

            import opentelemetry_instrumentation_litellm.proxy as proxy

            assert dict(os.environ) == before_env, "import wrote the environment"
            assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
            assert litellm.completion is before_completion, "import instrumented litellm"
            assert "otel" not in vars(proxy)

            callback = proxy.otel
            assert proxy.otel is callback
            assert dict(os.environ) == before_env, "instrumenting wrote the environment"
            assert not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
            assert litellm.completion is not before_completion
            print("OK", type(callback).__name__)
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        env=child_env(OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "OK OpenTelemetryProxyCallback" in done.stdout
