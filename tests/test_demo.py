"""The README's first command: the demo app (examples/demo) traced to a local MLflow server, or
the console; and its command line's handling of mistakes."""

from __future__ import annotations

import io
import os
import pty
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import mlflow
import pytest

from demo.progress import StatusLine
from processes import free_port

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
DEMO = [sys.executable, "-m", "demo"]
"""What ``bash scripts/dev.sh demo`` runs, with ``examples/`` on PYTHONPATH."""


def demo_env() -> dict[str, str]:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONPATH": str(EXAMPLES)}
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        env.pop(name, None)
    return env


def run_demo(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*DEMO, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=demo_env(),
        start_new_session=True,
    )


def render_terminal(output: str) -> list[str]:
    """The lines a terminal shows after ``output``: carriage returns, erase-line, newlines."""
    lines = [""]
    column = 0
    for token in re.findall(r"\x1b\[K|\r|\n|[^\r\n\x1b]+", output):
        if token == "\r":
            column = 0
        elif token == "\n":
            lines.append("")
            column = 0
        elif token == "\x1b[K":
            lines[-1] = lines[-1][:column]
        else:
            line = lines[-1].ljust(column)
            lines[-1] = line[:column] + token + line[column + len(token) :]
            column += len(token)
    return [line.rstrip() for line in lines if line.strip()]


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_status_line_leaves_only_the_final_line_on_a_terminal():
    terminal = FakeTerminal()
    terminal.write("Starting MLflow at http://127.0.0.1:5000 (data and log in /a/long/path)\n")
    status = StatusLine(terminal)
    for seconds in (0.0, 0.3, 12.6):
        status.update(f"Waiting for MLflow {seconds:4.1f}s")
    status.done("MLflow is up after 1.0s")
    assert render_terminal(terminal.getvalue()) == [
        "Starting MLflow at http://127.0.0.1:5000 (data and log in /a/long/path)",
        "MLflow is up after 1.0s",
    ]


def test_status_line_cleared_when_startup_fails_and_quiet_in_logs():
    terminal = FakeTerminal()
    status = StatusLine(terminal)
    status.update("Waiting for MLflow  3.0s")
    status.clear()
    terminal.write("error: mlflow server exited\n")
    assert render_terminal(terminal.getvalue()) == ["error: mlflow server exited"]
    log = io.StringIO()
    status = StatusLine(log)
    status.update("Waiting for MLflow  3.0s")
    status.done("MLflow is up after 3.0s")
    assert log.getvalue() == "MLflow is up after 3.0s\n"


def test_console_demo_needs_no_server():
    result = run_demo("--console")
    assert result.returncode == 0, result.stderr
    names = re.findall(r'"name": "([^"]+)"', result.stdout)
    assert names.count("chat gpt-4o-mini") == 5
    assert "weather-assistant" in names
    assert '"gen_ai.input.messages"' in result.stdout  # the demo shows content
    assert "Done: trace" in result.stderr


def port_in_time_wait() -> int:
    """A port whose last connection is in TIME_WAIT, as after an earlier server (uvicorn, with
    SO_REUSEADDR) closed it: free for a server with SO_REUSEADDR, busy for a plain bind."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = listener.accept()
        accepted.close()  # the listening side closes first: its end enters TIME_WAIT
        client.recv(1)
        client.close()
    time.sleep(0.2)
    with socket.socket() as plain, pytest.raises(OSError):
        plain.bind(("127.0.0.1", port))
    return port


def run_with_terminal_stderr(*args: str, timeout: float = 240) -> tuple[int, str, str]:
    """Run the demo with stderr on a pseudo-terminal (so it draws its progress line);
    return (status, stdout, what the terminal received)."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [*DEMO, *args],
        stdout=subprocess.PIPE,
        stderr=terminal,
        text=True,
        env=demo_env(),
        start_new_session=True,
    )
    os.close(terminal)
    received: list[bytes] = []

    def read() -> None:
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the demo closed the terminal
                return
            if not chunk:
                return
            received.append(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        stdout, _ = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 9)
    reader.join(5)
    os.close(controller)
    return process.returncode, stdout, b"".join(received).decode(errors="replace")


def test_demo_starts_mlflow_on_the_asked_port_and_stops_it(tmp_path):
    data = tmp_path / "mlflow-data"
    port = port_in_time_wait()  # the probe without SO_REUSEADDR moved such a port elsewhere
    status, stdout, terminal = run_with_terminal_stderr(
        "--stop", "--data-dir", str(data), "--port", str(port)
    )
    assert status == 0, stdout + terminal
    url = f"http://127.0.0.1:{port}"
    screen = render_terminal(terminal)
    assert f"Starting MLflow at {url} (data and log in {data})" in screen
    up = [line for line in screen if line.startswith("MLflow is up")]
    assert len(up) == 1 and re.fullmatch(rf"MLflow is up at {url} after \d+\.\ds", up[0]), screen
    assert not any("Waiting for MLflow" in line for line in screen), screen
    trace_id = re.search(r"Trace:\s+(tr-[0-9a-f]{32}) \((\d+) spans stored\)", stdout)
    assert trace_id, stdout
    assert int(trace_id.group(2)) == 6  # the app span and five litellm calls
    assert (data / "mlflow.db").exists()
    # --stop: no links to a server that is gone; it is gone, and its data stays.
    assert "http://" not in stdout
    assert f"its data stays in {data}" in stdout
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{url}/health", timeout=2)


def test_demo_into_a_running_server(mlflow_server):
    result = run_demo("--tracking-uri", mlflow_server.url)
    assert result.returncode == 0, result.stdout + result.stderr
    trace_id = re.search(r"Trace:\s+(tr-[0-9a-f]{32})", result.stdout).group(1)
    assert f"{mlflow_server.url}/#/experiments/" in result.stdout
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


def assert_one_line_error(result: subprocess.CompletedProcess, *expected: str) -> str:
    """Exit status 2, no traceback, and stderr ends with one ``error:`` line naming it."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "error:" in last, result.stderr
    for text in expected:
        assert text in last, last
    return last


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("file:///tmp/mlruns", "http:// or https://"),
        ("127.0.0.1:5000", "http:// or https://"),
        ("http://127.0.0.1:{port}", "Cannot reach"),
    ],
)
def test_bad_tracking_uri_is_one_line(uri, expected):
    result = run_demo("--tracking-uri", uri.format(port=free_port()), timeout=60)
    last = assert_one_line_error(result, "--tracking-uri", expected)
    assert result.stderr.strip() == last


def test_busy_port_asked_for_is_an_error_not_another_port(tmp_path):
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        port = other_program.getsockname()[1]
        result = run_demo("--data-dir", str(tmp_path), "--port", str(port), timeout=60)
    assert_one_line_error(result, f"--port {port}", "choose another port")
    assert not (tmp_path / "mlflow.db").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--port", "http"], "--port"),
        (["--port", "70000"], "--port"),
        (["--console", "--port", "5001"], "--port"),
        (["--tracking-uri", "http://127.0.0.1:5000", "--stop"], "--stop"),
        (["--console", "--tracking-uri", "http://127.0.0.1:5000"], "--tracking-uri"),
        (["--colour"], "unrecognized arguments"),
    ],
)
def test_bad_options_are_one_line_errors(args, expected):
    assert_one_line_error(run_demo(*args, timeout=60), expected)


def test_unwritable_data_dir_is_one_line(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    result = run_demo("--data-dir", str(blocked / "data"), "--port", str(free_port()))
    assert_one_line_error(result, "--data-dir")
