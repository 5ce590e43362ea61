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
- and, after the rounds, one client's latency: ``--latency`` requests to each proxy in
  turn (request i goes to every proxy, in an order that rotates with i), each on its own
  keep-alive connection, so every proxy sees the same moments of the machine. Reported
  per proxy: the median and its 95% confidence interval, and the median of the paired
  differences to the untraced proxy (request i against request i) with its interval:
  the figure to compare, far steadier than two medians taken minutes apart.

Every proxy also counts its garbage collections (a ``sitecustomize`` on its PYTHONPATH
registers a ``gc.callbacks`` entry and writes the counts per generation, and the seconds
spent, when sent SIGUSR2): reported per request, per generation. The same file makes
``BENCH_NO_ROUTER_SPAN=1`` (a ``--variant`` setting) leave the Router unwrapped: what the
``router {group}`` span costs.

``--instructions N`` instead counts instructions per request with valgrind's callgrind, one
proxy after the other: each starts under callgrind with instrumentation off (start-up takes
minutes), gets 20 warm-up requests, then instrumentation is switched on
(``callgrind_control``) for N sequential requests and the export that follows (the batch
delay is 5 s). Repeatable to about 1% (PYTHONHASHSEED=0), unlike CPU time on shared cores.
``--callgrind-dir DIR`` keeps each proxy's dump there (``DIR/<name>.out``), for
``callgrind_annotate``.
Requests are slow under valgrind, so each 5 s batch holds fewer spans than under load: the
export's per-request share reads higher than at real request rates.

Linux only (/proc). Run it on a quiet machine; it does not need the test suite's servers.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
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

GC_PROBE = textwrap.dedent(
    """
    # benchmarks/proxy.py: count this process's garbage collections; SIGUSR2 writes them
    import gc, json, os, signal, time

    _counts, _seconds, _started = [0, 0, 0], [0.0, 0.0, 0.0], [0.0]

    def _timed(phase, info):
        if phase == "start":
            _started[0] = time.perf_counter()
        else:
            _counts[info["generation"]] += 1
            _seconds[info["generation"]] += time.perf_counter() - _started[0]

    def _write(signum, frame):
        path = os.environ["BENCH_GC_FILE"]
        with open(path + ".tmp", "w") as out:
            json.dump({"counts": _counts, "seconds": _seconds}, out)
        os.replace(path + ".tmp", path)

    gc.callbacks.append(_timed)
    signal.signal(signal.SIGUSR2, _write)

    if os.environ.get("BENCH_NO_ROUTER_SPAN"):  # a variant: no router span
        from opentelemetry_instrumentation_litellm import _router

        _router.ROUTER_METHODS = ()
    """
)


def gc_reading(proxy: ProxyServer, path: Path) -> dict[str, list[float]]:
    """The proxy's garbage collections so far (counts and seconds per generation)."""
    path.unlink(missing_ok=True)
    os.kill(proxy.process.pid, signal.SIGUSR2)
    deadline = time.monotonic() + 60
    while not path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"no GC counts from {proxy.process.pid}")
        time.sleep(0.05)
    return json.loads(path.read_text())


def gc_delta(before: dict[str, list[float]], after: dict[str, list[float]], requests: int) -> str:
    counts = [(a - b) / requests for a, b in zip(after["counts"], before["counts"], strict=True)]
    seconds = sum(after["seconds"]) - sum(before["seconds"])
    per = " ".join(f"gen{g} {c:.3f}" for g, c in enumerate(counts))
    return f"GC per request: {per}; {seconds / requests * 1e6:.0f} us"


def with_probe(directory: Path, env: dict[str, str]) -> dict[str, str]:
    """``env`` with the GC probe on PYTHONPATH and its output file in ``directory``."""
    probe = directory / "probe"
    probe.mkdir(parents=True, exist_ok=True)
    (probe / "sitecustomize.py").write_text(GC_PROBE)
    path = os.pathsep.join(p for p in (str(probe), env.get("PYTHONPATH", "")) if p)
    return env | {"PYTHONPATH": path, "BENCH_GC_FILE": str(directory / "gc.json")}


def median_interval(values: list[float]) -> tuple[float, float, float]:
    """The median and a distribution-free 95% confidence interval of it (order statistics)."""
    ordered = sorted(values)
    n = len(ordered)
    k = max(math.floor(n / 2 - 1.96 * math.sqrt(n) / 2), 0)
    return statistics.median(ordered), ordered[k], ordered[min(n - 1 - k, n - 1)]


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


def latencies(proxies: dict[str, ProxyServer], requests: int) -> dict[str, list[float]]:
    """One client's latencies: request i to every proxy, in an order rotating with i."""
    names = list(proxies)
    clients = {name: Client(proxy) for name, proxy in proxies.items()}
    samples: dict[str, list[float]] = {name: [] for name in names}
    try:
        for i in range(requests):
            for j in range(len(names)):
                name = names[(i + j) % len(names)]
                samples[name].append(clients[name].chat())
    finally:
        for client in clients.values():
            client.close()
    return samples


