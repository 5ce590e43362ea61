"""Traces into a real MLflow tracking server (``mlflow_server``), read back with MLflow's client.

Covered: the standard OTLP environment, ``OTEL_TRACES_EXPORTER=mlflow``, the exporter in
process (sync, async, stream, tools, user/session, inputs/outputs and previews), setup
errors, credentials, a server stopped and restarted mid-run, and ``@mlflow.trace`` spans
sharing one trace with litellm's.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import litellm
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mlflow_fixtures import (
    LocalHTTPServer,
    MLflowServer,
    child_env,
    free_port,
    mlflow_trace_id,
    read_trace,
    search_traces,
    unique,
)
from opentelemetry_instrumentation_litellm.exporters import (
    ExporterConfigurationError,
    MLflowSpanExporter,
    configure,
)

BIN = Path(sys.executable).parent
MODEL = "openai/gpt-4o-mini"
RESILIENCE_LOGGER = "opentelemetry_instrumentation_litellm.exporters._resilience"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
    },
}
PARIS_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'},
}
USAGE = {"input_tokens": 10, "output_tokens": 20, "total_tokens": 30}


def clean_env(**extra: str) -> dict[str, str]:
    """A child's environment (``child_env``) exporting traces only, every 100 ms."""
    defaults = {
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    return child_env(**{**defaults, **extra})


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def printed(done: subprocess.CompletedProcess[str], key: str) -> str:
    for line in done.stdout.splitlines():
        if line.startswith(f"{key} "):
            return line.split(" ", 1)[1].strip()
    raise AssertionError(f"no {key} line in:\n{done.stdout}\n{done.stderr}")


APP = textwrap.dedent(
    """
    import litellm
    from opentelemetry import trace

    with trace.get_tracer("app").start_as_current_span("app-request") as span:
        litellm.completion(
            model="openai/gpt-4o-mini",
            messages=[{"role": "user", "content": "Say hi"}],
            mock_response="Hi there",
            user="env-user",
            metadata={"session_id": "env-session"},
        )
        print("TRACE_ID", format(span.get_span_context().trace_id, "032x"), flush=True)
    """
)


def chat_span(trace: Any) -> Any:
    spans = [s for s in trace.data.spans if s.name.startswith("chat ")]
    assert len(spans) == 1, [s.name for s in trace.data.spans]
    return spans[0]


def root_span(trace: Any) -> Any:
    roots = [s for s in trace.data.spans if s.parent_id is None]
    assert len(roots) == 1, [(s.name, s.parent_id) for s in trace.data.spans]
    return roots[0]


# (a) and (b): configuration by environment, as users of opentelemetry-instrument do it


def test_standard_otlp_environment_reaches_mlflow(mlflow_server: MLflowServer, tmp_path: Path):
    (tmp_path / "app.py").write_text(APP)
    env = clean_env(
        OTEL_TRACES_EXPORTER="otlp",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"{mlflow_server.url}/v1/traces",
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL="http/protobuf",
        OTEL_EXPORTER_OTLP_TRACES_HEADERS="x-mlflow-experiment-id=0",
        OTEL_SERVICE_NAME="otlp-env-app",
    )
    done = run([str(BIN / "opentelemetry-instrument"), sys.executable, "app.py"], env, tmp_path)

    trace = read_trace(mlflow_server.url, int(printed(done, "TRACE_ID"), 16), spans=2)
    assert trace.info.experiment_id == "0"
    assert root_span(trace).name == "app-request"
    chat = chat_span(trace)
    assert chat.parent_id == root_span(trace).span_id
    assert chat.span_type == "CHAT_MODEL"
    assert trace.info.token_usage == USAGE
    assert trace.info.trace_metadata["mlflow.trace.user"] == "env-user"
    assert trace.info.trace_metadata["mlflow.trace.session"] == "env-session"
    assert trace.info.tags["service.name"] == "otlp-env-app"


def test_otel_traces_exporter_mlflow_creates_the_named_experiment(
    mlflow_server: MLflowServer, tmp_path: Path
):
    import mlflow

    name = unique("instrumented-app")
    (tmp_path / "app.py").write_text(APP)
    env = clean_env(
        OTEL_TRACES_EXPORTER="mlflow",
        MLFLOW_TRACKING_URI=mlflow_server.url,
        MLFLOW_EXPERIMENT_NAME=name,
        OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="SPAN_ONLY",
        OTEL_SEMCONV_STABILITY_OPT_IN="gen_ai_latest_experimental",
    )
    done = run([str(BIN / "opentelemetry-instrument"), sys.executable, "app.py"], env, tmp_path)

    mlflow.set_tracking_uri(mlflow_server.url)
    experiment = mlflow.get_experiment_by_name(name)
    assert experiment is not None, f"experiment {name} was not created"
    trace = read_trace(mlflow_server.url, int(printed(done, "TRACE_ID"), 16), spans=2)
    assert trace.info.experiment_id == experiment.experiment_id
    assert [
        t.info.trace_id for t in search_traces(mlflow_server.url, experiment.experiment_id)
    ] == [trace.info.trace_id]
    chat = chat_span(trace)
    assert chat.inputs["messages"] == [{"role": "user", "content": "Say hi"}]
    assert chat.outputs["choices"][0]["message"] == {"role": "assistant", "content": "Hi there"}


# (c) in process: the exporter behind configure on an explicit provider


@dataclass
class Tracing:
    url: str
    provider: TracerProvider
    memory: InMemorySpanExporter
    experiment_name: str

    def read(self, otel_trace_id: int, spans: int) -> Any:
        return read_trace(self.url, otel_trace_id, tracer_provider=self.provider, spans=spans)

    def experiment_id(self) -> str:
        import mlflow

        mlflow.set_tracking_uri(self.url)
        return mlflow.get_experiment_by_name(self.experiment_name).experiment_id

    def last_chat_trace_id(self) -> int:
        chats = [s for s in self.memory.get_finished_spans() if s.name.startswith("chat ")]
        return chats[-1].context.trace_id


def make_tracing(url: str, instrument: Any, content: str) -> Tracing:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    name = unique("in-process")
    returned = configure("mlflow", tracer_provider=provider, tracking_uri=url, experiment_name=name)
    assert returned is provider
    instrument(tracer_provider=provider, capture_message_content=content)
    return Tracing(url, provider, memory, name)


@pytest.fixture
def tracing(mlflow_server: MLflowServer, instrument: Any) -> Iterator[Tracing]:
    tracing = make_tracing(mlflow_server.url, instrument, "SPAN_ONLY")
    yield tracing
    tracing.provider.shutdown()


def test_sync_chat_under_an_app_span(tracing: Tracing):
    tracer = tracing.provider.get_tracer("test")
    with tracer.start_as_current_span("handle-request") as app:
        litellm.completion(
            model=MODEL,
            messages=[
                {"role": "system", "content": "Answer in French."},
                {"role": "user", "content": "Say hello."},
            ],
            mock_response="Bonjour !",
            user="alice",
            metadata={"session_id": "conversation-1"},
        )

    trace = tracing.read(app.get_span_context().trace_id, spans=2)
    assert trace.info.experiment_id == tracing.experiment_id()
    chat = chat_span(trace)
    assert chat.parent_id == root_span(trace).span_id
    assert root_span(trace).name == "handle-request"
    assert chat.span_type == "CHAT_MODEL"
    assert chat.attributes["mlflow.llm.model"] == "gpt-4o-mini"
    assert chat.attributes["mlflow.llm.provider"] == "openai"
    assert trace.info.token_usage == USAGE
    assert trace.info.trace_metadata["mlflow.trace.user"] == "alice"
    assert trace.info.trace_metadata["mlflow.trace.session"] == "conversation-1"
    assert chat.inputs == {
        "messages": [
            {"role": "system", "content": "Answer in French."},
            {"role": "user", "content": "Say hello."},
        ],
        "model": "gpt-4o-mini",
    }
    assert chat.outputs["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Bonjour !"},
            "finish_reason": "stop",
        }
    ]
    assert chat.outputs["usage"] == {
        "prompt_tokens": 10,
        "completion_tokens": 20,
        "total_tokens": 30,
    }
    # the conventions' attributes are still there, untouched
    assert chat.attributes["gen_ai.input.messages"][1]["parts"] == [
        {"type": "text", "content": "Say hello."}
    ]


