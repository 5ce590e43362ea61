"""Agent-to-agent (A2A) calls: ``litellm.a2a_protocol.send_message`` / ``asend_message`` /
``asend_message_streaming``, which the LiteLLM Proxy's ``/a2a/{agent}`` routes call too.

util-genai's remote agent invocation makes the span (``invoke_agent {gen_ai.agent.name}``,
kind CLIENT): the agent's name from its card where the caller handed litellm a client that
holds one, or from the model name the proxy gives the call (``a2a_agent/{name}``); the
agent's id from litellm's ``agent_id`` argument (the proxy's agent id); ``server.*`` from the
agent's URL. ``gen_ai.provider.name`` is the completion bridge's provider when litellm
routes the call through one (``litellm_params.custom_llm_provider``: ``langgraph``,
``bedrock``, ...), else litellm's own name for an A2A agent, ``a2a_agent``. The message the
agent got and what it answered (text parts) are content: recorded only with capture on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from opentelemetry.util.genai.types import InputMessage, OutputMessage, TextPart

from opentelemetry_instrumentation_litellm import _upstream
from opentelemetry_instrumentation_litellm._messages import ContentPolicy
from opentelemetry_instrumentation_litellm._providers import provider_name, server_of
from opentelemetry_instrumentation_litellm._request import apply_litellm_request
from opentelemetry_instrumentation_litellm._response import apply_hidden_params, field
from opentelemetry_instrumentation_litellm._upstream import GEN_AI_CONVERSATION_ID

A2A_PROVIDER: Final = "a2a_agent"
"""litellm's provider name for an A2A agent (its model names are ``a2a_agent/{name}``)."""
_MODEL_PREFIX: Final = A2A_PROVIDER + "/"


def _root(value: Any) -> Any:
    """The object inside a pydantic ``RootModel`` (the A2A SDK's request and response
    unions), or ``value``."""
    root = getattr(value, "root", None)
    return value if root is None else root


def _request_message(call: Mapping[str, Any]) -> Any:
    return field(field(_root(call.get("request")), "params"), "message")


def _agent_name(call: Mapping[str, Any]) -> str | None:
    """The agent's name, if known before the call: the card of the client handed to litellm,
    or the ``a2a_agent/{name}`` model the proxy gives the call's logging object."""
    card = _upstream.a2a_client_card(call.get("a2a_client"))
    name = field(card, "name") if card is not None else None
    if isinstance(name, str) and name:
        return name
    model = _upstream.logging_model(call.get("litellm_logging_obj"))
    if isinstance(model, str) and model.startswith(_MODEL_PREFIX):
        return model[len(_MODEL_PREFIX) :] or None
    return None


def _agent_url(call: Mapping[str, Any]) -> str | None:
    api_base = call.get("api_base")
    if isinstance(api_base, str) and api_base:
        return api_base
    card = _upstream.a2a_client_card(call.get("a2a_client"))
    for interface in field(card, "supported_interfaces") or ():
        url = field(interface, "url")
        if isinstance(url, str) and url:
            return url
    url = field(card, "url")
    return url if isinstance(url, str) else None


def start(handler: Any, _name: str, call: Mapping[str, Any]) -> Any:
    """A remote agent invocation (``invoke_agent``, kind CLIENT)."""
    params = call.get("litellm_params")
    bridge = params.get("custom_llm_provider") if isinstance(params, Mapping) else None
    address, port = server_of(_agent_url(call))
    context_id = field(_request_message(call), "context_id")
    invocation = handler.invoke_remote_agent(
        provider_name(bridge if isinstance(bridge, str) and bridge else A2A_PROVIDER),
        request_model=params.get("model") if isinstance(params, Mapping) else None,
        server_address=address,
        server_port=port,
        agent_name=_agent_name(call),
        conversation_id=context_id if isinstance(context_id, str) else None,
    )
    agent_id = call.get("agent_id")
    if isinstance(agent_id, str) and agent_id:
        invocation.agent_id = agent_id
    return invocation


def apply_request(invocation: Any, call: Mapping[str, Any]) -> None:
    apply_litellm_request(invocation, call)


def _result(response: Any) -> Any:
    return field(_root(response), "result")


def apply_response(invocation: Any, response: Any) -> None:
    """litellm's facts (cost, call id) and the conversation the agent answered in."""
    context_id = field(_result(response), "context_id")
    if context_id is None:
        context_id = field(_result(response), "contextId")
    if isinstance(context_id, str) and context_id:
        invocation.attributes.setdefault(GEN_AI_CONVERSATION_ID, context_id)
    apply_hidden_params(invocation, response)


def _text_parts(message: Any, policy: ContentPolicy) -> list[TextPart]:
    parts = []
    for part in field(message, "parts") or ():
        part = _root(part)
        text = field(part, "text")
        if isinstance(text, str):
            parts.append(TextPart(content=policy.text(text)))
    return parts


def input_content(invocation: Any, call: Mapping[str, Any], policy: ContentPolicy) -> None:
    parts = _text_parts(_request_message(call), policy)
    if parts:
        invocation.input_messages = [InputMessage(role="user", parts=parts)]


def _answer_parts(result: Any, policy: ContentPolicy) -> list[TextPart]:
    """An answer's text: a message's parts, or a task's status message and artifacts."""
    if field(result, "parts") is not None:
        return _text_parts(result, policy)
    parts = _text_parts(field(field(result, "status"), "message"), policy)
    for artifact in field(result, "artifacts") or ():
        parts += _text_parts(artifact, policy)
    return parts


def output_content(invocation: Any, response: Any, policy: ContentPolicy) -> None:
    parts = _answer_parts(_result(response), policy)
    if parts:
        invocation.output_messages = [
            OutputMessage(role="assistant", parts=parts, finish_reason="stop")
        ]


class StreamState:
    """A streamed A2A answer: ``SendStreamingMessageResponse`` events (a message, a task, its
    status and artifact updates). The text parts are kept only with content capture on."""

    __slots__ = ("capture", "context_id", "final", "parts")

    def __init__(self, capture: bool) -> None:
        self.capture = capture
        self.context_id: str | None = None
        self.final = False
        self.parts: list[Any] = []

    @property
    def complete(self) -> bool:
        return self.final

    def add(self, event: Any) -> None:
        result = _result(event)
        if self.context_id is None:
            context_id = field(result, "context_id") or field(result, "contextId")
            if isinstance(context_id, str):
                self.context_id = context_id
        kind = field(result, "kind")
        if kind == "message" or field(result, "final") is True:
            self.final = True
        if self.capture:
            self.parts.append(result)

    def apply(
        self, invocation: Any, stream: Any, policy: ContentPolicy, error: BaseException | None
    ) -> None:
        if self.context_id:
            invocation.attributes.setdefault(GEN_AI_CONVERSATION_ID, self.context_id)
        if self.capture:
            parts: list[TextPart] = []
            for result in self.parts:
                parts += _answer_parts(field(result, "artifact") or result, policy)
            if parts:
                reason = "error" if error is not None else "stop"
                invocation.output_messages = [
                    OutputMessage(role="assistant", parts=parts, finish_reason=reason)
                ]
