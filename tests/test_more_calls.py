"""The calls beyond chat, embeddings and images: each through litellm, end to end.

Against the local fake server (``tests/fake_openai_server.py``): Responses retries and
compaction, adapters, the Google GenAI interface (streams too), image edits and
variations, video jobs, moderation, OCR, web and vector-store search, Interactions. A
span per call with its operation, provider, model, ids and usage where the API returns
them; an ERROR span when the provider fails; one span when a wrapped function calls
another.
"""

from __future__ import annotations

import importlib
import inspect
import io
import json
from importlib.metadata import version
from typing import Any

import litellm
import openai
import pytest
from opentelemetry.trace import SpanKind, StatusCode

MESSAGES = [{"role": "user", "content": "hi"}]
CONTENTS = [{"role": "user", "parts": [{"text": "Say hello"}]}]


def image() -> io.BytesIO:
    """An image upload every litellm release here sends (bytes fail in 1.74's async path,
    a (name, bytes, type) tuple in 1.102's)."""
    upload = io.BytesIO(b"\x89PNG\r\n\x1a\n fake image")
    upload.name = "cat.png"
    return upload


LITELLM = version("litellm")


def need(name: str, module: str = "litellm") -> Any:
    """litellm's ``module.name``, or skip: an older litellm lacks it (and it is not wrapped)."""
    found = getattr(_module(module), name, None)
    if found is None:
        pytest.skip(f"litellm {LITELLM} has no {module}.{name}")
    return found


def _module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def local(llm) -> dict:
    return {"api_base": llm.base_url, "api_key": "sk-fake"}


def attrs_of(span) -> dict:
    return dict(span.attributes)


async def call(function, is_async: bool, **kwargs):
    result = function(**kwargs)
    return await result if is_async else result


def _failed(span, error_type: str | None = None) -> None:
    assert span.status.status_code is StatusCode.ERROR
    if error_type:
        assert span.attributes["error.type"] == error_type


# --- Responses: retries, compaction, MCP ------------------------------------------------


@pytest.mark.parametrize("is_async", [False, True])
async def test_responses_with_retries(instrumented, llm, is_async):
    function = need("aresponses_with_retries" if is_async else "responses_with_retries")
    await call(function, is_async, model="openai/gpt-4o-mini", input="hi", **local(llm))
    span = instrumented.only()  # the inner litellm.responses makes no second span
    a = attrs_of(span)
    assert span.name == "chat gpt-4o-mini"
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.response.id"].startswith("resp_")
    assert a["gen_ai.usage.input_tokens"] == 12 and a["gen_ai.usage.output_tokens"] == 6


@pytest.mark.parametrize("is_async", [False, True])
async def test_compact_responses(instrumented, llm, is_async):
    function = need("acompact_responses" if is_async else "compact_responses")
    result = await call(function, is_async, model="openai/gpt-4o-mini", input="hi", **local(llm))
    assert result.object == "response.compaction"
    span = instrumented.only()
    a = attrs_of(span)
    assert span.name == "chat gpt-4o-mini"
    assert a["gen_ai.provider.name"] == "openai"
    assert a["gen_ai.response.id"] == result.id
    assert a["gen_ai.usage.input_tokens"] == 12


async def test_compact_responses_failure(instrumented, llm):
    with pytest.raises(litellm.InternalServerError):
        await need("acompact_responses")(model="openai/error-500", input="hi", **local(llm))
    _failed(instrumented.only())


async def test_aresponses_api_with_mcp_is_one_span(instrumented, llm):
    await need("aresponses_api_with_mcp")(input="hi", model="openai/gpt-4o-mini", **local(llm))
    span = instrumented.only()
    assert span.name == "chat gpt-4o-mini"
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)