def test_previews_show_text_not_json(tracing: Tracing):
    litellm.completion(
        model=MODEL,
        messages=[
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "What is 2 + 2?"},
        ],
        mock_response="4",
    )
    trace = tracing.read(tracing.last_chat_trace_id(), spans=1)
    assert trace.info.request_preview == "What is 2 + 2?"
    assert trace.info.response_preview == "4"


async def test_async_chat(tracing: Tracing):
    tracer = tracing.provider.get_tracer("test")
    with tracer.start_as_current_span("async-request") as app:
        await litellm.acompletion(
            model=MODEL,
            messages=[{"role": "user", "content": "Name a color."}],
            mock_response="Blue.",
            litellm_session_id="async-session",
        )
    trace = tracing.read(app.get_span_context().trace_id, spans=2)
    chat = chat_span(trace)
    assert chat.parent_id == root_span(trace).span_id
    assert chat.span_type == "CHAT_MODEL"
    assert trace.info.token_usage == USAGE
    assert trace.info.trace_metadata["mlflow.trace.session"] == "async-session"
    assert chat.outputs["choices"][0]["message"]["content"] == "Blue."


def test_stream(tracing: Tracing):
    tracer = tracing.provider.get_tracer("test")
    with tracer.start_as_current_span("stream-request") as app:
        stream = litellm.completion(
            model=MODEL,
            messages=[{"role": "user", "content": "Count to three."}],
            mock_response="One, two, three.",
            stream=True,
            stream_options={"include_usage": True},
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "One, two, three."
    trace = tracing.read(app.get_span_context().trace_id, spans=2)
    chat = chat_span(trace)
    assert chat.parent_id == root_span(trace).span_id
    assert chat.span_type == "CHAT_MODEL"
    assert chat.attributes["gen_ai.request.stream"] is True
    usage = trace.info.token_usage
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert chat.outputs["choices"][0]["message"]["content"] == "One, two, three."


def test_tool_call_round_trip(tracing: Tracing):
    tracer = tracing.provider.get_tracer("test")
    question = [{"role": "user", "content": "What's the weather in Paris?"}]
    with tracer.start_as_current_span("agent-turn") as app:
        first = litellm.completion(
            model=MODEL, messages=question, tools=[WEATHER_TOOL], mock_tool_calls=[PARIS_CALL]
        )
        litellm.completion(
            model=MODEL,
            messages=[
                *question,
                first.choices[0].message.model_dump(),
                {"role": "tool", "tool_call_id": "call_1", "content": '{"celsius": 22}'},
            ],
            tools=[WEATHER_TOOL],
            mock_response="22 degrees in Paris.",
        )
    trace = tracing.read(app.get_span_context().trace_id, spans=3)
    app_id = root_span(trace).span_id
    chats = sorted(
        (s for s in trace.data.spans if s.name.startswith("chat ")), key=lambda s: s.start_time_ns
    )
    assert [c.parent_id for c in chats] == [app_id, app_id]
    assert {c.span_type for c in chats} == {"CHAT_MODEL"}
    assert trace.info.token_usage == {"input_tokens": 20, "output_tokens": 40, "total_tokens": 60}

    asked = chats[0].outputs["choices"][0]["message"]["tool_calls"]
    assert asked == [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"location":"Paris"}'},
        }
    ]
    messages = chats[1].inputs["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool"]
    assert messages[1]["tool_calls"][0]["id"] == "call_1"
    assert messages[2] == {"role": "tool", "tool_call_id": "call_1", "content": '{"celsius": 22}'}
    tools = chats[0].attributes["mlflow.chat.tools"]
    assert tools == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather in a city",
                "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
            },
        }
    ]