def instructions(
    proxy_dir: Path,
    config: dict[str, object],
    env: dict[str, str],
    requests: int,
    client_type: type[Client] = Client,
) -> tuple[float, str, Path]:
    """Instructions per request of a proxy run under callgrind (see the module's doc), its
    garbage collections, and the dump. ``client_type(proxy).chat()`` makes one request."""
    out = proxy_dir / "callgrind.out"
    env = with_probe(proxy_dir, env)
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
        warm = client_type(proxy)
        for _ in range(20):
            warm.chat()
        warm.close()
        time.sleep(EXPORT_SETTLE)
        client = client_type(proxy)  # uvicorn closed the idle connection after 5 s
        gc_before = gc_reading(proxy, proxy_dir / "gc.json")
        for command in ("-i", "on"), ("-z",):
            subprocess.run(["callgrind_control", *command, pid], check=True, capture_output=True)
        for _ in range(requests):
            client.chat()
        client.close()
        time.sleep(EXPORT_SETTLE + 1)  # valgrind is slow
        subprocess.run(["callgrind_control", "-d", pid], check=True, capture_output=True)
        gc_after = gc_reading(proxy, proxy_dir / "gc.json")
    finally:
        proxy.stop()
    path = Path(f"{out}.{pid}.1")
    total = re.search(r"^(?:summary|totals): (\d+)", path.read_text(errors="replace"), re.M)
    assert total, f"no total in {path}"
    return int(total.group(1)) / requests, gc_delta(gc_before, gc_after, requests), path


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
    parser.add_argument("--latency", type=int, default=400, help="requests per proxy")
    parser.add_argument("--instructions", type=int, metavar="N", default=0)
    parser.add_argument("--callgrind-dir", type=Path, help="keep the callgrind dumps here")
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
                    counts[name], collections, dump = instructions(
                        Path(directory, name), config, env, args.instructions
                    )
                    print(f"{name:<14}{counts[name] / 1e6:>8.2f} M instructions/request", end="")
                    print(f"{counts[name] / counts['untraced']:>8.3f}   {collections}", flush=True)
                    if args.callgrind_dir:
                        args.callgrind_dir.mkdir(parents=True, exist_ok=True)
                        shutil.copy(dump, args.callgrind_dir / f"{name}.out")
            finally:
                receiver.stop()
        return

    proxies: dict[str, ProxyServer] = {}
    results: dict[str, dict[str, list[float]]] = {}
    collections: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as directory:
        try:
            for name, traced, extra in setups:
                config = proxy_config("http://127.0.0.1:9", callback=traced, custom_auth=False)
                env = with_probe(
                    Path(directory, name), proxy_env(**(traced_env | extra if traced else {}))
                )
                proxies[name] = start_proxy(Path(directory, name), config, env)
                results[name] = {"cpu": [], "rps": []}
                load(proxies[name], 100, args.clients)  # warm up: imports, caches, pools
            gc_before = {
                n: gc_reading(p, Path(directory, n, "gc.json")) for n, p in proxies.items()
            }
            for _round in range(args.rounds):
                for name, proxy in proxies.items():
                    cpu, rps = load(proxy, args.requests, args.clients)
                    results[name]["cpu"].append(cpu)
                    results[name]["rps"].append(rps)
            for name, proxy in proxies.items():
                after = gc_reading(proxy, Path(directory, name, "gc.json"))
                done = args.rounds * (args.requests // args.clients) * args.clients
                collections[name] = gc_delta(gc_before[name], after, done)
            samples = latencies(proxies, args.latency)
        finally:
            for proxy in proxies.values():
                proxy.stop()
            receiver.stop()

    base = statistics.median(results["untraced"]["cpu"])
    print(
        f"{args.requests} requests x {args.rounds} rounds, {args.clients} clients, "
        f"{args.latency} latency samples per proxy, spans received: {len(receiver.spans)}"
    )
    print(f"{'proxy':<14}{'CPU ms/req':>11}{'ratio':>8}{'req/s':>8}")
    for name, values in results.items():
        cpu = statistics.median(values["cpu"])
        rps = statistics.median(values["rps"])
        print(f"{name:<14}{cpu * 1e3:>11.2f}{cpu / base:>8.3f}{rps:>8.0f}")
        print(f"{'':<14}CPU ms/req per round: {[round(v * 1e3, 2) for v in values['cpu']]}")
        print(f"{'':<14}{collections[name]}")
    print(
        "one client's latency, ms: median [95% interval], 90th percentile; "
        "added: median of the paired differences [95% interval]"
    )
    for name, values in samples.items():
        p50, low, high = median_interval([v * 1e3 for v in values])
        p90 = statistics.quantiles(values, n=10)[-1] * 1e3
        line = f"{name:<14}{p50:>7.2f} [{low:.2f}, {high:.2f}]  p90 {p90:.2f}"
        if name != "untraced":
            pairs = zip(values, samples["untraced"], strict=True)
            added, low, high = median_interval([(v - u) * 1e3 for v, u in pairs])
            line += f"   added {added:+.2f} [{low:+.2f}, {high:+.2f}]"
        print(line)


if __name__ == "__main__":
    main()