def test_config_completion(instrumented, llm, tmp_path, monkeypatch):
    config = tmp_path / "config.json"
    config.write_text(json.dumps(local(llm)))
    monkeypatch.setattr(litellm, "config_path", str(config))
    litellm.config_completion(model="openai/gpt-4o-mini", messages=MESSAGES)
    span = instrumented.only()
    assert span.name == "chat gpt-4o-mini"
    assert span.attributes["gen_ai.usage.input_tokens"] == 11


# --- adapters -----------------------------------------------------------------------------


@pytest.fixture
def anthropic_adapter(monkeypatch):
    for module in (
        "litellm.llms.anthropic.experimental_pass_through.adapters.transformation",
        "litellm.llms.anthropic.messages.adapters.transformation",  # litellm >= 1.109
    ):
        AnthropicAdapter = getattr(_module(module), "AnthropicAdapter", None)
        if AnthropicAdapter is not None:
            break
    else:
        pytest.skip(f"litellm {LITELLM} has no AnthropicAdapter where these tests look")

    monkeypatch.setattr(litellm, "adapters", [{"id": "anthropic", "adapter": AnthropicAdapter()}])


@pytest.mark.parametrize("is_async", [False, True])
async def test_adapter_completion(instrument, telemetry, llm, anthropic_adapter, is_async):
    instrument(capture_message_content="SPAN_ONLY")
    function = need("aadapter_completion" if is_async else "adapter_completion")
    result = await call(
        function,
        is_async,
        adapter_id="anthropic",
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        system="Be brief.",
        max_tokens=20,
        **local(llm),
    )
    span = telemetry.only()  # litellm.completion inside makes no second span
    a = attrs_of(span)
    assert span.name == "chat gpt-4o-mini"
    assert a["gen_ai.request.max_tokens"] == 20
    # Anthropic's input_tokens leave out the 3 cached ones (litellm >= 1.80 says so; whether
    # the span adds them back is the Anthropic Messages reader's rule).
    assert a["gen_ai.usage.input_tokens"] in (8, 11)
    assert a["gen_ai.usage.output_tokens"] == 7
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert json.loads(a["gen_ai.system_instructions"]) == [{"type": "text", "content": "Be brief."}]
    (out,) = json.loads(a["gen_ai.output.messages"])
    block = result["content"][0]  # a dict, or litellm 1.74's content block object
    assert out["parts"][0]["content"] == (block["text"] if isinstance(block, dict) else block.text)


# --- the Google GenAI interface -----------------------------------------------------------


@pytest.mark.parametrize("is_async", [False, True])
async def test_generate_content(instrument, telemetry, llm, is_async):
    instrument(capture_message_content="SPAN_ONLY")
    function = need("agenerate_content" if is_async else "generate_content", "litellm.google_genai")
    result = await call(
        function,
        is_async,
        model="openai/gpt-4o-mini",
        contents=CONTENTS,
        config={"temperature": 0.2, "maxOutputTokens": 30, "systemInstruction": "Be brief."},
        **local(llm),
    )
    span = telemetry.only()  # the litellm.completion the adapter makes is no second span
    a = attrs_of(span)
    assert span.name == "generate_content gpt-4o-mini"
    assert span.kind is SpanKind.CLIENT
    assert a["gen_ai.operation.name"] == "generate_content"
    assert a["gen_ai.provider.name"] == "openai"
    assert a["gen_ai.request.temperature"] == 0.2
    assert a["gen_ai.request.max_tokens"] == 30
    assert a["gen_ai.usage.input_tokens"] == 11 and a["gen_ai.usage.output_tokens"] == 7
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    (message,) = json.loads(a["gen_ai.input.messages"])
    assert message["role"] == "user"
    assert message["parts"] == [{"type": "text", "content": "Say hello"}]
    (out,) = json.loads(a["gen_ai.output.messages"])
    text = result["candidates"][0]["content"]["parts"][0]["text"]
    assert out["parts"] == [{"type": "text", "content": text}]