def test_without_captured_content_nothing_is_invented(mlflow_server: MLflowServer, instrument):
    tracing = make_tracing(mlflow_server.url, instrument, "NO_CONTENT")
    try:
        litellm.completion(
            model=MODEL,
            messages=[{"role": "user", "content": "secret question"}],
            mock_response="x",
        )
        trace = tracing.read(tracing.last_chat_trace_id(), spans=1)
    finally:
        tracing.provider.shutdown()
    chat = chat_span(trace)
    assert chat.span_type == "CHAT_MODEL"
    assert trace.info.token_usage == USAGE
    assert chat.inputs is None and chat.outputs is None
    assert "secret question" not in json.dumps(chat.to_dict())
    assert trace.info.request_preview in (None, "")


# (d) setup errors: raised when the exporter is built, naming what to fix


@pytest.fixture
def mlflow_env(monkeypatch: pytest.MonkeyPatch, mlflow_server: MLflowServer) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("MLFLOW_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    return monkeypatch


def setup_error(**kwargs: Any) -> str:
    with pytest.raises(ExporterConfigurationError) as caught:
        MLflowSpanExporter(**kwargs)
    assert isinstance(caught.value, ValueError)
    return str(caught.value)


def test_environment_alone_configures_the_exporter(mlflow_env: pytest.MonkeyPatch):
    assert MLflowSpanExporter().experiment_id == "0"
    name = unique("env-experiment")
    mlflow_env.setenv("MLFLOW_EXPERIMENT_NAME", name)
    created = MLflowSpanExporter().experiment_id
    assert created != "0"
    assert MLflowSpanExporter().experiment_id == created  # found, not created twice
    mlflow_env.delenv("MLFLOW_EXPERIMENT_NAME")
    mlflow_env.setenv("MLFLOW_EXPERIMENT_ID", created)
    assert MLflowSpanExporter().experiment_id == created


def test_experiment_id_must_be_a_number(mlflow_env: pytest.MonkeyPatch):
    mlflow_env.setenv("MLFLOW_EXPERIMENT_ID", "my-experiment")
    message = setup_error()
    assert "MLFLOW_EXPERIMENT_ID" in message and "MLFLOW_EXPERIMENT_NAME" in message


def test_unknown_experiment_id(mlflow_env: pytest.MonkeyPatch):
    mlflow_env.setenv("MLFLOW_EXPERIMENT_ID", "987654321")
    message = setup_error()
    assert "MLFLOW_EXPERIMENT_ID=987654321" in message and "no such experiment" in message


def test_experiment_id_and_name_must_agree(mlflow_env: pytest.MonkeyPatch):
    mlflow_env.setenv("MLFLOW_EXPERIMENT_NAME", "Default")
    mlflow_env.setenv("MLFLOW_EXPERIMENT_ID", "0")
    assert MLflowSpanExporter().experiment_id == "0"
    mlflow_env.setenv("MLFLOW_EXPERIMENT_NAME", unique("other"))
    assert "does not match" in setup_error()


def test_arguments_override_the_environment(mlflow_env: pytest.MonkeyPatch, mlflow_server):
    mlflow_env.setenv("MLFLOW_EXPERIMENT_ID", "not-a-number")
    mlflow_env.setenv("MLFLOW_TRACKING_URI", "sqlite:///ignored.db")
    exporter = MLflowSpanExporter(tracking_uri=mlflow_server.url, experiment_id=0)
    assert exporter.experiment_id == "0"
    assert "experiment_id must be a numeric" in setup_error(
        tracking_uri=mlflow_server.url, experiment_id="x"
    )


@pytest.mark.parametrize("uri", [None, "sqlite:///mlflow.db", "file:///tmp/mlruns", "databricks"])
def test_tracking_uri_must_be_an_http_server(mlflow_env: pytest.MonkeyPatch, uri: str | None):
    if uri is None:
        mlflow_env.delenv("MLFLOW_TRACKING_URI")
    else:
        mlflow_env.setenv("MLFLOW_TRACKING_URI", uri)
    message = setup_error()
    assert "MLFLOW_TRACKING_URI" in message
    assert "http" in message


def test_unreachable_tracking_uri_fails_fast_without_leaking_credentials(
    mlflow_env: pytest.MonkeyPatch,
):
    port = free_port()
    mlflow_env.setenv("MLFLOW_TRACKING_URI", f"http://admin:hunter2-url@127.0.0.1:{port}")
    mlflow_env.setenv("MLFLOW_TRACKING_USERNAME", "admin")
    mlflow_env.setenv("MLFLOW_TRACKING_PASSWORD", "hunter2-env")
    began = time.monotonic()
    message = setup_error(timeout=2)
    assert time.monotonic() - began < 5
    assert "MLFLOW_TRACKING_URI" in message and "Cannot reach" in message
    assert f"http://127.0.0.1:{port}" in message
    assert "hunter2" not in message


def test_opentelemetry_instrument_reports_the_setting_and_the_app_still_runs(
    mlflow_server: MLflowServer, tmp_path: Path
):
    (tmp_path / "app.py").write_text(APP + "\nprint('APP DONE')\n")
    env = clean_env(
        OTEL_TRACES_EXPORTER="mlflow",
        MLFLOW_TRACKING_URI=mlflow_server.url,
        MLFLOW_EXPERIMENT_ID="not-a-number",
    )
    done = run([str(BIN / "opentelemetry-instrument"), sys.executable, "app.py"], env, tmp_path)
    assert "APP DONE" in done.stdout
    assert "ExporterConfigurationError" in done.stderr
    assert "MLFLOW_EXPERIMENT_ID must be a numeric MLflow experiment id" in done.stderr


# credentials: observed through a recording proxy in front of the real server


class RecordingProxy:
    """Forwards every request to MLflow and records (method, path, headers)."""

    def __init__(self, target: str) -> None:
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy.seen.append((self.command, self.path, dict(self.headers.items())))
                request = urllib.request.Request(
                    target + self.path,
                    data=body if self.command != "GET" else None,
                    method=self.command,
                    headers={
                        k: v
                        for k, v in self.headers.items()
                        if k.lower()
                        in ("content-type", "content-encoding", "x-mlflow-experiment-id")
                    },
                )
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        status, payload = response.status, response.read()
                        content_type = response.headers.get("Content-Type", "")
                except urllib.error.HTTPError as error:
                    status, payload = error.code, error.read()
                    content_type = error.headers.get("Content-Type", "")
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = forward

        self.http = LocalHTTPServer(Handler)
        self.url = self.http.url

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def proxy(mlflow_server: MLflowServer) -> Iterator[RecordingProxy]:
    proxy = RecordingProxy(mlflow_server.url)
    yield proxy
    proxy.close()


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        (
            {"MLFLOW_TRACKING_USERNAME": "alice", "MLFLOW_TRACKING_PASSWORD": "s3cret"},
            "Basic " + base64.b64encode(b"alice:s3cret").decode(),
        ),
        ({"MLFLOW_TRACKING_TOKEN": "tok-123"}, "Bearer tok-123"),
    ],
)
def test_credentials_on_lookups_and_exports_and_nothing_else(
    mlflow_env: pytest.MonkeyPatch,
    mlflow_server: MLflowServer,
    proxy: RecordingProxy,
    variables: dict[str, str],
    expected: str,
):
    for name, value in variables.items():
        mlflow_env.setenv(name, value)
    mlflow_env.setenv("MLFLOW_TRACKING_URI", proxy.url)
    mlflow_env.setenv("MLFLOW_EXPERIMENT_NAME", unique("auth"))
    mlflow_env.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-collector-key=collector-secret")
    exporter = MLflowSpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("test").start_as_current_span("authenticated") as span:
        pass
    provider.shutdown()

    paths = [(method, path.split("?")[0]) for method, path, _ in proxy.seen]
    assert ("GET", "/api/2.0/mlflow/experiments/get-by-name") in paths
    assert ("POST", "/api/2.0/mlflow/experiments/create") in paths
    assert ("POST", "/v1/traces") in paths
    for _method, _path, headers in proxy.seen:
        assert headers.get("Authorization") == expected
        assert "collector-secret" not in json.dumps(headers)
    otlp = [h for m, p, h in proxy.seen if p == "/v1/traces"]
    assert otlp[0]["x-mlflow-experiment-id"] == exporter.experiment_id
    trace = read_trace(mlflow_server.url, span.get_span_context().trace_id)
    assert trace.info.experiment_id == exporter.experiment_id


