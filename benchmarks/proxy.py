"""What tracing costs the LiteLLM Proxy: CPU per request, one client's latency, throughput.

    python benchmarks/proxy.py [--requests 400] [--rounds 5] [--clients 8]
    python benchmarks/proxy.py --variant name=ENV=VALUE[,ENV=VALUE...]  (repeatable)
    python benchmarks/proxy.py --instructions 100 [--variant ...]

Starts real proxies side by side (``litellm --config``, one worker each, a model that
answers with ``mock_response``, so the upstream costs nothing): one untraced, one traced
from its config.yaml (``litellm_settings.callbacks``) exporting OTLP/HTTP protobuf to a
local receiver, and one per ``--variant`` (the traced one with extra environment, e.g.
``--variant no-fastapi=OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=fastapi`` to see what the
HTTP server spans cost). Rounds interleave the proxies so each sees the same machine.

Per round and proxy:
- CPU per request: the CPU time (user + system, /proc) of every process of the proxy's
  process group across ``--requests`` requests from ``--clients`` concurrent clients,
  including the span export that follows (the reading is taken once the batch
  processor's default 5 s delay has passed and its export is over). Reported as the
  median over rounds; on a quiet machine it repeats within a few percent, unlike
  throughput, but CPU time grows when other processes compete for the cores;
- throughput of those requests (requests/s, for information: +-15% between runs);
- one client's latency: median of ``--requests // 4`` sequential requests on one
  keep-alive connection.

``--instructions N`` instead counts instructions per request with valgrind's callgrind, one
proxy after the other: each starts under callgrind with instrumentation off (start-up takes
minutes), gets 20 warm-up requests, then instrumentation is switched on
(``callgrind_control``) for N sequential requests and the export that follows (the batch
delay is 5 s). Repeatable to about 1% (PYTHONHASHSEED=0), unlike CPU time on shared cores.
Requests are slow under valgrind, so each 5 s batch holds fewer spans than under load: the
export's per-request share reads higher than at real request rates.

Linux only (/proc). Run it on a quiet machine; it does not need the test suite's servers.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from otlp_receiver import OTLPReceiver
from proxy_fixtures import (
    MASTER_KEY,
    ProxyServer,
    proxy_config,
    proxy_env,
    start_proxy,
)

BODY = json.dumps(
    {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello"}]}
).encode()
HEADERS = {"Authorization": f"Bearer {MASTER_KEY}", "Content-Type": "application/json"}
TICKS = os.sysconf("SC_CLK_TCK")
EXPORT_SETTLE = 5.6
"""Seconds to wait after the last request: the batch delay (5 s by default) and the export."""


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU of every live process in process group ``pgid``."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid:  # fields[0] is field 3 (state); pgrp is field 5
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / TICKS


class Client:
    """One keep-alive connection to a proxy."""

    def __init__(self, proxy: ProxyServer) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=30)

    def chat(self) -> float:
        """One chat request; its latency in seconds."""
        start = time.perf_counter()
        self.connection.request("POST", "/chat/completions", BODY, HEADERS)
        answer = self.connection.getresponse()
        body = answer.read()
        elapsed = time.perf_counter() - start
        if answer.status != 200:
            raise RuntimeError(f"{answer.status}: {body[:300]!r}")
        return elapsed

    def close(self) -> None:
        self.connection.close()


def load(proxy: ProxyServer, requests: int, clients: int) -> tuple[float, float]:
    """``requests`` from ``clients`` concurrent keep-alive clients: (CPU s per request,
    requests per s)."""
    per_client = requests // clients
    pool = [Client(proxy) for _ in range(clients)]
    try:
        before = group_cpu_seconds(proxy.process.pid)
        start = time.perf_counter()
        with ThreadPoolExecutor(clients) as executor:
            list(executor.map(lambda c: [c.chat() for _ in range(per_client)], pool))
        elapsed = time.perf_counter() - start
        time.sleep(EXPORT_SETTLE)
        cpu = group_cpu_seconds(proxy.process.pid) - before
    finally:
        for client in pool:
            client.close()
    done = per_client * clients
    return cpu / done, done / elapsed


def latency(proxy: ProxyServer, requests: int) -> float:
    """One client's median latency in seconds over ``requests`` sequential requests."""
    client = Client(proxy)
    try:
        return statistics.median(client.chat() for _ in range(requests))
    finally:
        client.close()


