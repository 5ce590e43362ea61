"""The instrumentation's cost, counted in instructions (valgrind's callgrind): per litellm call,
per LiteLLM Proxy request and per stream chunk.

Runs ``benchmarks/instructions.py``'s uninstrumented and traces configurations (each in
its own process, in parallel) with a small number of calls and fails when the traces
configuration adds more than its goal plus one point; likewise an untraced and a traced proxy
(``benchmarks/proxy.py``'s instruction count) and a 1,000-chunk stream. Instruction counts
repeat to within about a percent from run to run, unlike CPU time on a shared machine.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "instructions.py"
TRACES_GOAL = 0.12
"""Instructions added by the traces configuration (SDK TracerProvider, content off).

Issue 14 asks for +4.5%; util-genai alone sets a floor above it (one inference with the
same facts: 0.53 M instructions, 9.1% of a call; see docs/performance.md), so this guards
the level reached on top of that floor until util-genai gets cheaper: +11.6% and +11.7%
measured (10 calls) with every feature merged, after the hot-path work of issue 14."""
MARGIN = 0.01

pytestmark = pytest.mark.skipif(
    shutil.which("valgrind") is None, reason="valgrind is not installed (apt-get install valgrind)"
)


def _benchmark():
    spec = importlib.util.spec_from_file_location("instructions_benchmark", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_traces_overhead_within_goal() -> None:
    per_call = _benchmark().measure(["uninstrumented", "traces"], calls=15, warmup=5, jobs=2)
    overhead = per_call["traces"] / per_call["uninstrumented"] - 1
    assert overhead <= TRACES_GOAL + MARGIN, (
        f"traces add {overhead:.1%} instructions per call (goal {TRACES_GOAL:.1%}): "
        f"{per_call['uninstrumented']:.0f} -> {per_call['traces']:.0f}"
    )


PROXY_GOAL = 1.13
"""Instructions of a traced LiteLLM Proxy request over an untraced one (server span, ``chat``
span, phase timings; full export batches). Issue 22 asks for 1.10; 1.128 measured (100
requests) once the server span was named from the matched route, the rest being the SDK's
export and util-genai (docs/performance.md)."""
PROXY_REQUESTS = 30
CHUNK_GOAL = 60_000
"""Instructions added per chunk of a 1,000-chunk stream (util-genai's per-chunk context switch
and timing, and our chunk reading): 45.3 k and 50.8 k measured (one stream after one warm-up):
litellm's own threads run in the window, so a count spreads by several thousand per chunk.
Over 10 streams after 3 (``instructions.py``): 64.9 k before issue 22's context switch, 58.8 k
after it; not tightened, the count also moves with the memory layout (docs/performance.md)."""


def _proxy_benchmark():
    spec = importlib.util.spec_from_file_location("proxy_benchmark", BENCHMARK.parent / "proxy.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_proxy_request_within_goal(tmp_path: Path) -> None:
    """An untraced and a traced proxy under callgrind side by side, ``PROXY_REQUESTS``
    requests each after a warm-up, the traced one exporting all of them in one batch."""
    from concurrent.futures import ThreadPoolExecutor

    bench = _proxy_benchmark()
    receiver = bench.OTLPReceiver().start()
    full_batches = {
        "OTEL_BSP_SCHEDULE_DELAY": "3600000",
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": str(2 * PROXY_REQUESTS),
    }

    def run(traced: bool) -> float:
        config = bench.proxy_config("http://127.0.0.1:9", callback=traced, custom_auth=False)
        env = bench.proxy_env(**(receiver.exporter_env() | full_batches if traced else {}))
        name = "traced" if traced else "untraced"
        return bench.instructions(tmp_path / name, config, env, PROXY_REQUESTS)[0]

    try:
        with ThreadPoolExecutor(2) as pool:
            untraced, traced = pool.map(run, (False, True))
    finally:
        receiver.stop()
    ratio = traced / untraced
    assert ratio <= PROXY_GOAL + MARGIN, (
        f"a traced proxy request costs {ratio:.3f}x an untraced one (goal {PROXY_GOAL}): "
        f"{untraced / 1e6:.2f} M -> {traced / 1e6:.2f} M instructions"
    )


def test_stream_chunk_within_goal() -> None:
    per_call = _benchmark().measure(
        ["long stream: uninstrumented", "long stream"], calls=2, warmup=1, jobs=2
    )
    chunks = _benchmark().LONG_CHUNKS
    added = (per_call["long stream"] - per_call["long stream: uninstrumented"]) / chunks
    assert added <= CHUNK_GOAL, f"a stream chunk adds {added:,.0f} instructions"
