"""A local ``mlflow server`` for the demo: sqlite store in a folder, 127.0.0.1 only.

Started in its own process group so that stopping it stops its workers too. The
``mlflow`` package is the demo's requirement, never the instrumentation's.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, TextIO

_SPINNER = "|/-\\"


def answers(url: str) -> bool:
    """Whether a GET of ``url`` answers 200 within 2 s (a server's health endpoint)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mlflow_executable() -> str | None:
    beside = Path(sys.executable).with_name("mlflow")
    return str(beside) if beside.exists() else shutil.which("mlflow")


class LocalMLflowServer:
    """``mlflow server --backend-store-uri sqlite:///DATA/mlflow.db`` on 127.0.0.1."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.reused = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "mlflow-server.log"

    def start(self, progress: TextIO, timeout: float = 120.0) -> None:
        """Start the server (or reuse one already answering on the port), showing progress."""
        if answers(f"{self.url}/health"):
            self.reused = True
            progress.write(f"Using the MLflow server already running at {self.url}\n")
            return
        if not _port_free(self.port):
            self.port = free_port()
        executable = mlflow_executable()
        if executable is None:
            raise RuntimeError(
                "the demo needs MLflow: pip install mlflow (or run it with --console)"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        env.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        command = [
            executable, "server",
            "--backend-store-uri", f"sqlite:///{self.data_dir / 'mlflow.db'}",
            "--default-artifact-root", (self.data_dir / "artifacts").as_uri(),
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        began = time.monotonic()
        interactive = progress.isatty()
        progress.write(f"Starting MLflow at {self.url} (data in {self.data_dir})")
        tick = 0
        while not answers(f"{self.url}/health"):
            elapsed = time.monotonic() - began
            if self.process.poll() is not None or elapsed > timeout:
                self.stop()
                raise RuntimeError(
                    f"mlflow server did not come up (see {self.log_path}):\n"
                    + self.log_path.read_text(errors="replace")[-2000:]
                )
            if interactive:  # a spinner with the seconds so far, redrawn in place
                spinner = _SPINNER[tick % len(_SPINNER)]
                progress.write(f"\rStarting MLflow at {self.url} {spinner} {elapsed:4.1f}s")
            elif tick % 8 == 0:  # a dot every two seconds in logs
                progress.write(".")
            progress.flush()
            tick += 1
            time.sleep(0.25)
        elapsed = time.monotonic() - began
        progress.write(f"\rMLflow is up at {self.url} after {elapsed:.1f}s{' ' * 24}\n")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            stop_process_group(process)


def stop_process_group(process: subprocess.Popen[Any]) -> None:
    """SIGTERM the process group ``process`` leads, SIGKILL it if it lingers."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)
    except ProcessLookupError:
        pass
