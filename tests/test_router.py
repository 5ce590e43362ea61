"""litellm.Router: one router span over one span per deployment attempt."""

from __future__ import annotations

import litellm
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from conftest import SECRET
from test_secrets import everything_recorded

MESSAGES = [{"role": "user", "content": "hi"}]


def deployment(llm, name: str, model: str, deployment_id: str) -> dict:
    return {
        "model_name": name,
        "litellm_params": {
            "model": model,
            "api_base": llm.base_url,
            "api_key": SECRET,
            "aws_secret_access_key": SECRET,
            "max_retries": 0,
        },
        "model_info": {"id": deployment_id},
    }


def test_router_success(instrumented, llm):
    router = litellm.Router(model_list=[deployment(llm, "fast", "openai/gpt-4o-mini", "dep-1")])
    router.completion(model="fast", messages=MESSAGES)
    router_span = instrumented.only("router")
    chat = instrumented.only("chat")
    assert router_span.name == "router fast"
    assert router_span.kind is SpanKind.INTERNAL
    assert chat.parent.span_id == router_span.context.span_id
    assert dict(router_span.attributes) == {
        "litellm.router.model_group": "fast",
        "litellm.router.final_model_group": "fast",
        "litellm.router.deployment": "openai/gpt-4o-mini",
        "litellm.model_id": "dep-1",
        "litellm.router.attempts": 1,
        "litellm.router.retries": 0,
        "litellm.router.fallbacks": 0,
    }
    assert chat.name == "chat gpt-4o-mini"
    assert chat.attributes["gen_ai.provider.name"] == "openai"
    assert chat.attributes["server.port"] == llm.port
    assert chat.attributes["litellm.model_id"] == "dep-1"
    assert SECRET not in everything_recorded(instrumented)


async def test_router_fallback_shows_both_attempts(instrumented, llm):
    router = litellm.Router(
        model_list=[
            deployment(llm, "primary", "openai/gpt-4o-mini-error-429", "dep-bad"),
            deployment(llm, "backup", "openai/gpt-4o-mini", "dep-good"),
        ],
        fallbacks=[{"primary": ["backup"]}],
        num_retries=0,
    )
    response = await router.acompletion(model="primary", messages=MESSAGES)
    assert response.choices[0].message.content == "Hello from fake server"
    router_span = instrumented.only("router")
    attempts = sorted(instrumented.finished("chat"), key=lambda s: s.start_time)
    assert [a.attributes["gen_ai.request.model"] for a in attempts] == [
        "gpt-4o-mini-error-429",
        "gpt-4o-mini",
    ]
    assert attempts[0].status.status_code is StatusCode.ERROR
    assert attempts[0].attributes["error.type"] == "litellm.exceptions.RateLimitError"
    assert attempts[1].status.status_code is StatusCode.UNSET
    assert {a.parent.span_id for a in attempts} == {router_span.context.span_id}
    attributes = router_span.attributes
    assert attributes["litellm.router.model_group"] == "primary"
    assert attributes["litellm.router.final_model_group"] == "backup"
    assert attributes["litellm.model_id"] == "dep-good"
    assert attributes["litellm.router.attempts"] == 2
    assert attributes["litellm.router.fallbacks"] == 1
    assert attributes["litellm.router.retries"] == 0
    assert router_span.status.status_code is StatusCode.UNSET
    assert SECRET not in everything_recorded(instrumented)


async def test_router_retries_then_fails(instrumented, llm):
    router = litellm.Router(
        model_list=[deployment(llm, "flaky", "openai/gpt-4o-mini-error-500", "dep-500")],
        num_retries=1,
        retry_after=0,
    )
    with pytest.raises(litellm.InternalServerError):
        await router.acompletion(model="flaky", messages=MESSAGES)
    router_span = instrumented.only("router")
    attempts = instrumented.finished("chat")
    assert len(attempts) == 2
    assert all(a.status.status_code is StatusCode.ERROR for a in attempts)
    assert router_span.status.status_code is StatusCode.ERROR
    assert router_span.attributes["error.type"] == "litellm.exceptions.InternalServerError"
    assert router_span.attributes["litellm.router.attempts"] == 2
    assert router_span.attributes["litellm.router.retries"] == 1
    assert router_span.attributes["litellm.router.fallbacks"] == 0


async def test_router_embedding(instrumented, llm):
    router = litellm.Router(
        model_list=[deployment(llm, "embed", "openai/text-embedding-3-small", "dep-e")]
    )
    await router.aembedding(model="embed", input=["a"])
    router_span = instrumented.only("router")
    embedding = instrumented.only("embeddings")
    assert embedding.parent.span_id == router_span.context.span_id
    assert router_span.attributes["litellm.router.attempts"] == 1
