"""Every shell and Python block of README.md and docs/*.md runs as written.

pytest-codeblocks extracts the blocks and their marks (an HTML comment right before a fence:
``<!--pytest.mark.skip(reason="...")-->`` for a block that cannot run here, with the reason
pytest reports; ``<!--pytest.mark.spans("chat gpt-4o-mini")-->`` to also check that those spans
arrived, in one trace). New pages under docs/ are picked up by themselves.

The blocks run the way a reader runs them, not in this process:

- ``pip install`` blocks run first, in a throwaway venv (one per session) that finds this
  project's wheel, built here, through ``PIP_FIND_LINKS``, with ``constraints.txt`` as
  ``PIP_CONSTRAINT``; litellm is installed in it beforehand (the reader's app brings it).
- A Python block whose first line is ``# name.py`` is that file, written into the session's work
  directory for the blocks that run it; it is also run itself.
- The other blocks run in that venv, from the work directory (from the repository root when they
  use the repository's ``scripts/``), with the environment the blocks already read pointed at
  local servers: ``OPENAI_BASE_URL``/``OPENAI_API_KEY`` at tests/fake_openai_server.py,
  ``OTEL_EXPORTER_OTLP_ENDPOINT`` at an HTTP receiver here (tests/test_exporters.py's),
  ``MLFLOW_TRACKING_URI`` at the session's ``mlflow server``.
- ``bash scripts/dev.sh demo`` runs as written: it starts MLflow and waits for Ctrl-C, so the test
  reads the trace back from that server, then sends SIGINT and expects a clean exit.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from pytest_codeblocks import CodeBlock, extract_from_file

from conftest import FakeLLM, stop_process_group
from mlflow_fixtures import MLflowServer, child_env
from test_exporters import Receiver

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELLS = {"bash": ["bash", "-e", "-o", "pipefail", "-c"], "sh": ["sh", "-e", "-c"]}
DEMO = "bash scripts/dev.sh demo"
FILE_HEADER = re.compile(r"#\s*([\w.-]+\.py)\s*\n")
BLOCK_TIMEOUT = 180.0


def _blocks() -> list[Any]:
    params = []
    for page in PAGES:
        for block in extract_from_file(page):
            if block.syntax not in ("python", *SHELLS):
                continue
            name = f"{page.relative_to(ROOT)}:{block.lineno}"
            marks = [_named(eval(mark, {"pytest": pytest}), name) for mark in block.marks]
            params.append(pytest.param(page, block, marks=marks, id=name))
    return params


def _named(mark: Any, name: str) -> Any:
    """A skip mark whose reason starts with the block it skips, for pytest's summary."""
    if mark.name != "skip":
        return mark
    return pytest.mark.skip(reason=f"{name}: {mark.kwargs.get('reason', '')}")


def _is_install(block: CodeBlock) -> bool:
    lines = [line.split("#")[0].strip() for line in block.code.splitlines()]
    commands = [line for line in lines if line]
    return block.syntax in SHELLS and all(line.startswith("pip install ") for line in commands)


def _file_name(block: CodeBlock) -> str | None:
    match = FILE_HEADER.match(block.code)
    return match.group(1) if block.syntax == "python" and match else None


def _skipped(param: Any) -> bool:
    return any(mark.name == "skip" for mark in param.marks)


BLOCKS = _blocks()


# --- what the OTLP/HTTP receiver got ----------------------------------------------------------


def traces_received(receiver: Receiver, first_request: int) -> list[set[str]]:
    """Span names per trace in the OTLP trace exports from request ``first_request`` on."""
    traces: dict[bytes, set[str]] = {}
    for received in receiver.requests[first_request:]:
        if received.path == "/v1/traces":
            request = ExportTraceServiceRequest.FromString(received.body)
            for resource in request.resource_spans:
                for scope in resource.scope_spans:
                    for span in scope.spans:
                        traces.setdefault(span.trace_id, set()).add(span.name)
    return list(traces.values())


# --- the session: receiver, venv, installs ---------------------------------------------------


@dataclass
class DocsSession:
    workdir: Path
    venv: Path
    env: dict[str, str]
    receiver: Receiver
    installs: dict[str, subprocess.CompletedProcess] = field(default_factory=dict)


def _start(cmd: list[str], env: dict[str, str], cwd: Path, stderr: int) -> subprocess.Popen:
    """Start ``cmd`` in its own process group (stopped with the group), output captured."""
    return subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        start_new_session=True,
    )


def _run(cmd: list[str], env: dict[str, str], cwd: Path, timeout: float = BLOCK_TIMEOUT):
    proc = _start(cmd, env, cwd, subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_process_group(proc)
        out, err = proc.communicate()
        pytest.fail(f"{cmd} did not finish within {timeout:.0f}s:\n{out}\n{err}")
    finally:
        stop_process_group(proc)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _output(result: subprocess.CompletedProcess) -> str:
    return (
        f"exit status {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )


@pytest.fixture(scope="session")
def docs_session(
    tmp_path_factory: pytest.TempPathFactory, fake_llm: FakeLLM
) -> Iterator[DocsSession]:
    workdir = tmp_path_factory.mktemp("docs")
    wheels = workdir / "wheels"
    built = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(wheels),
            str(ROOT),
        ],
        child_env(),
        workdir,
        timeout=300,
    )
    assert built.returncode == 0, _output(built)
    venv = workdir / "venv"
    created = _run([sys.executable, "-m", "venv", str(venv)], child_env(), workdir)
    assert created.returncode == 0, _output(created)
    receiver = Receiver()
    env = child_env(
        PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        PIP_FIND_LINKS=" ".join(filter(None, [str(wheels), os.environ.get("PIP_FIND_LINKS")])),
        PIP_CONSTRAINT=str(ROOT / "constraints.txt"),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        OPENAI_API_KEY="sk-docs-test",
        OPENAI_BASE_URL=fake_llm.base_url,
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
    )
    session = DocsSession(workdir, venv, env, receiver)
    try:
        # The reader's application already has litellm; the docs install this project.
        app = _run(["pip", "install", "--quiet", "litellm"], env, workdir, timeout=600)
        assert app.returncode == 0, _output(app)
        for param in BLOCKS:
            _page, block = param.values
            if _skipped(param):
                continue
            if _is_install(block):
                key = param.id
                session.installs[key] = _run(
                    [*SHELLS[block.syntax], block.code], env, workdir, timeout=600
                )
            elif name := _file_name(block):
                (workdir / name).write_text(block.code)
        yield session
    finally:
        receiver.close()


