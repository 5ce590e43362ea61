"""Our own CPU per streamed proxy answer for its guardrail check spans.

    python benchmarks/guardrail_stream_loop.py [--streams 100] [--chunks 50]
        [--mode wrapped|bare] [--transform-mode block_only|incremental_diff]

A streamed answer through the proxy passes through one layer per post-call guardrail
(``ProxyLogging._wrap_streaming_iterator_with_enrichment`` around
``UnifiedLLMGuardrails.async_post_call_streaming_iterator_hook``). This runs, in one process,
two such layers over a chat stream of ``--chunks`` litellm ``ModelResponseStream`` chunks,
with the layers themselves reduced to pass-through generators and the SDK exporting through a
``BatchSpanProcessor`` to an exporter that drops spans (``proxy_spans_loop``'s setup and
measured loop). ``--mode wrapped`` puts the wrappers of ``proxy/_guardrail_streams.py``
around both functions (one span per layer and stream, the input tapped to tell a rewrite);
``--mode bare`` runs the same layers unwrapped: the difference is ours.

Instruction counts (repeatable), collecting only the measured loop::

    PYTHONHASHSEED=0 valgrind --tool=callgrind --collect-atstart=no \\
        --toggle-collect=builtin_sorted python benchmarks/guardrail_stream_loop.py --mode wrapped

Without valgrind it prints CPU microseconds per stream (``time.process_time``).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from litellm.integrations.custom_guardrail import CustomGuardrail
from litellm.types.utils import Delta, ModelResponseStream, StreamingChoices
from wrapt import FunctionWrapper

from opentelemetry_instrumentation_litellm.proxy import _guardrail_streams
from proxy_spans_loop import measure, tracing


class Guard(CustomGuardrail):
    async def apply_guardrail(self, inputs: Any, request_data: Any, input_type: Any, **kw: Any):
        return inputs


class Unified:
    """Stands in for ``UnifiedLLMGuardrails``: passes the chunks through."""

    def resolve_streaming_flag(self, guardrail: Any, name: str, default: Any) -> Any:
        return getattr(guardrail, name, default)

    async def hook(
        self,
        user_api_key_dict: Any,
        response: Any,
        request_data: Any,
        guardrail_to_apply: Any = None,
    ) -> Any:
        async for chunk in response:
            yield chunk


class WrappedUnified(Unified):
    hook = FunctionWrapper(Unified.hook, _guardrail_streams.unified_stream_hook)


async def enrichment(callback: Any, gen: Any) -> Any:
    async for chunk in gen:
        yield chunk


async def upstream(chunks: list[Any]) -> Any:
    for chunk in chunks:
        yield chunk


def chain(f: dict[str, Any], guards: list[Guard], chunks: list[Any]) -> Any:
    """The post-call chain of a streamed answer, as ``ProxyLogging`` builds it."""
    current = upstream(chunks)
    for guard in guards:
        layer = f["unified"].hook(None, response=current, request_data={}, guardrail_to_apply=guard)
        current = f["layer"](guard, layer)
    return current


async def one_stream(f: dict[str, Any], guards: list[Guard], chunks: list[Any]) -> None:
    async for _chunk in chain(f, guards, chunks):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--chunks", type=int, default=50)
    parser.add_argument("--mode", choices=("wrapped", "bare"), default="wrapped")
    parser.add_argument(
        "--transform-mode",
        choices=("block_only", "incremental_diff"),
        default="block_only",
        help="the guardrails' streaming_transform_mode (incremental_diff: input read per chunk)",
    )
    options = parser.parse_args()

    processor, _ = tracing()
    # built directly: a litellm call would leave its logging threads (token counting) busy
    # during the measured loop
    chunks = [
        ModelResponseStream(choices=[StreamingChoices(delta=Delta(content="word "))])
        for _ in range(options.chunks)
    ]
    guards = [Guard(guardrail_name="filter"), Guard(guardrail_name="rewrite")]
    for guard in guards:
        guard.streaming_transform_mode = options.transform_mode
    wrapped = options.mode == "wrapped"
    f = {
        "unified": WrappedUnified() if wrapped else Unified(),
        "layer": FunctionWrapper(enrichment, _guardrail_streams.stream_layer)
        if wrapped
        else enrichment,
    }

    async def streams(count: int) -> None:
        for _ in range(count):
            await one_stream(f, guards, chunks)

    elapsed = measure(streams, options.streams)
    processor.force_flush()
    print(
        f"{options.mode}: {len(chunks)} chunks, {elapsed / options.streams * 1e6:.1f} us CPU/stream"
    )


if __name__ == "__main__":
    main()
