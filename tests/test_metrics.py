"""gen_ai.client.operation.duration and gen_ai.client.token.usage."""

from __future__ import annotations

import litellm
import pytest

from matrix import litellm_stream_cost, litellm_version

MESSAGES = [{"role": "user", "content": "hi"}]


def test_duration_and_token_usage(instrumented, llm):
    litellm.completion(
        model="openai/gpt-4o-mini", messages=MESSAGES, api_base=llm.base_url, api_key="k"
    )
    (duration,) = instrumented.histogram_points("gen_ai.client.operation.duration")
    assert duration.count == 1
    assert 0 < duration.sum < 30
    expected = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "server.address": "127.0.0.1",
        "server.port": llm.port,
    }
    assert dict(duration.attributes) == expected
    tokens = {
        p.attributes["gen_ai.token.type"]: p
        for p in instrumented.histogram_points("gen_ai.client.token.usage")
    }
    assert set(tokens) == {"input", "output"}
    assert tokens["input"].sum == 11 and tokens["output"].sum == 7
    assert {k: v for k, v in tokens["input"].attributes.items() if k != "gen_ai.token.type"} == (
        expected
    )


def test_error_is_on_the_duration_metric(instrumented):
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(
            "gpt-4o-mini",
            MESSAGES,
            mock_response=litellm.RateLimitError("x", llm_provider="openai", model="gpt-4o-mini"),
        )
    (duration,) = instrumented.histogram_points("gen_ai.client.operation.duration")
    assert duration.attributes["error.type"] == "litellm.exceptions.RateLimitError"
    assert instrumented.histogram_points("gen_ai.client.token.usage") == []


def expected_cost(model: str, input_tokens: int, output_tokens: int, cached: int = 0) -> float:
    """What litellm's own price map says these tokens cost (cache reads at their own price)."""
    prices = litellm.model_cost[model]
    return (
        (input_tokens - cached) * prices["input_cost_per_token"]
        + cached * prices["cache_read_input_token_cost"]
        + output_tokens * prices["output_cost_per_token"]
    )


def span_cost(span) -> float:
    """``expected_cost`` for the tokens the span reports."""
    attributes = span.attributes
    return expected_cost(
        attributes["gen_ai.request.model"],
        attributes["gen_ai.usage.input_tokens"],
        attributes["gen_ai.usage.output_tokens"],
        attributes.get("gen_ai.usage.cache_read.input_tokens", 0),
    )


def cost_points(telemetry):
    return telemetry.histogram_points("gen_ai.usage.cost")


def test_cost_histogram_has_the_price_and_the_duration_attributes(instrumented, llm):
    litellm.completion(
        model="openai/gpt-4o-mini", messages=MESSAGES, api_base=llm.base_url, api_key="k"
    )
    (cost,) = cost_points(instrumented)
    (duration,) = instrumented.histogram_points("gen_ai.client.operation.duration")
    assert cost.count == 1
    span = instrumented.only()
    assert span.attributes["gen_ai.usage.cache_read.input_tokens"] == 3  # the fake server's
    assert cost.sum == pytest.approx(expected_cost("gpt-4o-mini", 11, 7, cached=3))
    assert cost.sum == span.attributes["litellm.response.cost"]
    assert dict(cost.attributes) == dict(duration.attributes)
    (metric,) = [
        m
        for r in instrumented.metrics.get_metrics_data().resource_metrics
        for s in r.scope_metrics
        for m in s.metrics
        if m.name == "gen_ai.usage.cost"
    ]
    assert (metric.unit, metric.description) == ("USD", "GenAI request cost")


def test_cost_of_mock_calls_adds_up(instrumented):
    for model in ("gpt-4o-mini", "gpt-4o"):
        litellm.completion(model=model, messages=MESSAGES, mock_response="hello")
    points = {p.attributes["gen_ai.request.model"]: p for p in cost_points(instrumented)}
    # litellm's mock_response reports 10 input and 20 output tokens
    assert points["gpt-4o-mini"].sum == pytest.approx(expected_cost("gpt-4o-mini", 10, 20))
    assert points["gpt-4o"].sum == pytest.approx(expected_cost("gpt-4o", 10, 20))


def test_no_cost_point_when_litellm_has_no_price(instrumented, llm):
    litellm.completion(
        model="openai/no-such-priced-model", messages=MESSAGES, api_base=llm.base_url, api_key="k"
    )
    assert "litellm.response.cost" not in instrumented.only().attributes
    assert len(instrumented.histogram_points("gen_ai.client.operation.duration")) == 1
    assert cost_points(instrumented) == []


@pytest.mark.parametrize("provider", ["no-op", "global placeholder"])
def test_no_cost_work_when_no_meter_provider_keeps_points(
    instrument, telemetry, monkeypatch, provider
):
    """A meter provider that drops every point costs no attribute building per call."""
    from opentelemetry.metrics import NoOpMeterProvider

    from opentelemetry_instrumentation_litellm import _cost_metric

    built = []
    monkeypatch.setattr(_cost_metric, "metric_attributes", lambda inv: built.append(inv) or {})
    if provider == "no-op":
        instrument(meter_provider=NoOpMeterProvider())
    else:  # no meter provider given and none set globally: the API's placeholder
        instrument(meter_provider=None)
    litellm.completion(model="gpt-4o-mini", messages=MESSAGES, mock_response="hello")
    assert telemetry.only().attributes["litellm.response.cost"] > 0  # litellm priced it
    assert built == []