# (f) @mlflow.trace spans and litellm spans in one trace (subprocess: MLflow's global state)

AGENT = textwrap.dedent(
    """
    import litellm
    import mlflow

    from opentelemetry_instrumentation_litellm import LiteLLMInstrumentor
    from opentelemetry_instrumentation_litellm.exporters import configure

    provider = configure("mlflow", service_name="weather-agent")
    LiteLLMInstrumentor().instrument(capture_message_content="SPAN_ONLY")

    @mlflow.trace(span_type="AGENT")
    def agent(question):
        answer = litellm.completion(
            model="openai/gpt-4o-mini",
            messages=[{"role": "user", "content": question}],
            mock_response="Sunny.",
        )
        return answer.choices[0].message.content

    agent("Weather in Paris?")
    print("TRACE_ID", mlflow.get_last_active_trace_id(), flush=True)
    provider.force_flush()
    mlflow.flush_trace_async_logging()
    """
)


@pytest.mark.parametrize("propagate", [True, False], ids=["propagate", "isolated-default"])
def test_mlflow_trace_decorator_and_litellm_share_one_trace(
    mlflow_server: MLflowServer, tmp_path: Path, propagate: bool
):
    import mlflow

    name = unique("agent")
    (tmp_path / "agent.py").write_text(AGENT)
    env = clean_env(MLFLOW_TRACKING_URI=mlflow_server.url, MLFLOW_EXPERIMENT_NAME=name)
    if propagate:
        env["MLFLOW_TRACE_PROPAGATE_TO_OTEL_CONTEXT"] = "true"
    done = run([sys.executable, "agent.py"], env, tmp_path)
    trace_id = printed(done, "TRACE_ID")

    mlflow.set_tracking_uri(mlflow_server.url)
    experiment = mlflow.get_experiment_by_name(name)
    deadline = time.monotonic() + 15
    while True:
        traces = search_traces(mlflow_server.url, experiment.experiment_id)
        spans = sum(len(t.data.spans) for t in traces)
        if spans >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    by_id = {t.info.trace_id: t for t in traces}
    agent_trace = by_id[trace_id]
    agent = root_span(agent_trace)
    assert (agent.name, agent.span_type) == ("agent", "AGENT")
    if propagate:
        assert list(by_id) == [trace_id], "one trace, not two"
        chat = chat_span(agent_trace)
        assert chat.parent_id == agent.span_id
        assert chat.span_type == "CHAT_MODEL"
        assert agent_trace.info.token_usage == USAGE
        assert agent_trace.info.request_preview  # MLflow's own root span inputs
    else:
        # without the setting the chat span is a trace of its own: the setting is what joins them
        assert len(by_id) == 2
        assert [s.name for s in agent_trace.data.spans] == ["agent"]


