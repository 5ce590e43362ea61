"""Instructions added per litellm call, counted by valgrind's callgrind, against the peers.

    python benchmarks/instructions.py [--calls 100] [--warmup 20] [--only NAME ...] [--no-peers]

Each configuration runs in its own process under
``valgrind --tool=callgrind --collect-atstart=no --toggle-collect=functools_reduce``:
instructions are counted only inside ``functools.reduce``, which calls the measured
loop once and which nothing else calls then (``sorted``, the older trick, is called
by litellm itself on every completion, and a nested call of the toggle function
switches collection off for its duration). ``PYTHONHASHSEED`` is fixed, warm-up
calls run outside the window, and after the window each run checks that its
configuration did what it claims (spans exported, content present or absent,
nothing recorded when sampled out, metrics recorded) and fails otherwise.

The workload is ``litellm.completion(..., mock_response=...)``: litellm's whole
pipeline, no network. The stream rows read a 210-character ``mock_response`` stream
to its end, per stream. The peers (OpenLLMetry's ``opentelemetry-instrumentation-litellm``
and OpenInference's ``openinference-instrumentation-litellm``) are installed with
``pip install --target`` into ``benchmarks/.peers/`` (not the project's dependencies)
and put at the end of ``sys.path`` of their runs only.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import functools
import mmap
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PEERS_DIR = Path(os.environ.get("BENCH_PEERS_DIR", HERE / ".peers"))
PEERS = {
    "openllmetry": (
        "opentelemetry-instrumentation-litellm==0.62.4",
        "opentelemetry-semantic-conventions-ai>=0.5.1,<0.6",
    ),
    "openinference": (
        "openinference-instrumentation-litellm==0.1.51",
        "openinference-instrumentation>=0.1.71",
        "openinference-semantic-conventions>=0.1.41",
    ),
}
MESSAGE = "What's the weather like in Paris today?"
"""The request's text: found in the span's attributes if and only if content is captured."""
STREAM_TEXT = ("lorem ipsum dolor sit amet " * 8)[:210]
"""71 chunks of litellm's mock stream."""
LONG_STREAM_TEXT = ("lorem ipsum dolor sit amet " * 120)[:2997]
"""1,000 chunks: what a chunk costs, the stream's start and end spread thin."""
LONG_CHUNKS = 1000
"""The chunks of ``LONG_STREAM_TEXT``'s mock stream."""
FAKE_OPENAI = HERE.parent / "tests" / "fake_openai_server.py"
"""The local fake OpenAI server of the tests: the HTTP rows' upstream, a separate process."""
HASH_SEED = "0"


@dataclass(frozen=True)
class Config:
    name: str
    group: str
    """Which table row: the configurations compared side by side."""
    implementation: str
    """``none``, ``ours``, ``openllmetry`` or ``openinference``."""
    traces: str = "sdk"
    """``sdk`` (TracerProvider, SimpleSpanProcessor, dropping exporter), ``sampled_out``,
    or ``api`` (no SDK provider at all)."""
    metrics: bool = False
    content: bool = False
    stream: bool = False
    long: bool = False
    """A 1,000-chunk stream instead of 71 chunks."""
    http: bool = False
    """A real HTTP round trip to the local fake OpenAI server instead of ``mock_response``."""

    @property
    def baseline(self) -> str:
        if self.long:
            return "long stream: uninstrumented"
        if self.stream:
            return "stream: uninstrumented"
        return "http: uninstrumented" if self.http else "uninstrumented"


