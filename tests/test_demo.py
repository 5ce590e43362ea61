"""The README's first command: the demo app traced to a local MLflow server, or the console."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request

import mlflow
import pytest

from mlflow_fixtures import free_port

DEMO = [sys.executable, "-m", "opentelemetry_instrumentation_litellm"]


def run_demo(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        env.pop(name, None)
    return subprocess.run(
        [*DEMO, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        start_new_session=True,
    )


def test_console_demo_needs_no_server():
    result = run_demo("--console")
    assert result.returncode == 0, result.stderr
    names = re.findall(r'"name": "([^"]+)"', result.stdout)
    assert names.count("chat gpt-4o-mini") == 5
    assert "weather-assistant" in names
    assert '"gen_ai.input.messages"' in result.stdout  # the demo shows content
    assert "Done: trace" in result.stderr


def test_demo_starts_mlflow_and_stores_the_trace(tmp_path):
    data = tmp_path / "mlflow-data"
    result = run_demo("--stop", "--data-dir", str(data), "--port", str(free_port()))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "MLflow is up at http://127.0.0.1:" in result.stderr  # progress while it starts
    url = re.search(
        r"MLflow UI:\s+(http://127\.0\.0\.1:\d+)/#/experiments/(\d+)/traces", result.stdout
    )
    trace_id = re.search(r"Trace:\s+(tr-[0-9a-f]{32}) \((\d+) spans stored\)", result.stdout)
    assert url and trace_id, result.stdout
    assert int(trace_id.group(2)) == 6  # the app span and five litellm calls
    assert (data / "mlflow.db").exists()
    # --stop: the server is gone, and its data stays for the next run.
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{url.group(1)}/health", timeout=2)


def test_demo_into_a_running_server(mlflow_server):
    result = run_demo("--tracking-uri", mlflow_server.url)
    assert result.returncode == 0, result.stdout + result.stderr
    trace_id = re.search(r"Trace:\s+(tr-[0-9a-f]{32})", result.stdout).group(1)
    mlflow.set_tracking_uri(mlflow_server.url)
    trace = mlflow.get_trace(trace_id)
    spans = {span.name: span for span in trace.data.spans}
    assert spans["weather-assistant"].parent_id is None
    chats = [s for s in trace.data.spans if s.name == "chat gpt-4o-mini"]
    assert len(chats) == 5
    assert {s.span_type for s in chats} == {"CHAT_MODEL"}
    assert all(s.parent_id == spans["weather-assistant"].span_id for s in chats)
    assert trace.info.trace_metadata["mlflow.trace.user"] == "demo-user"
    assert trace.info.trace_metadata["mlflow.trace.session"] == "demo-session"
    assert trace.info.token_usage["input_tokens"] > 0
