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
from typing import TextIO

from demo.errors import UsageError
from demo.progress import StatusLine

DEFAULT_PORT = 5000


def answers(url: str) -> bool:
    """Whether a GET of ``url`` answers 200 within 2 s (a server's health endpoint)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


def port_is_free(port: int) -> bool:
    """Whether ``mlflow server`` can listen on 127.0.0.1:``port``.

    The probe binds as the server (uvicorn) will, with SO_REUSEADDR: without it a port
    whose last connection is still in TIME_WAIT looks busy, though the server can use it.
    """
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
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
    """``mlflow server --backend-store-uri sqlite:///DATA/mlflow.db`` on 127.0.0.1.

    ``port=None`` means port 5000, or a free port if something else holds 5000. A port the
    user asked for is used (an MLflow server already answering there is reused) or
    ``start()`` raises :class:`UsageError` saying why not.
    """

    def __init__(self, data_dir: Path, port: int | None) -> None:
        self.data_dir = data_dir.resolve()
        self.port = DEFAULT_PORT if port is None else port
        self._port_asked = port is not None
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
        if not port_is_free(self.port):
            if self._port_asked:
                raise UsageError(
                    f"--port {self.port}: another program (not an MLflow server) listens on "
                    "127.0.0.1 there; stop it or choose another port"
                )
            progress.write(f"Port {self.port} is busy; using a free port instead.\n")
            self.port = free_port()
        executable = mlflow_executable()
        if executable is None:
            raise UsageError("the demo needs MLflow: pip install mlflow (or run it with --console)")
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            log = self.log_path.open("ab")
        except OSError as error:
            raise UsageError(f"--data-dir {self.data_dir}: {error.strerror}") from None
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        command = [
            executable, "server",
            "--backend-store-uri", f"sqlite:///{self.data_dir / 'mlflow.db'}",
            "--default-artifact-root", (self.data_dir / "artifacts").as_uri(),
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
        ]  # fmt: skip
        with log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        progress.write(f"Starting MLflow at {self.url} (data and log in {self.data_dir})\n")
        status = StatusLine(progress)
        began = time.monotonic()
        try:
            self._wait_until_healthy(status, began, timeout)
        except BaseException:
            status.clear()
            self.stop()
            raise
        status.done(f"MLflow is up at {self.url} after {time.monotonic() - began:.1f}s")

    def _wait_until_healthy(self, status: StatusLine, began: float, timeout: float) -> None:
        assert self.process is not None
        while not answers(f"{self.url}/health"):
            elapsed = time.monotonic() - began
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"mlflow server exited with status {self.process.returncode} before "
                    f"answering; see {self.log_path}"
                )
            if elapsed > timeout:
                raise RuntimeError(
                    f"mlflow server did not answer within {timeout:.0f}s; see {self.log_path}"
                )
            status.update(f"Waiting for MLflow {elapsed:4.1f}s")
            time.sleep(0.25)

    def stop(self) -> None:
        """SIGTERM the server's process group, SIGKILL it if it lingers."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        except ProcessLookupError:
            pass
