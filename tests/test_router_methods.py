"""Every ``litellm.Router`` method that calls a model: a router span with its attempts,
retries and fallbacks, whether the Router was made before or after ``instrument()``.

The primary model group's deployment points at a refused port (a connection error: the
Router retries it, then falls back); the backup group's at the local fake OpenAI server.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import inspect
from typing import Any

import litellm
import openai
import pytest
from opentelemetry.trace import StatusCode

from opentelemetry_instrumentation_litellm import _router

REFUSED = "http://127.0.0.1:1/v1"  # nothing listens on port 1: connection refused at once
MESSAGES = [{"role": "user", "content": "hi"}]
AUDIO = ("a.mp3", b"ID3fake", "audio/mpeg")


LITELLM = importlib.metadata.version("litellm")


def _deployment(group: str, model: str, api_base: str, deployment_id: str) -> dict[str, Any]:
    return {
        "model_name": group,
        "litellm_params": {
            "model": model,
            "api_base": api_base,
            "api_key": "sk-fake",
            "max_retries": 0,
        },
        "model_info": {"id": deployment_id},
    }


def failing_over(model: str, backup_base: str) -> litellm.Router:
    """``primary`` (refused) retried once, then ``backup`` (``backup_base``)."""
    return litellm.Router(
        model_list=[
            _deployment("primary", model, REFUSED, "dep-refused"),
            _deployment("backup", model, backup_base, "dep-backup"),
        ],
        fallbacks=[{"primary": ["backup"]}],
        num_retries=1,
        retry_after=0,
    )


def one_attempt_only(method: str) -> bool:
    """litellm 1.74's Router has no retry loop for its generic methods (its
    ``_ageneric_api_call_with_fallbacks`` picks one deployment and calls it) nor for
    ``aspeech``: one attempt, no fallback."""
    version = tuple(int(part) for part in LITELLM.split(".")[:2])
    generic = {"aresponses", "aanthropic_messages", "agenerate_content", "aimage_edit", "aspeech"}
    return version < (1, 80) and method in generic


def in_order(order: str, instrument: Any, make: Any) -> litellm.Router:
    """The Router ``make()`` builds, before ``instrument()`` or after, as ``order`` says."""
    if order == "router first":
        router = make()
        instrument()
        return router
    instrument()
    return make()


def call(router: litellm.Router, method: str, **kwargs: Any) -> Any:
    function = getattr(router, method, None)
    if function is None:
        pytest.skip(f"litellm {LITELLM} has no Router.{method}")
    result = function(model="primary", **kwargs)
    if not inspect.isawaitable(result):
        return result

    async def wait() -> Any:
        return await result

    return asyncio.run(wait())


# method, deployment model, arguments, the attempt spans' name prefix
SERVED = [
    ("acompletion", "openai/gpt-4o-mini", {"messages": MESSAGES}, "chat"),
    ("completion", "openai/gpt-4o-mini", {"messages": MESSAGES}, "chat"),
    ("aresponses", "openai/gpt-4o-mini", {"input": "hi"}, "chat"),
    ("atext_completion", "openai/gpt-3.5-turbo-instruct", {"prompt": "hi"}, "text_completion"),
    ("aembedding", "openai/text-embedding-3-small", {"input": ["a"]}, "embeddings"),
    ("embedding", "openai/text-embedding-3-small", {"input": ["a"]}, "embeddings"),
    ("aimage_generation", "openai/dall-e-3", {"prompt": "a cat"}, "generate_content"),
    ("image_generation", "openai/dall-e-3", {"prompt": "a cat"}, "generate_content"),
    ("aspeech", "openai/tts-1", {"input": "hi", "voice": "alloy"}, "generate_content"),
    ("atranscription", "openai/whisper-1", {"file": AUDIO}, "generate_content"),
    (
        "arerank",
        "cohere/rerank-english-v3.0",
        {"query": "paris", "documents": ["paris food", "berlin"]},
        "rerank",
    ),
]


@pytest.mark.parametrize("order", ["router first", "instrument first"])
@pytest.mark.parametrize(
    ("method", "model", "arguments", "attempt_prefix"), SERVED, ids=[s[0] for s in SERVED]
)
def test_retries_and_fallback_recorded(
    instrument, telemetry, llm, order, method, model, arguments, attempt_prefix
):
    backup_base = llm.base_url.removesuffix("/v1") if model.startswith("cohere/") else llm.base_url
    router = in_order(order, instrument, lambda: failing_over(model, backup_base))
    if one_attempt_only(method):
        with pytest.raises(Exception):  # noqa: B017 - litellm's error for a refused port
            call(router, method, **arguments)
        router_span = telemetry.only("router")
        assert router_span.attributes["litellm.router.attempts"] == 1
        assert router_span.attributes["litellm.model_id"] == "dep-refused"
        return
    assert call(router, method, **arguments) is not None
    router_span = telemetry.only("router")
    assert router_span.name == "router primary"
    assert router_span.status.status_code is StatusCode.UNSET
    assert dict(router_span.attributes) == {
        "litellm.router.model_group": "primary",
        "litellm.router.final_model_group": "backup",
        "litellm.router.deployment": model,
        "litellm.model_id": "dep-backup",
        "litellm.router.attempts": 3,
        "litellm.router.retries": 1,
        "litellm.router.fallbacks": 1,
    }
    attempts = sorted(telemetry.finished(attempt_prefix + " "), key=lambda s: s.start_time)
    assert len(attempts) == 3
    assert {a.parent.span_id for a in attempts} == {router_span.context.span_id}
    assert [a.status.status_code for a in attempts] == [
        StatusCode.ERROR,
        StatusCode.ERROR,
        StatusCode.UNSET,
    ]
    assert [a.attributes.get("litellm.model_id") for a in attempts] == [
        "dep-refused",
        "dep-refused",
        "dep-backup",
    ]


# Methods the fake server cannot answer: every deployment refuses, so the Router tries
# primary twice, falls back, tries backup twice, and raises the last error.
UNSERVED = [
    ("aanthropic_messages", "anthropic/claude-3-5-sonnet", {"messages": MESSAGES, "max_tokens": 8}),
    (
        "agenerate_content",
        "gemini/gemini-2.0-flash",
        {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
    ),
    ("acreate_interaction", "gemini/gemini-2.0-flash", {"input": "hi"}),
    ("aimage_edit", "openai/gpt-image-1", {"image": b"png", "prompt": "a hat"}),
    (
        "aocr",
        "mistral/mistral-ocr-latest",
        {"document": {"type": "document_url", "document_url": "https://example.com/a.pdf"}},
    ),
    ("avideo_generation", "openai/sora-2", {"prompt": "a cat"}),
    ("avector_store_search", "openai/gpt-4o-mini", {"vector_store_id": "vs_1", "query": "hi"}),
    ("acompact_responses", "openai/gpt-4o-mini", {"input": "hi"}),
]


@pytest.mark.parametrize("order", ["router first", "instrument first"])
@pytest.mark.parametrize(("method", "model", "arguments"), UNSERVED, ids=[u[0] for u in UNSERVED])
def test_failed_retries_and_fallback_recorded(
    instrument, telemetry, order, method, model, arguments
):
    router = in_order(order, instrument, lambda: failing_over(model, REFUSED))
    with pytest.raises(Exception) as raised:
        call(router, method, **arguments)
    router_span = telemetry.only("router")
    assert router_span.name == "router primary"
    assert router_span.status.status_code is StatusCode.ERROR
    error = raised.value
    assert (
        router_span.attributes["error.type"] == f"{type(error).__module__}.{type(error).__name__}"
    )
    if one_attempt_only(method):
        assert router_span.attributes["litellm.router.attempts"] == 1
        return
    assert router_span.attributes["litellm.router.attempts"] == 4
    assert router_span.attributes["litellm.router.retries"] == 2
    assert router_span.attributes["litellm.router.fallbacks"] == 1
    assert router_span.attributes["litellm.router.final_model_group"] == "backup"
    assert router_span.attributes["litellm.model_id"] == "dep-backup"


def one_deployment(llm) -> litellm.Router:
    return litellm.Router(
        model_list=[_deployment("primary", "openai/gpt-4o-mini", llm.base_url, "dep-1")]
    )


@pytest.mark.parametrize("order", ["router first", "instrument first"])
def test_sync_responses_without_the_retry_loop(instrument, telemetry, llm, order):
    """litellm's sync ``responses`` picks one deployment and calls it, with no retries or
    fallbacks: one attempt, still recorded."""
    router = in_order(order, instrument, lambda: one_deployment(llm))
    assert call(router, "responses", input="hi") is not None
    router_span = telemetry.only("router")
    assert router_span.attributes["litellm.router.attempts"] == 1
    assert router_span.attributes["litellm.model_id"] == "dep-1"
    (attempt,) = [s for s in telemetry.finished() if s is not router_span]
    assert attempt.parent.span_id == router_span.context.span_id


def test_sync_text_completion_records_its_one_attempt(instrumented, llm):
    """litellm 1.102.4's sync ``Router.text_completion`` picks a deployment, then passes the
    model group name on as the model (its ``**kwargs`` override the deployment's): litellm
    raises. The router span records the attempt and the same error."""
    router = one_deployment(llm)
    try:
        call(router, "text_completion", prompt="hi")
    except litellm.BadRequestError as error:
        expected_status, expected_error = StatusCode.ERROR, error
    else:
        expected_status, expected_error = StatusCode.UNSET, None
    router_span = instrumented.only("router")
    assert router_span.status.status_code is expected_status
    assert router_span.attributes["litellm.router.attempts"] == 1
    if expected_error is not None:
        assert router_span.attributes["error.type"] == "litellm.exceptions.BadRequestError"


def test_moderation_has_one_attempt(instrument, telemetry):
    """``amoderation`` picks a deployment without litellm's retry loop: one attempt."""
    router = failing_over("openai/omni-moderation-latest", REFUSED)
    instrument()
    with pytest.raises(openai.APIConnectionError):
        call(router, "amoderation", input="hi")
    router_span = telemetry.only("router")
    assert router_span.attributes["litellm.router.attempts"] == 1
    assert router_span.attributes["litellm.model_id"] == "dep-refused"
    assert router_span.status.status_code is StatusCode.ERROR


def test_uninstrument_restores_a_router_made_before(instrument, telemetry, llm):
    router_class = dict(vars(litellm.Router))
    router = one_deployment(llm)
    attributes = dict(vars(router))
    instrumentor = instrument()
    call(router, "aresponses", input="hi")
    assert len(telemetry.finished("router")) == 1
    instrumentor.uninstrument()
    assert dict(vars(litellm.Router)) == router_class
    assert dict(vars(router)) == attributes
    for name in _router.ROUTER_METHODS:
        assert not hasattr(getattr(router, name, None), "__wrapped__"), name
    telemetry.spans.clear()
    call(router, "aresponses", input="hi")
    call(router, "acompletion", messages=MESSAGES)
    assert telemetry.finished() == []


def test_uninstrument_takes_the_router_span_from_a_router_made_while_instrumented(
    instrument, telemetry, llm
):
    router_class = dict(vars(litellm.Router))
    instrumentor = instrument()
    router = one_deployment(llm)
    instrumentor.uninstrument()
    assert dict(vars(litellm.Router)) == router_class
    for name in _router.ROUTER_METHODS:
        assert not hasattr(getattr(router, name, None), "__wrapped__"), name
    call(router, "acompletion", messages=MESSAGES)
    call(router, "aresponses", input="hi")
    assert telemetry.finished("router") == []


def test_uninstrument_leaves_no_attempt_span_on_a_router_made_while_instrumented(
    instrument, telemetry, llm
):
    """litellm 1.102.4's ``Router.__init__`` keeps the litellm functions of the moment in
    closures (``aresponses`` among them): the wrappers it kept are switched off too."""
    instrumentor = instrument()
    router = one_deployment(llm)
    instrumentor.uninstrument()
    call(router, "aresponses", input="hi")
    assert telemetry.finished() == []


def test_instance_methods_are_the_routers_own_when_wrapped(instrument, llm):
    """Reading a wrapped per-instance method gives the instance's own function, wrapped;
    assigning one (as ``Router.__init__`` does) stores it on the instance unchanged."""
    instrument()
    router = failing_over("openai/gpt-4o-mini", llm.base_url)
    own = vars(router).get("aresponses")
    if own is None:
        pytest.skip("this litellm defines aresponses on the class")
    assert router.aresponses.__wrapped__ is own

    async def replacement(**kwargs: Any) -> str:
        return "replaced"

    router.aresponses = replacement
    assert vars(router)["aresponses"] is replacement
    assert asyncio.run(router.aresponses(model="primary")) == "replaced"
    del router.aresponses
    assert "aresponses" not in vars(router)