async def test_litellm_agenerate_content_failure(instrumented, llm):
    """``litellm.agenerate_content`` (the same function, also on ``litellm``) failing."""
    function = need("agenerate_content")
    # litellm's adapter wraps the provider's error (a ValueError, or in one of litellm's)
    with pytest.raises((ValueError, openai.APIError)):
        await function(model="openai/error-500", contents=CONTENTS, **local(llm))
    span = instrumented.only()
    assert span.name == "generate_content error-500"
    _failed(span)


@pytest.mark.parametrize("is_async", [False, True])
async def test_generate_content_stream(instrument, telemetry, llm, is_async):
    instrument(capture_message_content="SPAN_ONLY")
    function = need(
        "agenerate_content_stream" if is_async else "generate_content_stream",
        "litellm.google_genai",
    )
    # litellm's sync function returns an async generator for non-Gemini models
    stream = await call(
        function, is_async, model="openai/gpt-4o-mini", contents=CONTENTS, **local(llm)
    )
    assert telemetry.finished() == []  # open while the stream is read
    chunks = [chunk async for chunk in stream]
    span = telemetry.only()
    a = attrs_of(span)
    assert span.name == "generate_content gpt-4o-mini"
    assert a["gen_ai.request.stream"] is True
    if not chunks:  # litellm 1.74's adapter stream yields nothing (its own bug): span ended
        return
    assert all(isinstance(c, bytes) for c in chunks)
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert "gen_ai.response.time_to_first_chunk" in a
    # litellm 1.102's adapter reports 0/0 for a stream without usage (unknown, not zero);
    # 1.110's asks for the usage
    assert a.get("gen_ai.usage.input_tokens") in (None, 11)
    (out,) = json.loads(a["gen_ai.output.messages"])
    assert out["parts"] == [{"type": "text", "content": "Hello from fake server"}]


def gemini(llm) -> dict:
    """litellm's Gemini provider against the fake server's generateContent endpoints."""
    return {"api_base": f"http://127.0.0.1:{llm.port}", "api_key": "fake-gemini-key"}


async def call_gemini(function, is_async: bool, llm) -> Any:
    try:
        return await call(
            function, is_async, model="gemini/gemini-2.5-flash", contents=CONTENTS, **gemini(llm)
        )
    except (litellm.APIConnectionError, ImportError) as error:
        if "google.genai" not in str(error):
            raise
        pytest.skip(f"litellm {LITELLM}'s Gemini path needs the google-genai SDK (not here)")


@pytest.mark.parametrize("is_async", [False, True])
async def test_generate_content_native_gemini(instrument, telemetry, llm, is_async):
    instrument(capture_message_content="SPAN_ONLY")
    function = need("agenerate_content" if is_async else "generate_content", "litellm.google_genai")
    await call_gemini(function, is_async, llm)
    span = telemetry.only()
    a = attrs_of(span)
    assert span.name == "generate_content gemini-2.5-flash"
    assert a["gen_ai.provider.name"] == "gcp.gemini"
    assert a["gen_ai.response.id"].startswith("gresp-fake-")
    assert a["gen_ai.response.model"] == "gemini-2.5-flash-001"
    # candidates 4 + thoughts 2: the conventions' output tokens include reasoning
    assert a["gen_ai.usage.input_tokens"] == 5 and a["gen_ai.usage.output_tokens"] == 6
    assert a["gen_ai.usage.reasoning.output_tokens"] == 2
    (out,) = json.loads(a["gen_ai.output.messages"])
    assert out["role"] == "assistant" and out["finish_reason"] == "stop"
    assert out["parts"] == [{"type": "text", "content": "Hello from fake server"}]


