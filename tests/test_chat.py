"""Chat spans for litellm.completion / litellm.acompletion (non-streaming)."""

from __future__ import annotations

import litellm
import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

MESSAGES = [{"role": "user", "content": "Say hello"}]


def call_fake(llm, **kwargs):
    kwargs.setdefault("model", "openai/gpt-4o-mini")
    kwargs.setdefault("messages", MESSAGES)
    return litellm.completion(api_base=llm.base_url, api_key="sk-fake", max_retries=0, **kwargs)


def test_span_over_real_http(instrumented, llm):
    response = call_fake(llm)
    span = instrumented.only()
    assert span.name == "chat gpt-4o-mini"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    attributes = dict(span.attributes)
    assert attributes.pop("litellm.call_id") == response._hidden_params["litellm_call_id"]
    cost = attributes.pop("litellm.response.cost")
    assert cost == pytest.approx(response._hidden_params["response_cost"]) and cost > 0
    assert attributes == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "server.address": "127.0.0.1",
        "server.port": llm.port,
        "gen_ai.response.id": response.id,
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 11,
        "gen_ai.usage.output_tokens": 7,
        "gen_ai.usage.cache_read.input_tokens": 3,
        "gen_ai.usage.reasoning.output_tokens": 2,
        "litellm.provider": "openai",
    }
    assert response.id.startswith("chatcmpl-fake-")


