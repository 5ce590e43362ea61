"""docs/attributes.md against the spans real calls emit, so the reference cannot drift.

Every attribute a span carries must be in the reference's tables; every name in those tables
must be emitted by one of these calls, or be marked there as ``conditional:`` with the reason
(proxy only, provider-specific, ...)."""

from __future__ import annotations

import re
from pathlib import Path

import litellm
import pytest

from test_content import QUESTION, WEATHER_TOOL
from test_router import deployment

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "attributes.md"
ROW = re.compile(r"^\|\s*`([a-z_]+(?:\.[a-z_]+)+)`\s*\|(.*)$")


def reference(kind: str) -> dict[str, bool]:
    """Name -> whether the reference marks it conditional, from the rows of the tables whose
    first column is headed ``kind`` (``attribute`` or ``metric``)."""
    names: dict[str, bool] = {}
    header = None
    for line in REFERENCE.read_text().splitlines():
        if not line.startswith("|"):
            header = None
        elif header is None:
            header = line.strip("| ").split("|")[0].strip()
        elif header == kind and (match := ROW.match(line)):
            names[match.group(1)] = "conditional:" in match.group(2)
    return names


def compare(kind: str, emitted: set[str]) -> None:
    documented = reference(kind)
    assert documented, f"docs/attributes.md has no table headed {kind!r}"
    undocumented = sorted(emitted - set(documented))
    assert not undocumented, f"emitted but missing from docs/attributes.md: {undocumented}"
    never_emitted = sorted(
        name for name, conditional in documented.items() if name not in emitted and not conditional
    )
    assert not never_emitted, (
        f"docs/attributes.md lists {never_emitted}, which no call emitted: emit them in this "
        "test, or mark the row `conditional:` with the reason"
    )
    needlessly_conditional = sorted(
        name for name, conditional in documented.items() if conditional and name in emitted
    )
    assert not needlessly_conditional, f"marked conditional but emitted: {needlessly_conditional}"


@pytest.fixture
def litellm_cache():
    litellm.cache = litellm.Cache(type="local")
    yield
    litellm.cache = None


def run_every_kind_of_call(llm) -> None:
    """Chat with every request parameter, a stream, embeddings, a tool-calling round trip, a
    Responses API call, a vector store search, a cache hit, a Router call and a failing call."""
    server = {"api_base": llm.base_url, "api_key": "sk-fake"}
    litellm.completion(
        model="openai/gpt-4o-mini",
        messages=[{"role": "system", "content": "Be brief."}, QUESTION],
        temperature=0.2,
        top_p=0.9,
        top_k=5,
        max_tokens=50,
        stop=["\n\n"],
        frequency_penalty=0.1,
        presence_penalty=0.1,
        seed=7,
        n=2,
        user="alice",
        metadata={"tags": ["docs"], "session_id": "conversation-1"},
        response_format={"type": "json_object"},
        drop_params=True,
        **server,
    )
    stream = litellm.completion(
        model="openai/gpt-4o-mini",
        messages=[QUESTION],
        stream=True,
        stream_options={"include_usage": True},
        **server,
    )
    for _ in stream:
        pass
    litellm.embedding(
        model="openai/text-embedding-3-small",
        input=["hello"],
        dimensions=8,
        encoding_format="float",
        **server,
    )
    first = litellm.completion(
        model="openai/gpt-4o-mini-tool", messages=[QUESTION], tools=[WEATHER_TOOL], **server
    )
    call = first.choices[0].message.tool_calls[0]
    litellm.completion(
        model="openai/gpt-4o-mini-tool",
        messages=[
            QUESTION,
            first.choices[0].message.model_dump(),
            {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
        ],
        tools=[WEATHER_TOOL],
        **server,
    )
    litellm.responses(
        model="openai/gpt-4o-mini", input="Hi", instructions="Answer in French.", **server
    )
    for _ in range(2):  # the second one is answered by litellm's cache
        litellm.completion(
            model="openai/gpt-4o-mini",
            messages=[{"role": "user", "content": "cached?"}],
            caching=True,
            **server,
        )
    litellm.vector_stores.search(vector_store_id="vs_1", query="docs", max_num_results=2, **server)
    router = litellm.Router(model_list=[deployment(llm, "fast", "openai/gpt-4o-mini", "dep-1")])
    router.completion(model="fast", messages=[QUESTION])
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(model="openai/error-429", messages=[QUESTION], **server)


def test_reference_lists_exactly_what_spans_and_metrics_carry(
    instrument, telemetry, llm, litellm_cache
):
    instrument(capture_message_content="SPAN_ONLY")
    run_every_kind_of_call(llm)
    spans = telemetry.spans.get_finished_spans()
    compare("attribute", {name for span in spans for name in span.attributes})
    metrics = telemetry.metrics.get_metrics_data()
    compare(
        "metric",
        {
            metric.name
            for resource in metrics.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
        },
    )