@pytest.mark.parametrize("is_async", [False, True])
async def test_generate_content_stream_native_gemini(instrument, telemetry, llm, is_async):
    instrument(capture_message_content="SPAN_ONLY")
    function = need(
        "agenerate_content_stream" if is_async else "generate_content_stream",
        "litellm.google_genai",
    )
    stream = await call_gemini(function, is_async, llm)
    chunks = [chunk async for chunk in stream] if is_async else list(stream)
    assert chunks
    span = telemetry.only()
    a = attrs_of(span)
    assert a["gen_ai.request.stream"] is True
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert a["gen_ai.usage.input_tokens"] == 5 and a["gen_ai.usage.output_tokens"] == 6
    assert a["gen_ai.response.id"].startswith("gresp-fake-")
    (out,) = json.loads(a["gen_ai.output.messages"])
    assert out["parts"] == [{"type": "text", "content": "Hello from fake server"}]


async def test_aadapter_generate_content(instrumented, llm):
    """What ``Router.aadapter_generate_content`` calls, with its ``litellm_params``."""
    from litellm.types.router import GenericLiteLLMParams

    result = await need("aadapter_generate_content")(
        model="openai/gpt-4o-mini",
        contents=CONTENTS,
        litellm_params=GenericLiteLLMParams(**local(llm)),
    )
    assert result["candidates"]
    span = instrumented.only()
    assert span.name == "generate_content gpt-4o-mini"
    assert span.attributes["gen_ai.usage.output_tokens"] == 7


# --- images: edits and variations -----------------------------------------------------------


@pytest.mark.parametrize("is_async", [False, True])
async def test_image_edit(instrument, telemetry, llm, is_async):
    instrument(capture_message_content="SPAN_ONLY")
    function = need("aimage_edit" if is_async else "image_edit")
    result = await call(
        function, is_async, image=image(), prompt="a cat", model="openai/gpt-image-1", **local(llm)
    )
    span = telemetry.only()
    a = attrs_of(span)
    assert span.name == "generate_content gpt-image-1"
    assert a["gen_ai.output.type"] == "image"
    assert json.loads(a["gen_ai.input.messages"])[0]["parts"][0]["content"] == "a cat"
    (out,) = json.loads(a["gen_ai.output.messages"])
    assert out["parts"][0]["uri"] == result.data[0].url


@pytest.mark.parametrize("is_async", [False, True])
async def test_image_variation(instrumented, llm, is_async):
    function = need("aimage_variation" if is_async else "image_variation")
    await call(function, is_async, image=image(), model="openai/dall-e-2", n=2, **local(llm))
    span = instrumented.only()
    assert span.name == "generate_content dall-e-2"
    assert span.attributes["gen_ai.request.choice.count"] == 2


def test_image_edit_failure(instrumented, llm):
    with pytest.raises(litellm.InternalServerError):
        litellm.image_edit(image=image(), prompt="x", model="openai/error-500", **local(llm))
    _failed(instrumented.only())


# --- video jobs -------------------------------------------------------------------------


@pytest.mark.parametrize("is_async", [False, True])
async def test_video_generation(instrument, telemetry, llm, is_async):
    instrument(capture_message_content="SPAN_ONLY")
    function = need("avideo_generation" if is_async else "video_generation")
    result = await call(function, is_async, prompt="a cat", model="openai/sora-2", **local(llm))
    span = telemetry.only()
    a = attrs_of(span)
    assert span.name == "generate_content sora-2"
    assert a["gen_ai.provider.name"] == "openai"
    assert a["gen_ai.response.id"] == result.id
    assert a["gen_ai.response.model"] == "sora-2"
    assert json.loads(a["gen_ai.input.messages"])[0]["parts"][0]["content"] == "a cat"


@pytest.mark.parametrize("name", ["video_remix", "video_edit", "video_extension"])
@pytest.mark.parametrize("is_async", [False, True])
async def test_video_follow_ups(instrumented, llm, name, is_async):
    function = need(f"a{name}" if is_async else name)
    extra = {"seconds": "4"} if name == "video_extension" else {}
    result = await call(
        function,
        is_async,
        video_id="video_123",
        prompt="now a dog",
        custom_llm_provider="openai",
        **extra,
        **local(llm),
    )
    span = instrumented.only()
    assert span.attributes["gen_ai.operation.name"] == "generate_content"
    assert span.attributes["gen_ai.provider.name"] == "openai"
    assert span.attributes["gen_ai.response.id"] == result.id