# --- the blocks --------------------------------------------------------------------------------


def _wait_for_spans(
    names: tuple[str, ...],
    session: DocsSession,
    started: float,
    first_request: int,
    mlflow_url: str | None,
) -> None:
    wanted = set(names)
    deadline = time.monotonic() + 20
    while True:
        traces = traces_received(session.receiver, first_request)
        if mlflow_url:
            traces += _mlflow_traces_since(mlflow_url, started)
        if any(wanted <= trace for trace in traces):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"no trace with spans {sorted(wanted)} arrived; traces seen: {traces}")
        time.sleep(0.5)


def _mlflow_traces_since(url: str, started: float) -> list[set[str]]:
    import mlflow

    mlflow.set_tracking_uri(url)
    experiments = [e.experiment_id for e in mlflow.search_experiments()]
    traces = mlflow.search_traces(
        locations=experiments,
        filter_string=f"trace.timestamp_ms >= {int(started * 1000) - 1000}",
        return_type="list",
    )
    return [{span.name for span in trace.data.spans} for trace in traces]


@pytest.mark.parametrize(("page", "block"), BLOCKS)
def test_block_runs_as_written(
    page: Path, block: CodeBlock, request: pytest.FixtureRequest
) -> None:
    if block.code.strip() == DEMO:
        return run_demo(block)
    session: DocsSession = request.getfixturevalue("docs_session")
    if _is_install(block):
        result = session.installs[request.node.callspec.id]
        assert result.returncode == 0, _output(result)
        return
    env = dict(session.env)
    mlflow_url = None
    if "mlflow" in block.code.lower():
        server: MLflowServer = request.getfixturevalue("mlflow_server")
        mlflow_url = env["MLFLOW_TRACKING_URI"] = server.url
        # A reader of the MLflow page has no OTLP endpoint set: with one, MLflow would send
        # its own @mlflow.trace spans there instead of to the tracking server.
        del env["OTEL_EXPORTER_OTLP_ENDPOINT"]
    cwd = ROOT if "scripts/" in block.code else session.workdir
    if block.syntax == "python":
        script = _file_name(block) or f"block_{page.stem}_{block.lineno}.py"
        (session.workdir / script).write_text(block.code)
        cmd = [str(session.venv / "bin" / "python"), script]
    else:
        cmd = [*SHELLS[block.syntax], block.code]
    started, first_request = time.time(), len(session.receiver.requests)
    result = _run(cmd, env, cwd)
    assert result.returncode == 0, _output(result)
    assert "Traceback" not in result.stderr, _output(result)
    if marker := request.node.get_closest_marker("spans"):
        _wait_for_spans(marker.args, session, started, first_request, mlflow_url)


def run_demo(block: CodeBlock) -> None:
    """The README's first command: it starts MLflow, traces the demo app into it, and keeps
    the server running until Ctrl-C."""
    import mlflow

    data_dir = ROOT / "mlflow-demo-data"
    ours = not data_dir.exists()
    env = child_env(VENV=sys.prefix)  # the venv this suite runs in (scripts/dev.sh reads VENV)
    proc = _start([*SHELLS["bash"], block.code], env, ROOT, subprocess.STDOUT)
    lines: list[str] = []
    waiting = threading.Event()  # the server keeps running, or the demo is over

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "keeps running" in line:
                waiting.set()
        waiting.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert waiting.wait(BLOCK_TIMEOUT), "".join(lines)
        output = "".join(lines)
        url = re.search(r"MLflow UI:\s+(http://127\.0\.0\.1:\d+)/", output)
        trace_id = re.search(r"Trace:\s+(tr-[0-9a-f]{32})", output)
        assert url and trace_id, output
        mlflow.set_tracking_uri(url.group(1))
        trace = mlflow.get_trace(trace_id.group(1))
        names = [span.name for span in trace.data.spans]
        assert names.count("chat gpt-4o-mini") == 5 and "weather-assistant" in names, names
        if "keeps running" in output:  # it started the server: Ctrl-C stops both
            os.killpg(proc.pid, signal.SIGINT)
            assert proc.wait(60) == 0, "".join(lines)
            reader.join(5)
            assert "Stopping the MLflow server" in "".join(lines)
        else:  # an MLflow server already answered on the port: the demo used it and is done
            assert proc.wait(60) == 0, output
    finally:
        stop_process_group(proc)
        if ours and data_dir.exists():
            shutil.rmtree(data_dir, ignore_errors=True)


def test_every_page_is_collected_and_skips_say_why() -> None:
    pages = {param.values[0] for param in BLOCKS}
    assert ROOT / "README.md" in pages
    for param in BLOCKS:
        for mark in param.marks:
            if mark.name == "skip":
                reason = mark.kwargs["reason"].removeprefix(f"{param.id}: ")
                assert reason.strip(), f"{param.id}: a skip needs a reason"