CONFIGS = (
    Config("uninstrumented", "uninstrumented", "none"),
    Config("traces", "traces, content off", "ours"),
    Config("traces+metrics", "traces + SDK MeterProvider", "ours", metrics=True),
    Config("content", "traces, content on", "ours", content=True),
    Config("sampled out", "sampled out (ParentBased(always_off))", "ours", traces="sampled_out"),
    Config("API only", "API only (no SDK providers)", "ours", traces="api"),
    Config("stream: uninstrumented", "stream: uninstrumented", "none", stream=True),
    Config("stream", "stream, 210 characters, per stream", "ours", stream=True),
    Config(
        "stream: sampled out",
        "stream, sampled out (ParentBased(always_off)), per stream",
        "ours",
        traces="sampled_out",
        stream=True,
    ),
    Config(
        "long stream: uninstrumented",
        "long stream: uninstrumented",
        "none",
        stream=True,
        long=True,
    ),
    Config("long stream", "stream, 1,000 chunks, per stream", "ours", stream=True, long=True),
    Config("http: uninstrumented", "http: uninstrumented", "none", http=True),
    Config("http", "traces, HTTP round trip (local fake OpenAI server)", "ours", http=True),
    Config("openllmetry traces", "traces, content off", "openllmetry"),
    Config("openllmetry traces+metrics", "traces + SDK MeterProvider", "openllmetry", metrics=True),
    Config("openllmetry content", "traces, content on", "openllmetry", content=True),
    Config("openllmetry stream", "stream, 210 characters, per stream", "openllmetry", stream=True),
    Config("openinference traces", "traces, content off", "openinference"),
    Config("openinference content", "traces, content on", "openinference", content=True),
    Config(
        "openinference stream", "stream, 210 characters, per stream", "openinference", stream=True
    ),
    Config(
        "openllmetry http",
        "traces, HTTP round trip (local fake OpenAI server)",
        "openllmetry",
        http=True,
    ),
    Config(
        "openinference http",
        "traces, HTTP round trip (local fake OpenAI server)",
        "openinference",
        http=True,
    ),
    Config("floor: util-genai alone", "floor: util-genai inference alone", "util-genai"),
    Config("floor: SDK span alone", "floor: one SDK span, 15 attributes", "sdk-span"),
)
FLOORS = ("util-genai", "sdk-span")
"""Not litellm calls: what one util-genai inference (the same facts as a traced completion,
no litellm) and one bare SDK span cost, with the traces configuration's providers."""
BY_NAME = {config.name: config for config in CONFIGS}


# --- the measured process ---------------------------------------------------------------

_CLIENT_REQUEST = bytes.fromhex(
    "4889f8"  # mov rax, rdi: the request's arguments
    "31d2"  # xor edx, edx: the result when not under valgrind
    "48c1c703"
    "48c1c70d"
    "48c1c73d"
    "48c1c733"  # rol rdi 3, 13, 61, 51: valgrind's marker
    "4887db"  # xchg rbx, rbx: the client request
    "4889d0"  # mov rax, rdx
    "c3"  # ret
)
"""Valgrind's client request sequence for x86-64 (``VALGRIND_DO_CLIENT_REQUEST`` in
valgrind.h): a no-op natively, a request to the tool under valgrind."""
_CALLGRIND_START_INSTRUMENTATION = 0x43540000 + 4  # VG_USERREQ_TOOL_BASE('C','T') + 4


_PAGES: list[mmap.mmap] = []


def _client_request(code: int) -> int:
    """One valgrind client request without arguments (0 when not under valgrind)."""
    if platform.machine() != "x86_64":
        return 0
    if not _PAGES:
        page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        page.write(_CLIENT_REQUEST)
        _PAGES.append(page)
    address = ctypes.addressof(ctypes.c_char.from_buffer(_PAGES[0]))
    request = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.POINTER(ctypes.c_uint64))(address)
    return request((ctypes.c_uint64 * 6)(code, 0, 0, 0, 0, 0))


def _start_instrumentation() -> None:
    """``CALLGRIND_START_INSTRUMENTATION``: the driver runs x86-64 children with
    ``--instr-atstart=no``, so imports and set-up run at valgrind's uninstrumented speed."""
    _client_request(_CALLGRIND_START_INSTRUMENTATION)