def test_no_cost_point_for_a_failed_call(instrumented):
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(
            "gpt-4o-mini",
            MESSAGES,
            mock_response=litellm.RateLimitError("x", llm_provider="openai", model="gpt-4o-mini"),
        )
    assert cost_points(instrumented) == []


@pytest.mark.parametrize("include_usage", [True, False])
def test_stream_cost_when_usage_is_included(instrumented, llm, include_usage):
    options = {"stream_options": {"include_usage": True}} if include_usage else {}
    stream = litellm.completion(
        model="openai/gpt-4o-mini",
        messages=MESSAGES,
        api_base=llm.base_url,
        api_key="k",
        stream=True,
        **options,
    )
    chunks = list(stream)
    span = instrumented.only()
    if not include_usage or litellm_stream_cost(chunks) is None:  # litellm 1.74: no cost
        assert include_usage is False or litellm_version() < (1, 102)
        assert cost_points(instrumented) == []
        return
    (cost,) = cost_points(instrumented)
    assert cost.sum == pytest.approx(span_cost(span))
    assert cost.sum == span.attributes["litellm.response.cost"]
    (duration,) = instrumented.histogram_points("gen_ai.client.operation.duration")
    assert dict(cost.attributes) == dict(duration.attributes)


async def test_async_stream_cost(instrumented, llm):
    stream = await litellm.acompletion(
        model="openai/gpt-4o-mini",
        messages=MESSAGES,
        api_base=llm.base_url,
        api_key="k",
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    if litellm_stream_cost(chunks) is None:  # litellm 1.74 puts no cost on a stream
        assert litellm_version() < (1, 102)
        assert cost_points(instrumented) == []
        return
    (cost,) = cost_points(instrumented)
    assert cost.sum == instrumented.only().attributes["litellm.response.cost"] > 0


def _sampled_out():
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased

    return TracerProvider(sampler=ParentBased(ALWAYS_OFF))


def test_sampled_out_call_keeps_its_metric_facts(instrument, telemetry):
    """A span that is not recorded still gives the metrics their response facts."""
    instrument(tracer_provider=_sampled_out())
    litellm.completion(model="gpt-4o-mini", messages=MESSAGES, mock_response="hello")
    (duration,) = telemetry.histogram_points("gen_ai.client.operation.duration")
    assert duration.attributes["gen_ai.response.model"] == "gpt-4o-mini"
    tokens = {
        p.attributes["gen_ai.token.type"]: p.sum
        for p in telemetry.histogram_points("gen_ai.client.token.usage")
    }
    assert tokens == {"input": 10, "output": 20}
    (cost,) = cost_points(telemetry)
    assert cost.sum == pytest.approx(expected_cost("gpt-4o-mini", 10, 20))


@pytest.mark.parametrize("provider", ["no-op", "global placeholder"])
def test_sampled_out_call_reads_no_response_when_metrics_are_dropped(
    instrument, telemetry, monkeypatch, provider
):
    """Nothing would keep the response's facts: the response is not read at all."""
    from opentelemetry.metrics import NoOpMeterProvider

    from opentelemetry_instrumentation_litellm import _upstream

    read = []
    hidden_params = _upstream.hidden_params
    monkeypatch.setattr(_upstream, "hidden_params", lambda r: read.append(r) or hidden_params(r))
    meter_provider = NoOpMeterProvider() if provider == "no-op" else None
    instrument(tracer_provider=_sampled_out(), meter_provider=meter_provider)
    response = litellm.completion(model="gpt-4o-mini", messages=MESSAGES, mock_response="hello")
    assert response.choices[0].message.content == "hello"
    assert read == []
    instrument(tracer_provider=telemetry.tracer_provider, meter_provider=meter_provider)
    litellm.completion(model="gpt-4o-mini", messages=MESSAGES, mock_response="hello")
    assert read, "a recorded span reads the response"
    assert telemetry.only().attributes["gen_ai.response.model"] == "gpt-4o-mini"


@pytest.mark.parametrize("dropped", [True, False])
def test_sampled_out_stream_reads_no_chunk_when_metrics_are_dropped(
    instrument, telemetry, monkeypatch, dropped
):
    """A sampled-out stream whose metric points are dropped is not read; one whose metrics
    are kept is (its response model and usage go on the metrics)."""
    from opentelemetry.metrics import NoOpMeterProvider

    from opentelemetry_instrumentation_litellm import _streams

    read = []
    add = _streams.ChatStreamState.add
    monkeypatch.setattr(_streams.ChatStreamState, "add", lambda s, c: read.append(c) or add(s, c))
    meter_provider = NoOpMeterProvider() if dropped else telemetry.meter_provider
    instrument(tracer_provider=_sampled_out(), meter_provider=meter_provider)
    stream = litellm.completion(
        model="gpt-4o-mini", messages=MESSAGES, mock_response="hello there", stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "hello there"
    assert stream._self_finalized
    assert (read == []) is dropped
    if not dropped:
        (duration,) = telemetry.histogram_points("gen_ai.client.operation.duration")
        assert duration.attributes["gen_ai.response.model"] == "gpt-4o-mini"
