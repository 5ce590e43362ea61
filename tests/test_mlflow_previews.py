"""MLflow's trace list (Request/Response previews), read through ``mlflow.search_traces``.

Against a real ``mlflow server``: previews are there with content capture on and absent
with it off, whether the trace's root is our GenAI span or the application's own span.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import litellm
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from mlflow_fixtures import MLflowServer, mlflow_trace_id, read_trace, search_traces, unique
from opentelemetry_instrumentation_litellm.exporters import MLflowSpanExporter

MODEL = "openai/gpt-4o-mini"
QUESTION = "What's the weather like in Paris today?"
ANSWER = "It is 22 degrees Celsius and sunny in Paris."


@dataclass
class Setup:
    url: str
    provider: TracerProvider
    experiment_id: str

    def listed(self, otel_trace_id: int, spans: int) -> Any:
        """The trace as ``mlflow.search_traces`` lists it (after all its spans are stored)."""
        read_trace(self.url, otel_trace_id, tracer_provider=self.provider, spans=spans)
        wanted = mlflow_trace_id(otel_trace_id)
        (info,) = [
            t.info for t in search_traces(self.url, self.experiment_id) if t.info.trace_id == wanted
        ]
        return info


def make_setup(server: MLflowServer, instrument: Any, content: str, **options: Any) -> Setup:
    exporter = MLflowSpanExporter(server.url, experiment_name=unique("previews"), **options)
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=100))
    instrument(tracer_provider=provider, capture_message_content=content)
    return Setup(server.url, provider, exporter.experiment_id)


@pytest.fixture
def setup_factory(mlflow_server: MLflowServer, instrument: Any) -> Iterator[Any]:
    made: list[Setup] = []

    def make(content: str, **options: Any) -> Setup:
        made.append(make_setup(mlflow_server, instrument, content, **options))
        return made[-1]

    yield make
    for setup in made:
        setup.provider.shutdown()


def agent_turn(setup: Setup) -> int:
    """An application span around a question, a tool call and the final answer."""
    with setup.provider.get_tracer("app").start_as_current_span("weather-assistant") as app:
        litellm.completion(
            model=MODEL,
            messages=[
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": QUESTION},
            ],
            mock_tool_calls=[
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'},
                }
            ],
        )
        litellm.completion(
            model=MODEL,
            messages=[{"role": "user", "content": QUESTION}],
            mock_response=ANSWER,
        )
    return app.get_span_context().trace_id


def single_call(setup: Setup) -> int:
    """Our chat span as the trace's root."""
    litellm.completion(
        model=MODEL, messages=[{"role": "user", "content": QUESTION}], mock_response=ANSWER
    )
    setup.provider.force_flush()
    return read_latest_root(setup)


def read_latest_root(setup: Setup) -> int:
    traces = search_traces(setup.url, setup.experiment_id)
    return int(traces[0].info.trace_id.removeprefix("tr-"), 16)


def test_app_root_gets_the_first_question_and_the_last_answer(setup_factory):
    setup = setup_factory("SPAN_ONLY")
    info = setup.listed(agent_turn(setup), spans=3)
    assert info.request_preview == QUESTION
    assert info.response_preview == ANSWER
    assert info.token_usage == {"input_tokens": 20, "output_tokens": 40, "total_tokens": 60}


def test_our_span_as_root_has_previews(setup_factory):
    setup = setup_factory("SPAN_ONLY")
    info = setup.listed(single_call(setup), spans=1)
    assert info.request_preview == QUESTION
    assert info.response_preview == ANSWER


@pytest.mark.parametrize("trace", [agent_turn, single_call])
def test_no_previews_without_content(setup_factory, trace):
    setup = setup_factory("NO_CONTENT")
    otel_trace_id = trace(setup)
    info = setup.listed(otel_trace_id, spans=3 if trace is agent_turn else 1)
    assert info.request_preview in (None, "")
    assert info.response_preview in (None, "")
    assert "mlflow.trace.infoFinalized" not in info.trace_metadata  # nothing was written


def test_trace_previews_can_be_switched_off(setup_factory):
    setup = setup_factory("SPAN_ONLY", trace_previews=False)
    info = setup.listed(agent_turn(setup), spans=3)
    assert info.request_preview in (None, "")
    assert info.response_preview in (None, "")


@pytest.fixture
def plain_otlp(mlflow_server: MLflowServer, instrument: Any) -> Iterator[Setup]:
    """The SDK's own OTLP exporter straight to MLflow: no ``mlflow`` destination."""
    provider = TracerProvider()
    exporter = OTLPSpanExporter(
        endpoint=f"{mlflow_server.url}/v1/traces", headers={"x-mlflow-experiment-id": "0"}
    )
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=100))
    instrument(tracer_provider=provider, capture_message_content="SPAN_ONLY")
    yield Setup(mlflow_server.url, provider, "0")
    provider.shutdown()


def test_plain_otlp_endpoint_with_an_app_root_has_no_previews(plain_otlp):
    """MLflow reads previews from the root span only."""
    info = plain_otlp.listed(agent_turn(plain_otlp), spans=3)
    assert info.request_preview in (None, "")
    assert info.response_preview in (None, "")


def test_plain_otlp_endpoint_with_our_root_shows_the_conventions_json(plain_otlp):
    """MLflow's preview finds text only in OpenAI shapes: the conventions' messages stay JSON."""
    info = plain_otlp.listed(single_call(plain_otlp), spans=1)
    assert info.request_preview.startswith("[{") and QUESTION in info.request_preview
    assert info.response_preview.startswith("[{") and ANSWER in info.response_preview