class _Exported:
    """Counts the spans a SimpleSpanProcessor hands over and keeps the last one."""

    def __init__(self) -> None:
        self.count = 0
        self.last: Any = None
        self.providers: dict[str, Any] = {}


def _setup(config: Config) -> tuple[_Exported, Any]:
    """Instrument as ``config`` says; return the exported-span record and the metric reader."""
    exported = _Exported()
    reader = None
    if config.implementation == "none":
        return exported, reader
    providers: dict[str, Any] = {}
    if config.traces != "api":
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            SimpleSpanProcessor,
            SpanExporter,
            SpanExportResult,
        )
        from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased

        class DroppingExporter(SpanExporter):
            def export(self, spans: Any) -> SpanExportResult:
                exported.count += len(spans)
                exported.last = spans[-1]
                return SpanExportResult.SUCCESS

        sampler = ParentBased(ALWAYS_OFF) if config.traces == "sampled_out" else None
        tracer_provider = TracerProvider(sampler=sampler)
        tracer_provider.add_span_processor(SimpleSpanProcessor(DroppingExporter()))
        providers["tracer_provider"] = tracer_provider
    if config.metrics:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader

        reader = InMemoryMetricReader()
        providers["meter_provider"] = MeterProvider(metric_readers=[reader])
    if config.implementation in FLOORS:
        exported.providers = providers
    elif config.implementation == "ours":
        from opentelemetry_instrumentation_litellm import LiteLLMInstrumentor

        mode = "SPAN_ONLY" if config.content else "NO_CONTENT"
        LiteLLMInstrumentor().instrument(capture_message_content=mode, **providers)
    elif config.implementation == "openllmetry":
        os.environ["TRACELOOP_TRACE_CONTENT"] = "true" if config.content else "false"
        from opentelemetry.instrumentation.litellm import LiteLLMInstrumentor as Peer

        Peer().instrument(**providers)
    elif config.implementation == "openinference":
        from openinference.instrumentation import TraceConfig
        from openinference.instrumentation.litellm import LiteLLMInstrumentor as Peer

        hidden = not config.content
        trace_config = TraceConfig(hide_inputs=hidden, hide_outputs=hidden)
        Peer().instrument(config=trace_config, **providers)
    return exported, reader


def _floor_call(config: Config, providers: dict[str, Any]) -> Callable[[], None]:
    if config.implementation == "sdk-span":
        tracer = providers["tracer_provider"].get_tracer("bench")
        attributes = {f"gen_ai.attribute_{i}": i for i in range(15)}

        def one_span() -> None:
            tracer.start_span("chat gpt-4o-mini", attributes=attributes).end()

        return one_span
    from opentelemetry.util.genai.handler import TelemetryHandler

    handler = TelemetryHandler(**providers, instrumentation_scope_name="bench")
    return functools.partial(traced_inference, handler)


def traced_inference(handler: Any) -> None:
    """One util-genai inference carrying the facts of a traced ``mock_response`` completion."""
    invocation = handler.inference(
        "openai", request_model="gpt-4o-mini", server_address="api.openai.com", server_port=443
    )
    invocation.temperature = 0.2
    invocation.max_tokens = 64
    invocation.attributes["user.id"] = "bench"
    invocation.response_id = "chatcmpl-0123456789"
    invocation.response_model_name = "gpt-4o-mini"
    invocation.finish_reasons = ["stop"]
    invocation.input_tokens = 10
    invocation.output_tokens = 20
    invocation.attributes["litellm.provider"] = "openai"
    invocation.attributes["litellm.response.cost"] = 0.0001
    invocation.attributes["litellm.call_id"] = "0123-4567"
    invocation.stop()


