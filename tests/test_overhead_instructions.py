"""The instrumentation's cost per litellm call, counted in instructions (valgrind's callgrind).

Runs ``benchmarks/instructions.py``'s uninstrumented and traces configurations (each in
its own process, in parallel) with a small number of calls and fails when the traces
configuration adds more than its goal plus one point. Instruction counts repeat to within
a fraction of a percent from run to run, unlike CPU time on a shared machine.
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
