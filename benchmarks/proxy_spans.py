"""CPU the LiteLLM Proxy spends per request on its own spans (auth, hook phases, guardrails).

    python benchmarks/proxy_spans.py [--requests 200] [--rounds 5] [--phase-spans]

Starts two proxies (``litellm --config``, one worker each) from the same config.yaml: a
``mock_response`` chat model, a master key, a ``CustomGuardrail`` in pre_call + post_call
and another in during_call, and the config entry that traces the proxy, exporting over
OTLP/HTTP to a local sink that drops what it gets. One proxy is as shipped; the other's
config entry first turns the proxy spans off (``proxy._seams.enable`` made a no-op), so it
still has the server span and the litellm spans. The same requests go to each in
interleaved rounds; each proxy's CPU time is read from /proc (utime + stime of its process
group, exporting threads included). Reports CPU microseconds per request (median over
rounds) of each and the difference: what the three guardrail spans and the auth and phase
timing cost, or with ``--phase-spans`` (both proxies get
``OTEL_INSTRUMENTATION_LITELLM_PROXY_PHASE_SPANS=true``) the six spans (auth, pre_call,
post_call, three guardrails). Linux only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

KEY = "sk-bench-master"
TICKS = os.sysconf("SC_CLK_TCK")

GUARDRAIL = textwrap.dedent(
    """
    from litellm.integrations.custom_guardrail import CustomGuardrail

    class WordGuardrail(CustomGuardrail):
        async def apply_guardrail(self, inputs, request_data, input_type, logging_obj=None):
            texts = inputs.get("texts") or []
            if any("darn" in text for text in texts):
                inputs["texts"] = [text.replace("darn", "d**n") for text in texts]
            return inputs
    """
)

WITHOUT_SPANS = textwrap.dedent(
    """
    from opentelemetry_instrumentation_litellm.proxy import _seams

    _seams.enable = lambda *args, **kwargs: None  # the baseline: no proxy spans

    from opentelemetry_instrumentation_litellm.proxy import otel  # noqa: E402
    """
)

GUARDRAIL_SPANS_ONLY = textwrap.dedent(
    """
    from opentelemetry_instrumentation_litellm.proxy import _seams

    _seams.WRAPPERS = tuple(  # the baseline: guardrail spans, no auth or phase spans
        w for w in _seams.WRAPPERS if "guardrail" in w[2]
    )

    from opentelemetry_instrumentation_litellm.proxy import otel  # noqa: E402
    """
)


OURS = "opentelemetry_instrumentation_litellm.proxy.otel"
BASELINES = {
    "none": "without_spans.otel",
    "guardrails": "guardrail_spans_only.otel",
    "same": OURS,
}


def config(callback: str) -> dict:
    guardrail = "word_guardrail.WordGuardrail"
    return {
        "model_list": [
            {
                "model_name": "gpt-4o-mini",
                "litellm_params": {
                    "model": "openai/gpt-4o-mini",
                    "api_key": "sk-fake",
                    "mock_response": "Hello from the proxy",
                },
            }
        ],
        "litellm_settings": {"callbacks": [callback]},
        "general_settings": {"master_key": KEY},
        "guardrails": [
            {
                "guardrail_name": "filter",
                "litellm_params": {
                    "guardrail": guardrail,
                    "mode": ["pre_call", "post_call"],
                    "default_on": True,
                },
            },
            {
                "guardrail_name": "watch",
                "litellm_params": {
                    "guardrail": guardrail,
                    "mode": "during_call",
                    "default_on": True,
                },
            },
        ],
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class Proxy:
    def __init__(
        self, directory: Path, callback: str, sink_port: int, extra: dict[str, str]
    ) -> None:
        directory.mkdir()
        (directory / "word_guardrail.py").write_text(GUARDRAIL)
        (directory / "without_spans.py").write_text(WITHOUT_SPANS)
        (directory / "guardrail_spans_only.py").write_text(GUARDRAIL_SPANS_ONLY)
        (directory / "config.yaml").write_text(yaml.safe_dump(config(callback)))
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LITELLM_"))}
        env.update(
            LITELLM_LOCAL_MODEL_COST_MAP="True",
            OTEL_TRACES_EXPORTER="otlp",
            OTEL_EXPORTER_OTLP_TRACES_PROTOCOL="http/protobuf",
            OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"http://127.0.0.1:{sink_port}/v1/traces",
            PYTHONPATH=str(directory),
            **extra,
        )
        litellm = Path(sys.executable).parent / "litellm"
        command = [str(litellm), "--config", "config.yaml", "--host", "127.0.0.1"]
        self.log = (directory / "proxy.log").open("wb")
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port)],
            cwd=directory,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health/liveliness", timeout=2)
                return
            time.sleep(0.5)
        raise RuntimeError(f"proxy on port {self.port} not ready")

    def request(self) -> None:
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "darn, hello"}]}
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/chat/completions",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            answer.read()

    def cpu_seconds(self) -> float:
        """utime + stime of every process in the proxy's process group."""
        total = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == self.process.pid:  # pgrp
                    total += int(fields[11]) + int(fields[12])
        return total / TICKS

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        self.log.close()


def measure(proxy: Proxy, requests: int) -> float:
    """CPU microseconds per request over ``requests`` sequential requests."""
    before = proxy.cpu_seconds()
    for _ in range(requests):
        proxy.request()
    time.sleep(0.5)  # the batch exporter's work for these requests
    return (proxy.cpu_seconds() - before) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--baseline",
        choices=("none", "guardrails", "same"),
        default="none",
        help="the other proxy: no proxy spans, the guardrail spans only (what the auth "
        "and phase spans cost), or the same as the first (the benchmark's own bias)",
    )
    parser.add_argument("--phase-spans", action="store_true", help="auth and phases as spans")
    options = parser.parse_args()
    switch = (
        {"OTEL_INSTRUMENTATION_LITELLM_PROXY_PHASE_SPANS": "true"} if options.phase_spans else {}
    )

    sink = ThreadingHTTPServer(("127.0.0.1", free_port()), Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        proxies = {
            "with proxy spans": Proxy(
                Path(tmp, "with"),
                OURS,
                sink.server_port,
                switch,
            ),
            "without": Proxy(
                Path(tmp, "without"),
                BASELINES[options.baseline],
                sink.server_port,
                switch,
            ),
        }
        try:
            for proxy in proxies.values():
                proxy.wait_ready()
            for proxy in proxies.values():  # warm up: imports, caches, first spans
                for _ in range(20):
                    proxy.request()
            results: dict[str, list[float]] = {name: [] for name in proxies}
            for _ in range(options.rounds):
                for name, proxy in proxies.items():
                    results[name].append(measure(proxy, options.requests))
        finally:
            for proxy in proxies.values():
                proxy.stop()
            sink.shutdown()
    medians = {name: statistics.median(values) for name, values in results.items()}
    for name, values in results.items():
        rounds = ", ".join(f"{v:.0f}" for v in values)
        print(f"{name:>17}: {medians[name]:7.0f} us CPU/request (rounds: {rounds})")
    added = medians["with proxy spans"] - medians["without"]
    print(f"{'added':>17}: {added:7.0f} us CPU/request ({added / medians['without']:+.1%})")


if __name__ == "__main__":
    main()