def test_start_attributes_are_seen_by_samplers(instrument, telemetry, llm):
    """Operation, provider, model and server are known when the span starts."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Sampler

    seen = {}

    class RecordingSampler(Sampler):
        def should_sample(
            self,
            parent_context,
            trace_id,
            name,
            kind=None,
            attributes=None,
            links=None,
            trace_state=None,
        ):
            seen.update(attributes or {})
            return ALWAYS_ON.should_sample(parent_context, trace_id, name, kind, attributes)

        def get_description(self) -> str:
            return "recording"

    instrument(tracer_provider=TracerProvider(sampler=RecordingSampler()))
    call_fake(llm)
    assert seen == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "server.address": "127.0.0.1",
        "server.port": llm.port,
    }


def test_positional_arguments_give_the_same_span(instrumented, llm):
    litellm.completion(
        "openai/gpt-4o-mini", MESSAGES, api_base=llm.base_url, api_key="sk-fake", temperature=0.3
    )
    litellm.completion(
        model="openai/gpt-4o-mini",
        messages=MESSAGES,
        api_base=llm.base_url,
        api_key="sk-fake",
        temperature=0.3,
    )
    positional, keyword = instrumented.finished()
    volatile = {"gen_ai.response.id", "litellm.call_id"}

    def stable(span):
        return {k: v for k, v in span.attributes.items() if k not in volatile}

    assert positional.name == keyword.name == "chat gpt-4o-mini"
    assert stable(positional) == stable(keyword)
    assert positional.attributes["gen_ai.request.temperature"] == 0.3


async def test_async_positional_arguments(instrumented, llm):
    # acompletion's third positional parameter differs from completion's: bound per function.
    await litellm.acompletion("openai/gpt-4o-mini", MESSAGES, api_base=llm.base_url, api_key="k")
    span = instrumented.only()
    assert span.name == "chat gpt-4o-mini"
    assert span.attributes["gen_ai.usage.output_tokens"] == 7


def test_request_parameters(instrumented, llm):
    call_fake(
        llm,
        temperature=0.7,
        top_p=0.9,
        top_k=40,
        max_tokens=128,
        stop=["END", "STOP"],
        frequency_penalty=0.5,
        presence_penalty=-0.25,
        seed=42,
        n=2,
        response_format={"type": "json_object"},
    )
    attributes = instrumented.only().attributes
    assert attributes["gen_ai.request.temperature"] == 0.7
    assert attributes["gen_ai.request.top_p"] == 0.9
    assert attributes["gen_ai.request.top_k"] == 40
    assert attributes["gen_ai.request.max_tokens"] == 128
    assert attributes["gen_ai.request.stop_sequences"] == ("END", "STOP")
    assert attributes["gen_ai.request.frequency_penalty"] == 0.5
    assert attributes["gen_ai.request.presence_penalty"] == -0.25
    assert attributes["gen_ai.request.seed"] == 42
    assert attributes["gen_ai.request.choice.count"] == 2
    assert attributes["gen_ai.output.type"] == "json"
    assert attributes["gen_ai.response.finish_reasons"] == ("stop", "stop")


def test_single_stop_string_and_max_completion_tokens(instrumented):
    litellm.completion(
        "gpt-4o-mini", MESSAGES, mock_response="ok", stop="END", max_completion_tokens=64, n=1
    )
    attributes = instrumented.only().attributes
    assert attributes["gen_ai.request.stop_sequences"] == ("END",)
    assert attributes["gen_ai.request.max_tokens"] == 64
    assert "gen_ai.request.choice.count" not in attributes  # only when != 1


def test_structured_output_class_is_json(instrumented):
    from pydantic import BaseModel

    class Answer(BaseModel):
        text: str

    litellm.completion(
        "gpt-4o-mini", MESSAGES, mock_response='{"text": "x"}', response_format=Answer
    )
    assert instrumented.only().attributes["gen_ai.output.type"] == "json"


def test_litellm_facts_user_tags_and_session(instrumented):
    response = litellm.completion(
        model="gpt-4o-mini",
        messages=MESSAGES,
        mock_response="hello",
        user="user-42",
        metadata={
            "tags": ["jobID:214590dsff09fds", "taskName:run_page_classification"],
            "session_id": "session-7",
        },
    )
    attributes = instrumented.only().attributes
    assert attributes["user.id"] == "user-42"
    assert attributes["gen_ai.conversation.id"] == "session-7"
    assert attributes["litellm.request.tags"] == (
        "jobID:214590dsff09fds",
        "taskName:run_page_classification",
    )
    assert attributes["litellm.call_id"] == response._hidden_params["litellm_call_id"]
    assert attributes["litellm.response.cost"] == pytest.approx(
        response._hidden_params["response_cost"]
    )
    assert attributes["gen_ai.usage.input_tokens"] == 10
    assert attributes["gen_ai.usage.output_tokens"] == 20


def test_litellm_session_id_argument(instrumented):
    litellm.completion("gpt-4o-mini", MESSAGES, mock_response="hi", litellm_session_id="s-1")
    assert instrumented.only().attributes["gen_ai.conversation.id"] == "s-1"


@pytest.mark.parametrize(
    ("model", "kwargs", "provider", "request_model"),
    [
        ("anthropic/claude-3-5-sonnet-20240620", {}, "anthropic", "claude-3-5-sonnet-20240620"),
        (
            "bedrock/anthropic.claude-3-haiku-20240307-v1:0",
            {},
            "aws.bedrock",
            "anthropic.claude-3-haiku-20240307-v1:0",
        ),
        ("azure/my-deployment", {}, "azure.ai.openai", "my-deployment"),
        ("gemini/gemini-1.5-pro", {}, "gcp.gemini", "gemini-1.5-pro"),
        ("vertex_ai/gemini-1.5-pro", {}, "gcp.vertex_ai", "gemini-1.5-pro"),
        ("mistral/mistral-large-latest", {}, "mistral_ai", "mistral-large-latest"),
        ("groq/llama3-8b-8192", {}, "groq", "llama3-8b-8192"),
        ("xai/grok-2", {}, "x_ai", "grok-2"),
        ("ollama/llama3", {}, "ollama", "llama3"),
        ("my-model", {"custom_llm_provider": "openai"}, "openai", "my-model"),
    ],
)
def test_provider_and_model_without_routing_prefix(
    instrumented, model, kwargs, provider, request_model
):
    litellm.completion(model=model, messages=MESSAGES, mock_response="hi", **kwargs)
    span = instrumented.only()
    assert span.attributes["gen_ai.provider.name"] == provider
    assert span.attributes["gen_ai.request.model"] == request_model
    assert span.name == f"chat {request_model}"


def test_tool_call_names_without_content(instrumented, llm):
    response = call_fake(
        llm,
        model="openai/gpt-4o-mini-tool",
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "parameters": {"type": "object", "properties": {}},
                },
            }
        ],
    )
    assert response.choices[0].message.tool_calls[0].function.name == "get_weather"
    attributes = instrumented.only().attributes
    assert attributes["gen_ai.response.finish_reasons"] == ("tool_call",)
    assert attributes["litellm.response.tool_names"] == ("get_weather",)
    assert "gen_ai.input.messages" not in attributes
    assert "gen_ai.tool.definitions" not in attributes


def test_span_is_child_of_the_active_span(instrumented):
    tracer = instrumented.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("agent step") as parent:
        litellm.completion("gpt-4o-mini", MESSAGES, mock_response="hi")
    chat = instrumented.only("chat")
    assert chat.parent.span_id == parent.get_span_context().span_id
    assert chat.context.trace_id == parent.get_span_context().trace_id


class _SpanInsideCall(litellm.integrations.custom_logger.CustomLogger):
    """litellm runs this hook inside the call, just before the provider request."""

    def __init__(self, tracer):
        super().__init__()
        self.tracer = tracer

    def log_pre_api_call(self, model, messages, kwargs):
        with self.tracer.start_as_current_span("inside litellm"):
            pass


@pytest.fixture
def span_inside_call(instrumented, litellm_callbacks):
    litellm.callbacks = [
        *litellm.callbacks,
        _SpanInsideCall(instrumented.tracer_provider.get_tracer("hook")),
    ]


def test_work_inside_the_call_nests_under_the_span(instrumented, span_inside_call, llm):
    call_fake(llm)
    inner = instrumented.only("inside litellm")
    chat = instrumented.only("chat")
    assert inner.parent.span_id == chat.context.span_id


async def test_work_inside_the_async_call_nests_under_the_span(instrumented, span_inside_call, llm):
    await litellm.acompletion(
        model="openai/gpt-4o-mini", messages=MESSAGES, api_base=llm.base_url, api_key="k"
    )
    inner = instrumented.only("inside litellm")
    chat = instrumented.only("chat")
    assert inner.parent.span_id == chat.context.span_id


def test_context_is_restored_after_the_call(instrumented):
    before = trace.get_current_span()
    litellm.completion("gpt-4o-mini", MESSAGES, mock_response="hi")
    assert trace.get_current_span() is before


async def test_async_call_over_real_http(instrumented, llm):
    response = await litellm.acompletion(
        model="openai/gpt-4o-mini",
        messages=MESSAGES,
        api_base=llm.base_url,
        api_key="sk-fake",
        temperature=0.1,
    )
    span = instrumented.only()
    assert span.name == "chat gpt-4o-mini"
    assert span.attributes["gen_ai.response.id"] == response.id
    assert span.attributes["gen_ai.request.temperature"] == 0.1
    assert span.attributes["server.port"] == llm.port
    assert span.attributes["gen_ai.usage.input_tokens"] == 11


async def test_concurrent_async_calls_get_separate_spans(instrumented, llm):
    import asyncio

    tracer = instrumented.tracer_provider.get_tracer("app")

    async def one(i):
        with tracer.start_as_current_span(f"task {i}"):
            await litellm.acompletion(
                model="openai/gpt-4o-mini", messages=MESSAGES, api_base=llm.base_url, api_key="k"
            )

    await asyncio.gather(*(one(i) for i in range(5)))
    tasks = {s.context.span_id: s for s in instrumented.finished("task")}
    chats = instrumented.finished("chat")
    assert len(chats) == 5
    assert {c.parent.span_id for c in chats} == set(tasks)


def test_one_llm_request_per_call(instrumented, llm):
    call_fake(llm)
    assert [r["path"] for r in llm.requests()] == ["/v1/chat/completions"]