def test_video_generation_failure(instrumented, llm):
    with pytest.raises(litellm.InternalServerError):
        need("video_generation")(prompt="x", model="openai/error-500", **local(llm))
    _failed(instrumented.only())


# --- moderation, OCR ------------------------------------------------------------------------


@pytest.mark.parametrize("is_async", [False, True])
async def test_moderation(instrument, telemetry, llm, is_async, monkeypatch):
    instrument(capture_message_content="SPAN_ONLY")
    monkeypatch.setenv("OPENAI_BASE_URL", llm.base_url)  # litellm 1.74's ignores api_base
    function = need("amoderation" if is_async else "moderation")
    model = "openai/omni-moderation-latest" if is_async else "omni-moderation-latest"
    result = await call(function, is_async, input="is this fine?", model=model, **local(llm))
    span = telemetry.only()
    a = attrs_of(span)
    assert span.name == "moderation omni-moderation-latest"
    assert a["gen_ai.operation.name"] == "moderation"
    assert a["gen_ai.provider.name"] == "openai"
    assert a["gen_ai.response.id"] == result.id
    assert a["gen_ai.response.model"] == "omni-moderation-latest"
    assert json.loads(a["gen_ai.input.messages"])[0]["parts"][0]["content"] == "is this fine?"


def test_moderation_failure(instrumented, llm):
    with pytest.raises(Exception):  # noqa: B017  (openai's own error: litellm maps none here)
        litellm.moderation(input="x", model="error-500", **local(llm))
    _failed(instrumented.only())


@pytest.mark.parametrize("is_async", [False, True])
async def test_ocr(instrument, telemetry, llm, is_async):
    instrument(capture_message_content="SPAN_ONLY")
    function = need("aocr" if is_async else "ocr")
    await call(
        function,
        is_async,
        model="mistral/mistral-ocr-latest",
        document={"type": "document_url", "document_url": "https://example.com/a.pdf"},
        **local(llm),
    )
    span = telemetry.only()
    a = attrs_of(span)
    assert span.name == "ocr mistral-ocr-latest"
    assert a["gen_ai.operation.name"] == "ocr"
    assert a["gen_ai.provider.name"] == "mistral_ai"
    assert a["gen_ai.response.model"] == "mistral-ocr-latest"
    (out,) = json.loads(a["gen_ai.output.messages"])
    assert out["parts"] == [{"type": "text", "content": "# Invoice\n\nTotal: 42 EUR"}]


def test_ocr_failure(instrumented, llm):
    with pytest.raises(litellm.InternalServerError):
        need("ocr")(
            model="mistral/error-500",
            document={"type": "document_url", "document_url": "https://example.com/a.pdf"},
            **local(llm),
        )
    _failed(instrumented.only())


# --- retrieval: web search, vector stores -------------------------------------------------


@pytest.mark.parametrize("is_async", [False, True])
async def test_search(instrument, telemetry, llm, is_async):
    instrument(capture_message_content="SPAN_ONLY")
    function = need("asearch" if is_async else "search")
    if "search_provider" not in inspect.signature(function).parameters:
        pytest.skip(f"litellm {LITELLM}'s litellm.search is the vector store search")
    result = await call(
        function, is_async, query="cats", search_provider="perplexity", max_results=2, **local(llm)
    )
    assert len(result.results) == 2
    span = telemetry.only()
    a = attrs_of(span)
    assert span.name == "retrieval"
    assert a["gen_ai.operation.name"] == "retrieval"
    assert a["gen_ai.provider.name"] == "perplexity"
    assert a["gen_ai.retrieval.top_k"] == 2
    assert a["server.port"] == llm.port
    assert a["gen_ai.retrieval.query.text"] == "cats"
    assert [d["id"] for d in json.loads(a["gen_ai.retrieval.documents"])] == [
        "https://example.com/1",
        "https://example.com/2",
    ]


