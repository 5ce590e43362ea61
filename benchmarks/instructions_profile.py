"""Where the instructions of one instrumented litellm call go, part by part (callgrind).

    python benchmarks/instructions_profile.py [--config traces] [--calls 10] [--warmup 3]

Runs one configuration of ``instructions.py`` under callgrind, the same window, and
prints the inclusive instructions per call of each part of the hot path (ours, util-genai's,
the SDK's), read with ``callgrind_annotate --inclusive=yes``.

callgrind sees C functions only, not Python ones. So each part is called through a C
function of its own that nothing else on the path calls (``operator.call``,
``sys.call_tracing``, a ``map`` iterator, ...): that C function's inclusive count is the
part's count. Parts nest (``invocation.stop()`` includes the span's ``end()``); each line
says what it includes. The run checks that no marker function is called outside its
part (the uninstrumented configuration must count none of them).
"""

from __future__ import annotations

import argparse
import bisect
import functools
import itertools
import json
import operator
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import instructions  # the benchmark next to this file

_Call = Callable[..., Any]


def _via_operator_call(f: _Call) -> _Call:
    return lambda *a, **k: operator.call(f, *a, **k)


def _via_call_tracing(f: _Call) -> _Call:
    return lambda *a, **k: sys.call_tracing(lambda: f(*a, **k), ())


def _via_calliter(f: _Call) -> _Call:
    return lambda *a, **k: next(iter(lambda: (f(*a, **k),), None))[0]


def _via_map(f: _Call) -> _Call:
    return lambda *a, **k: next(map(lambda _: f(*a, **k), (None,)))


def _via_starmap(f: _Call) -> _Call:
    return lambda *a, **k: next(itertools.starmap(lambda: f(*a, **k), ((),)))


def _via_methodcaller(f: _Call) -> _Call:
    return lambda *a, **k: operator.methodcaller("__call__", *a, **k)(f)


def _via_defaultdict(f: _Call) -> _Call:
    return lambda *a, **k: defaultdict(lambda: f(*a, **k))[None]


def _via_accumulate(f: _Call) -> _Call:
    def call(*a: Any, **k: Any) -> Any:
        it = itertools.accumulate((None, None), lambda _x, _y: (f(*a, **k),))
        next(it)
        return next(it)[0]

    return call


def _via_iterator(
    make: Callable[[Callable[[Any], Any], Any], Any], truth: bool
) -> Callable[[_Call], _Call]:
    """Call ``f`` as the predicate or key of the iterator ``make(predicate, (None,))``
    builds, the predicate answering ``truth`` so that the iterator yields."""

    def via(f: _Call) -> _Call:
        def call(*a: Any, **k: Any) -> Any:
            out = []

            def predicate(_: Any) -> bool:
                out.append(f(*a, **k))
                return truth

            next(make(predicate, (None,)))
            return out[0]

        return call

    return via


def _via_partial(f: _Call) -> _Call:
    return lambda *a, **k: functools.partial(f, *a, **k)()


def _via_cmp_to_key(f: _Call) -> _Call:
    def call(*a: Any, **k: Any) -> Any:
        out = []
        key = functools.cmp_to_key(lambda _x, _y: out.append(f(*a, **k)) or 0)
        _ = key(None) < key(None)
        return out[0]

    return call


def _via_bisect(f: _Call) -> _Call:
    def call(*a: Any, **k: Any) -> Any:
        out = []
        bisect.bisect_left((None,), 0, key=lambda _: out.append(f(*a, **k)) or 0)
        return out[0]

    return call


MARKERS: tuple[tuple[Callable[[_Call], _Call], str], ...] = (
    (_via_operator_call, "_operator_call"),
    (_via_call_tracing, "sys_call_tracing"),
    (_via_calliter, "calliter_iternext"),
    (_via_map, "map_next"),
    (_via_starmap, "starmap_next"),
    (_via_methodcaller, "methodcaller_call"),
    (_via_defaultdict, "defdict_missing"),
    (_via_accumulate, "accumulate_next"),
    (_via_iterator(itertools.filterfalse, False), "filterfalse_next"),
    (_via_iterator(itertools.dropwhile, False), "dropwhile_next"),
    (_via_iterator(itertools.takewhile, True), "takewhile_next"),
    (_via_iterator(lambda key, items: itertools.groupby(items, key), True), "groupby_next"),
    (_via_partial, "partial_vectorcall"),
    (_via_iterator(filter, True), "filter_next"),
    (_via_cmp_to_key, "keyobject_richcompare"),
    (_via_bisect, "_bisect_bisect_left"),
    # last: util-genai calls max() itself
    (_via_iterator(lambda key, items: iter((min(items, key=key),)), True), "min_max"),
)
"""A way to call a function through a C function of its own, and that C function's symbol."""