def _call(config: Config) -> Callable[[], None]:
    import litellm

    messages = [{"role": "user", "content": MESSAGE}]
    if config.stream:
        text = LONG_STREAM_TEXT if config.long else STREAM_TEXT

        def one_stream() -> None:
            for _ in litellm.completion(
                model="openai/gpt-4o-mini",
                messages=messages,
                mock_response=text,
                stream=True,
            ):
                pass

        return one_stream
    upstream = (
        {"api_base": os.environ["BENCH_OPENAI_BASE"], "api_key": "sk-bench"}
        if config.http
        else {"mock_response": "It is sunny in Paris."}
    )

    def one_call() -> None:
        litellm.completion(
            model="openai/gpt-4o-mini",
            messages=messages,
            temperature=0.2,
            max_tokens=64,
            user="bench",
            **upstream,
        )

    return one_call


def _check(config: Config, exported: _Exported, reader: Any, calls: int, original: Any) -> None:
    """Fail the run unless the configuration did what it claims."""
    import litellm

    wrapped = litellm.completion is not original
    if wrapped != (config.implementation not in ("none", *FLOORS)):
        raise SystemExit(f"{config.name}: litellm.completion wrapped={wrapped}")
    if config.traces in ("api", "sampled_out") or config.implementation == "none":
        if exported.count:
            raise SystemExit(f"{config.name}: {exported.count} spans recorded, expected none")
        return
    if exported.count != calls:
        raise SystemExit(f"{config.name}: {exported.count} spans exported for {calls} calls")
    if config.implementation in FLOORS:
        return
    values = " ".join(str(v) for v in exported.last.attributes.values())
    if (MESSAGE in values) != config.content:
        raise SystemExit(f"{config.name}: request content present={not config.content}")
    if config.metrics:
        data = reader.get_metrics_data()
        points = [
            point
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if "duration" in metric.name
            for point in metric.data.data_points
        ]
        if sum(point.count for point in points) != calls:
            raise SystemExit(f"{config.name}: duration histogram does not count {calls} calls")


def child(config: Config, calls: int, warmup: int) -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    if config.implementation in PEERS:
        sys.path.append(str(PEERS_DIR / config.implementation))
    import litellm

    original = litellm.completion
    exported, reader = _setup(config)
    floor = config.implementation in FLOORS
    call = _floor_call(config, exported.providers) if floor else _call(config)
    _start_instrumentation()
    for _ in range(warmup):
        call()

    def measured(_a: Any, _b: Any) -> None:
        for _ in range(calls):
            call()

    functools.reduce(measured, (None, None))  # the window: collection is on only inside reduce
    _check(config, exported, reader, calls + warmup, original)


# --- the driver ---------------------------------------------------------------------------


def ensure_peers() -> None:
    for name, requirements in PEERS.items():
        target = PEERS_DIR / name
        if target.exists():
            continue
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
        subprocess.run([*pip, "--target", str(target), *requirements], check=True)


