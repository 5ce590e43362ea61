"""Instrument, uninstrument, zero-code instrumentation and the package's footprint."""

from __future__ import annotations

import asyncio
import inspect
import os
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points

import litellm
import pytest

from opentelemetry_instrumentation_litellm import LiteLLMInstrumentor

MESSAGES = [{"role": "user", "content": "hi"}]


def test_uninstrument_restores_litellm_exactly(telemetry):
    originals = (litellm.completion, litellm.acompletion)
    instrumentor = LiteLLMInstrumentor()
    instrumentor.instrument(tracer_provider=telemetry.tracer_provider)
    assert litellm.completion is not originals[0]
    assert litellm.completion.__wrapped__ is originals[0]
    instrumentor.uninstrument()
    assert (litellm.completion, litellm.acompletion) == originals
    litellm.completion("gpt-4o-mini", MESSAGES, mock_response="hi")
    assert telemetry.finished() == []


def test_a_function_kept_while_instrumented_is_untraced_after_uninstrument(telemetry):
    """``from litellm import completion`` while instrumented keeps our wrapper: it passes
    calls straight to litellm once uninstrumented, and stays off after a new instrument()
    (whose own wrapper then traces each call once)."""
    instrumentor = LiteLLMInstrumentor()
    instrumentor.instrument(tracer_provider=telemetry.tracer_provider)
    kept_sync, kept_async = litellm.completion, litellm.acompletion
    try:
        kept_sync("gpt-4o-mini", MESSAGES, mock_response="hi")
        assert len(telemetry.finished()) == 1
        instrumentor.uninstrument()
        answer = kept_sync("gpt-4o-mini", MESSAGES, mock_response="hi")
        asyncio.run(kept_async("gpt-4o-mini", MESSAGES, mock_response="hi"))
        assert answer.choices[0].message.content == "hi"
        assert len(telemetry.finished()) == 1
        instrumentor.instrument(tracer_provider=telemetry.tracer_provider)
        kept_sync("gpt-4o-mini", MESSAGES, mock_response="hi")
        assert len(telemetry.finished()) == 1
        litellm.completion("gpt-4o-mini", MESSAGES, mock_response="hi")
        assert len(telemetry.finished()) == 2
    finally:
        instrumentor.uninstrument()


def test_instrument_twice_gives_one_span(telemetry):
    instrumentor = LiteLLMInstrumentor()
    try:
        instrumentor.instrument(tracer_provider=telemetry.tracer_provider)
        instrumentor.instrument(tracer_provider=telemetry.tracer_provider)
        litellm.completion("gpt-4o-mini", MESSAGES, mock_response="hi")
        assert len(telemetry.finished()) == 1
        instrumentor.uninstrument()
        instrumentor.instrument(tracer_provider=telemetry.tracer_provider)
        litellm.completion("gpt-4o-mini", MESSAGES, mock_response="hi")
        assert len(telemetry.finished()) == 2
    finally:
        instrumentor.uninstrument()


def test_wrapped_functions_keep_their_signature_and_kind(instrumented):
    assert inspect.iscoroutinefunction(litellm.acompletion)
    assert not inspect.iscoroutinefunction(litellm.completion)
    assert litellm.completion.__name__ == "completion"
    assert "messages" in inspect.signature(litellm.completion).parameters


def test_instrumentation_dependencies_exclude_the_withdrawn_release():
    from packaging.requirements import Requirement

    (requirement,) = LiteLLMInstrumentor().instrumentation_dependencies()
    spec = Requirement(requirement)
    assert spec.name == "litellm"
    assert spec.specifier.contains("1.102.4")
    assert not spec.specifier.contains("1.107.0")


def test_entry_point_is_registered():
    (entry,) = [e for e in entry_points(group="opentelemetry_instrumentor") if e.name == "litellm"]
    assert entry.load() is LiteLLMInstrumentor


def _run(code: str, *prefix: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*prefix, sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", **(env or {})},
    )


def test_import_loads_neither_litellm_nor_the_sdk():
    result = _run(
        """
        import sys
        import opentelemetry_instrumentation_litellm
        from opentelemetry_instrumentation_litellm import LiteLLMInstrumentor
        print(sorted(m for m in sys.modules if m == "litellm" or m.startswith("opentelemetry.sdk")))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


APP = """
import litellm
litellm.completion("gpt-4o-mini", [{"role": "user", "content": "hi"}], mock_response="hello")
"""

ZERO_CODE_ENV = {
    "OTEL_TRACES_EXPORTER": "console",
    "OTEL_METRICS_EXPORTER": "none",
    "OTEL_LOGS_EXPORTER": "none",
    "OTEL_SERVICE_NAME": "zero-code-test",
}


def _opentelemetry_instrument() -> str:
    path = os.path.join(os.path.dirname(sys.executable), "opentelemetry-instrument")
    if not os.path.exists(path):
        pytest.fail("opentelemetry-instrument is not installed beside the test interpreter")
    return path


def test_zero_code_instrumentation():
    result = _run(APP, _opentelemetry_instrument(), env=ZERO_CODE_ENV)
    assert result.returncode == 0, result.stderr
    assert '"name": "chat gpt-4o-mini"' in result.stdout
    assert '"gen_ai.provider.name": "openai"' in result.stdout


def test_zero_code_traces_functions_imported_by_name():
    """opentelemetry-instrument patches litellm before the app's own imports run."""
    app = """
from litellm import completion
completion("gpt-4o-mini", [{"role": "user", "content": "hi"}], mock_response="hello")
"""
    result = _run(app, _opentelemetry_instrument(), env=ZERO_CODE_ENV)
    assert result.returncode == 0, result.stderr
    assert '"name": "chat gpt-4o-mini"' in result.stdout


def test_zero_code_can_be_disabled():
    env = {**ZERO_CODE_ENV, "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "litellm"}
    result = _run(APP, _opentelemetry_instrument(), env=env)
    assert result.returncode == 0, result.stderr
    assert "chat gpt-4o-mini" not in result.stdout


def test_without_sdk_calls_skip_util_genai_until_a_provider_is_set():
    """With only the API (no provider anywhere) a call cannot produce telemetry: it goes
    straight to litellm. A global SDK provider set later is used from the next call on."""
    result = _run(
        """
        import litellm
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from opentelemetry.util.genai.handler import TelemetryHandler
        from opentelemetry_instrumentation_litellm import LiteLLMInstrumentor

        started = []
        inference = TelemetryHandler.inference
        TelemetryHandler.inference = lambda self, *a, **k: started.append(1) or inference(
            self, *a, **k
        )
        LiteLLMInstrumentor().instrument()
        msgs = [{"role": "user", "content": "hi"}]
        assert litellm.completion("gpt-4o-mini", msgs, mock_response="hi").choices
        assert started == [], started
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        litellm.completion("gpt-4o-mini", msgs, mock_response="hi")
        assert started == [1], started
        assert [s.name for s in exporter.get_finished_spans()] == ["chat gpt-4o-mini"]
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")