def test_search_without_content_capture_and_failure(instrumented, llm):
    search = need("search")
    if "search_provider" not in inspect.signature(search).parameters:
        pytest.skip(f"litellm {LITELLM}'s litellm.search is the vector store search")
    search(query="cats", search_provider="perplexity", **local(llm))
    with pytest.raises(litellm.InternalServerError):
        search(query="error-500", search_provider="perplexity", **local(llm))
    ok, failed = instrumented.finished()
    assert "gen_ai.retrieval.query.text" not in ok.attributes
    assert "gen_ai.retrieval.documents" not in ok.attributes
    _failed(failed)


@pytest.mark.parametrize("is_async", [False, True])
async def test_vector_store_search(instrument, telemetry, llm, is_async):
    instrument(capture_message_content="SPAN_ONLY")
    function = need("asearch" if is_async else "search", "litellm.vector_stores")
    await call(
        function, is_async, vector_store_id="vs_1", query="cats", max_num_results=2, **local(llm)
    )
    span = telemetry.only()
    a = attrs_of(span)
    assert span.name == "retrieval vs_1"
    assert a["gen_ai.data_source.id"] == "vs_1"
    assert a["gen_ai.provider.name"] == "openai"
    assert a["gen_ai.retrieval.top_k"] == 2
    assert json.loads(a["gen_ai.retrieval.documents"]) == [
        {"id": "file-1", "score": 0.9},
        {"id": "file-2", "score": 0.5},
    ]


async def test_vector_store_search_failure(instrumented, llm):
    with pytest.raises(
        (litellm.InternalServerError, litellm.APIConnectionError)
    ):  # 1.74: the latter
        await need("asearch", "litellm.vector_stores")(
            vector_store_id="vs_1", query="error-500", **local(llm)
        )
    _failed(instrumented.only())


# --- Interactions -------------------------------------------------------------------------


@pytest.mark.parametrize("is_async", [False, True])
async def test_interactions_create(instrument, telemetry, llm, is_async):
    instrument(capture_message_content="SPAN_ONLY")
    function = need("acreate" if is_async else "create", "litellm.interactions")
    result = await call(function, is_async, model="openai/gpt-4o-mini", input="hi", **local(llm))
    span = telemetry.only()
    a = attrs_of(span)
    assert span.name == "chat gpt-4o-mini"
    assert a["gen_ai.response.id"] == result.id
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert json.loads(a["gen_ai.input.messages"])[0]["parts"][0]["content"] == "hi"


# --- streams without usage --------------------------------------------------------------


def test_text_completion_stream_without_usage_records_no_tokens(instrumented):
    """litellm puts an all-zero usage on every chunk of such a stream: unknown, not 0."""
    stream = litellm.text_completion(
        model="openai/gpt-3.5-turbo-instruct", prompt="Once", stream=True, mock_response="a b"
    )
    assert "".join(c.choices[0].text or "" for c in stream) == "a b"
    a = instrumented.only().attributes
    assert "gen_ai.usage.input_tokens" not in a and "gen_ai.usage.output_tokens" not in a
    assert instrumented.histogram_points("gen_ai.client.token.usage") == []


def test_vector_store_search_with_openinference(instrument, telemetry, llm):
    """A retrieval invocation has no model or tokens: OpenInference names its kind."""
    instrument(openinference=True)
    need("search", "litellm.vector_stores")(vector_store_id="vs_1", query="cats", **local(llm))
    a = telemetry.only().attributes
    assert a["openinference.span.kind"] == "RETRIEVER"
    assert "llm.model_name" not in a