def count(config: Config, calls: int, warmup: int) -> int:
    """Instructions counted inside the window of one run of ``config``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            "--collect-atstart=no",
            "--toggle-collect=functools_reduce",
            *(["--instr-atstart=no"] if platform.machine() == "x86_64" else []),
            f"--callgrind-out-file={out}",
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            config.name,
            "--calls",
            str(calls),
            "--warmup",
            str(warmup),
        ]
        env = {**os.environ, "PYTHONHASHSEED": HASH_SEED, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{config.name} failed:\n{done.stdout}\n{done.stderr[-3000:]}")
        match = re.search(r"^summary:\s+(\d+)", out.read_text(), re.MULTILINE)
        if not match or not int(match.group(1)):
            raise RuntimeError(f"{config.name}: nothing counted (no functools_reduce symbol?)")
        return int(match.group(1))


@contextlib.contextmanager
def fake_openai(needed: bool) -> Iterator[None]:
    """The tests' fake OpenAI server on a free 127.0.0.1 port for the HTTP rows, its base URL
    in ``BENCH_OPENAI_BASE`` (children inherit it); stopped afterwards."""
    if not needed:
        yield
        return
    server = subprocess.Popen(
        [sys.executable, str(FAKE_OPENAI), "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        line = server.stdout.readline() if server.stdout else ""
        if not line.startswith("LISTENING"):
            raise RuntimeError(f"the fake OpenAI server did not start: {line!r}")
        os.environ["BENCH_OPENAI_BASE"] = f"http://127.0.0.1:{line.split()[1]}/v1"
        yield
    finally:
        os.environ.pop("BENCH_OPENAI_BASE", None)
        server.terminate()
        server.wait(10)


def measure(names: list[str], calls: int, warmup: int, jobs: int) -> dict[str, float]:
    """Instructions per call of each configuration, runs ``jobs`` at a time."""

    def one(name: str) -> float:
        per_call = count(BY_NAME[name], calls, warmup) / calls
        print(f"  {name}: {per_call:,.0f}", file=sys.stderr, flush=True)
        return per_call

    with (
        fake_openai(any(BY_NAME[name].http for name in names)),
        ThreadPoolExecutor(max_workers=jobs) as pool,
    ):
        return dict(zip(names, pool.map(one, names), strict=True))


def table(per_call: dict[str, float]) -> str:
    columns = ("ours", "openllmetry", "openinference")
    groups: dict[str, dict[str, str]] = {}
    for config in CONFIGS:
        if config.name not in per_call or config.implementation == "none":
            continue
        if config.implementation in FLOORS:
            base = per_call.get("uninstrumented")
            share = f" ({per_call[config.name] / base:.1%} of a call)" if base else ""
            groups[config.group] = {"ours": f"{per_call[config.name] / 1e6:.3f} M{share}"}
            continue
        base = per_call.get(config.baseline)
        cell = f"{per_call[config.name] / 1e6:.3f} M"
        if base:
            cell += f" ({per_call[config.name] / base - 1:+.1%})"
        groups.setdefault(config.group, {})[config.implementation] = cell
    lines = ["| configuration | this package | OpenLLMetry 0.62.4 | OpenInference 0.1.51 |"]
    lines.append("|---|---|---|---|")
    for baseline in (
        "uninstrumented",
        "stream: uninstrumented",
        "long stream: uninstrumented",
        "http: uninstrumented",
    ):
        if baseline in per_call:
            lines.append(f"| {baseline} | {per_call[baseline] / 1e6:.3f} M | | |")
    for group, cells in groups.items():
        lines.append(f"| {group} | " + " | ".join(cells.get(c, "") for c in columns) + " |")
    if "long stream" in per_call and "long stream: uninstrumented" in per_call:
        bare, traced = per_call["long stream: uninstrumented"], per_call["long stream"]
        added = (traced - bare) / LONG_CHUNKS
        lines.append(
            f"| per chunk of the 1,000-chunk stream | {traced / LONG_CHUNKS:,.0f} "
            f"(uninstrumented {bare / LONG_CHUNKS:,.0f}; added {added:,.0f}) | | |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100, help="measured calls per run")
    parser.add_argument("--warmup", type=int, default=20, help="calls before the window")
    parser.add_argument("--only", nargs="*", choices=sorted(BY_NAME), help="these runs only")
    parser.add_argument("--no-peers", action="store_true", help="this package only")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time")
    parser.add_argument("--child", choices=sorted(BY_NAME), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(BY_NAME[args.child], args.calls, args.warmup)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    names = args.only or [
        c.name for c in CONFIGS if not (args.no_peers and c.implementation in PEERS)
    ]
    for name in list(names):  # every row needs its baseline in the same run
        if BY_NAME[name].baseline not in names:
            names.insert(0, BY_NAME[name].baseline)
    if any(BY_NAME[name].implementation in PEERS for name in names):
        ensure_peers()
    from importlib.metadata import version

    per_call = measure(names, args.calls, args.warmup, args.jobs)
    print(
        f"instructions per call, litellm {version('litellm')}, {args.calls} calls after "
        f"{args.warmup} warm-up, PYTHONHASHSEED={HASH_SEED}"
    )
    print(table(per_call))


if __name__ == "__main__":
    main()