def _parts(config: instructions.Config) -> list[tuple[str, Any, str]]:
    """``(label, owner, attribute)`` of each part to count, for ``config``."""
    from opentelemetry.sdk.trace import Span, Tracer
    from opentelemetry.util.genai._inference_invocation import InferenceInvocation
    from opentelemetry.util.genai.handler import TelemetryHandler

    from opentelemetry_instrumentation_litellm import _operations, _request, patch
    from opentelemetry_instrumentation_litellm._call_extras import CallExtras
    from opentelemetry_instrumentation_litellm._cost_metric import CostMetric
    from opentelemetry_instrumentation_litellm._streams import (
        ChatStreamState,
        SyncTracedStream,
        _TracedStream,
    )

    parts = [
        ("util-genai handler.inference() (incl. SDK start_span)", TelemetryHandler, "inference"),
        ("  SDK Tracer.start_span()", Tracer, "start_span"),
        ("util-genai invocation.stop() (incl. SDK end, metrics)", InferenceInvocation, "stop"),
        ("  util-genai enrich_from_context()", InferenceInvocation, "enrich_from_context"),
        ("  util-genai _get_attributes()", InferenceInvocation, "_get_attributes"),
        ("  util-genai _record_client_metrics()", InferenceInvocation, "_record_client_metrics"),
        ("  SDK Span.end() (incl. processor, exporter)", Span, "end"),
        ("ours: call_arguments()", patch, "call_arguments"),
        ("ours: target()", _request, "target"),
        ("ours: session_id()", _request, "session_id"),
        ("ours: read_request (apply_chat_request)", _operations.CHAT, "read_request"),
        ("ours: read_response (apply_chat_response)", _operations.CHAT, "read_response"),
        ("ours: CallExtras.on_request (OpenInference)", CallExtras, "_add_openinference"),
        ("ours: CallExtras.on_response (incl. cost)", CallExtras, "_finish"),
        ("  ours: CostMetric.record()", CostMetric, "record"),
    ]
    if config.stream:  # the per-call parts measured by the traces row make room
        small = ("call_arguments", "session_id", "_add_openinference")
        parts = [part for part in parts if part[2] not in small]
        parts += [
            ("ours: stream chunk reading (state.add)", ChatStreamState, "add"),
            ("util-genai per chunk: _execution_context()", SyncTracedStream, "_execution_context"),
            ("util-genai per chunk: _on_stream_chunk()", InferenceInvocation, "_on_stream_chunk"),
            ("ours: stream end (_on_stream_end, incl. stop)", _TracedStream, "_on_stream_end"),
        ]
    return parts


def _install(parts: list[tuple[str, Any, str]]) -> dict[str, str]:
    """Route each part through its marker; return symbol -> label."""
    if len(parts) > len(MARKERS):
        raise SystemExit(f"{len(parts)} parts, {len(MARKERS)} markers")
    labels = {}
    for (label, owner, name), (via, symbol) in zip(parts, MARKERS, strict=False):
        original = getattr(owner, name)
        marked = functools.wraps(original)(via(original))
        if isinstance(owner, type) or not hasattr(owner, "__dataclass_fields__"):
            setattr(owner, name, marked)
        else:  # a frozen dataclass instance (an Operation)
            object.__setattr__(owner, name, marked)
        labels[symbol] = label
    return labels


def child(config: instructions.Config, calls: int, warmup: int) -> None:
    labels = _install(_parts(config)) if config.implementation != "none" else {}
    print(json.dumps(labels))
    instructions.child(config, calls, warmup)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="traces", choices=sorted(instructions.BY_NAME))
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--keep", help="keep callgrind's out file here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    config = instructions.BY_NAME[args.config]
    if args.child:
        child(config, args.calls, args.warmup)
        return
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.keep or Path(tmp) / "callgrind.out")
        command = [
            "valgrind",
            "--tool=callgrind",
            "--collect-atstart=no",
            "--toggle-collect=functools_reduce",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}",
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            "--config",
            args.config,
            "--calls",
            str(args.calls),
            "--warmup",
            str(args.warmup),
        ]
        env = {"PYTHONHASHSEED": instructions.HASH_SEED, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
        done = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"failed:\n{done.stdout}\n{done.stderr[-3000:]}")
        labels = json.loads(done.stdout.strip().splitlines()[0])
        annotate = subprocess.run(
            ["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(out)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    totals = re.search(r"^([\d,]+) \(100.0%\)\s+PROGRAM TOTALS", annotate, re.M)
    total = int(totals[1].replace(",", "")) if totals else 0
    found: dict[str, int] = {}
    for line in annotate.splitlines():
        m = re.match(r"^\s*([\d,]+) \([\s\d.]+%\)\s+\S*?:(\w+)\b", line)
        if m and m[2] in {s for _, s in MARKERS} and m[2] not in found:
            found[m[2]] = int(m[1].replace(",", ""))
    print(f"{args.config}: {total / args.calls:,.0f} instructions per call ({args.calls} calls)")
    for symbol, label in labels.items():
        print(f"  {found.get(symbol, 0) / args.calls:>10,.0f}  {label}")
    strays = {s: round(n / args.calls) for s, n in found.items() if s not in labels}
    if strays:
        print(f"  markers counted outside their parts (per call): {strays}")


if __name__ == "__main__":
    main()