# (e) the backend goes away and comes back (keep last: it restarts the shared server)


def test_server_down_then_back(
    mlflow_server: MLflowServer, instrument: Any, caplog: pytest.LogCaptureFixture
):
    import mlflow

    caplog.set_level(logging.WARNING)
    exporter = MLflowSpanExporter(mlflow_server.url, timeout=2.0, drop_log_interval=60)
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=50))
    instrument(tracer_provider=provider, capture_message_content="SPAN_ONLY")
    tracer = provider.get_tracer("test")

    def request(tag: str) -> tuple[int, float]:
        with tracer.start_as_current_span(f"request-{tag}") as span:
            began = time.perf_counter()
            litellm.completion(
                model=MODEL, messages=[{"role": "user", "content": tag}], mock_response="ok"
            )
            elapsed = time.perf_counter() - began
        return span.get_span_context().trace_id, elapsed

    def wait_for_dropped(count: int) -> None:
        deadline = time.monotonic() + 20
        while exporter.dropped_spans < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert exporter.dropped_spans == count

    before, _ = request("before")
    read_trace(mlflow_server.url, before, tracer_provider=provider, spans=2)

    mlflow_server.stop()
    try:
        down: list[int] = []
        durations: list[float] = []
        for i in range(3):
            trace_id, elapsed = request(f"down-{i}")
            down.append(trace_id)
            durations.append(elapsed)
            wait_for_dropped(2 * (i + 1))  # app span + chat span per request
        assert max(durations) < 0.5, durations
    finally:
        mlflow_server.start()

    reports = [
        r.getMessage()
        for r in caplog.records
        if r.name == RESILIENCE_LOGGER and "failed" in r.getMessage()
    ]
    assert len(reports) == 1, reports  # three or more failed batches, one report per interval
    assert mlflow_server.url in reports[0] and "Connection" in reports[0], reports[0]
    first = re.search(r"failed: (\d+) span\(s\) dropped", reports[0])
    assert first and 1 <= int(first.group(1)) <= 2, reports[0]

    after, elapsed = request("after")
    assert elapsed < 0.5
    trace = read_trace(mlflow_server.url, after, tracer_provider=provider, spans=2)
    assert chat_span(trace).span_type == "CHAT_MODEL"
    resumed = [r.getMessage() for r in caplog.records if "resumed" in r.getMessage()]
    assert len(resumed) == 1, resumed
    assert f"{6 - int(first.group(1))} more span(s) dropped" in resumed[0], resumed
    assert exporter.dropped_spans == 6
    mlflow.set_tracking_uri(mlflow_server.url)
    assert mlflow.get_trace(mlflow_trace_id(down[0])) is None
    provider.shutdown()