def instructions(
    proxy_dir: Path, config: dict[str, object], env: dict[str, str], requests: int
) -> float:
    """Instructions per request of a proxy run under callgrind (see the module's doc)."""
    out = proxy_dir / "callgrind.out"
    launcher = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}.%p",
        sys.executable,
    ]
    proxy = start_proxy(
        proxy_dir, config, env | {"PYTHONHASHSEED": "0"}, launcher=launcher, timeout=900
    )
    pid = str(proxy.process.pid)
    try:
        warm = Client(proxy)
        for _ in range(20):
            warm.chat()
        warm.close()
        time.sleep(EXPORT_SETTLE)
        client = Client(proxy)  # uvicorn closed the idle connection after 5 s
        for command in ("-i", "on"), ("-z",):
            subprocess.run(["callgrind_control", *command, pid], check=True, capture_output=True)
        for _ in range(requests):
            client.chat()
        client.close()
        time.sleep(EXPORT_SETTLE + 1)  # valgrind is slow
        subprocess.run(["callgrind_control", "-d", pid], check=True, capture_output=True)
    finally:
        proxy.stop()
    dump = Path(f"{out}.{pid}.1").read_text(errors="replace")
    total = re.search(r"^(?:summary|totals): (\d+)", dump, re.MULTILINE)
    assert total, f"no total in {out}.{pid}.1"
    return int(total.group(1)) / requests


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
    name, _, settings = text.partition("=")
    env = dict(pair.split("=", 1) for pair in settings.split(",") if pair)
    return name, env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--variant", action="append", default=[], type=parse_variant)
    parser.add_argument("--instructions", type=int, metavar="N", default=0)
    args = parser.parse_args()

    receiver = OTLPReceiver().start()
    traced_env = receiver.exporter_env()
    setups = [("untraced", False, {}), ("traced", True, {})]
    setups += [(name, True, env) for name, env in args.variant]
    if args.instructions:
        counts = {}
        with tempfile.TemporaryDirectory() as directory:
            try:
                for name, traced, extra in setups:
                    config = proxy_config("http://127.0.0.1:9", callback=traced, custom_auth=False)
                    env = proxy_env(**(traced_env | extra if traced else {}))
                    counts[name] = instructions(
                        Path(directory, name), config, env, args.instructions
                    )
                    print(f"{name:<14}{counts[name] / 1e6:>8.2f} M instructions/request", end="")
                    print(f"{counts[name] / counts['untraced']:>8.3f}", flush=True)
            finally:
                receiver.stop()
        return

    proxies: dict[str, ProxyServer] = {}
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as directory:
        try:
            for name, traced, extra in setups:
                config = proxy_config("http://127.0.0.1:9", callback=traced, custom_auth=False)
                env = proxy_env(**(traced_env | extra if traced else {}))
                proxies[name] = start_proxy(Path(directory, name), config, env)
                results[name] = {"cpu": [], "rps": [], "latency": []}
                load(proxies[name], 100, args.clients)  # warm up: imports, caches, pools
            for _round in range(args.rounds):
                for name, proxy in proxies.items():
                    cpu, rps = load(proxy, args.requests, args.clients)
                    results[name]["cpu"].append(cpu)
                    results[name]["rps"].append(rps)
                    results[name]["latency"].append(latency(proxy, args.requests // 4))
        finally:
            for proxy in proxies.values():
                proxy.stop()
            receiver.stop()

    base = {key: statistics.median(values) for key, values in results["untraced"].items()}
    print(
        f"{args.requests} requests x {args.rounds} rounds, {args.clients} clients, "
        f"spans received: {len(receiver.spans)}"
    )
    print(f"{'proxy':<14}{'CPU ms/req':>11}{'ratio':>8}{'p50 ms':>9}{'added':>8}{'req/s':>8}")
    for name, values in results.items():
        cpu = statistics.median(values["cpu"])
        p50 = statistics.median(values["latency"])
        rps = statistics.median(values["rps"])
        print(
            f"{name:<14}{cpu * 1e3:>11.2f}{cpu / base['cpu']:>8.3f}{p50 * 1e3:>9.2f}"
            f"{(p50 - base['latency']) * 1e3:>+8.2f}{rps:>8.0f}"
        )
        print(f"{'':<14}CPU ms/req per round: {[round(v * 1e3, 2) for v in values['cpu']]}")


if __name__ == "__main__":
    main()
