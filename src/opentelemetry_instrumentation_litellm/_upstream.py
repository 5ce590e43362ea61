"""The one door to upstream APIs that are not public.

Every name below is something an upstream project does not promise to keep: a private
attribute, an incubating module, a subclass hook with a leading underscore. Each item says
why it is used and which public API would replace it. ``tests/test_upstream.py`` pins every
item against the installed versions, so an upstream release that drops one fails that test
with the item's name instead of silently changing a span.

Nothing here runs at import beyond binding names: no litellm, no SDK, no FastAPI import.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Final

# --- OpenTelemetry semantic conventions: incubating attribute names ---------------------
# Why: the GenAI, MCP, JSON-RPC, user and session attributes are still "development" in
# semconv, so the Python package only ships them under ``opentelemetry.semconv._incubating``.
# Using the constants keeps the names in the library's hands (no typed strings).
# Public replacement: ``opentelemetry.semconv.attributes.gen_ai_attributes`` (and
# ``user_attributes``/``session_attributes``) once the conventions are stable.
from opentelemetry.semconv._incubating.attributes.gen_ai_attributes import (
    GEN_AI_CONVERSATION_ID,
    GEN_AI_INPUT_MESSAGES,
    GEN_AI_OPERATION_NAME,
    GEN_AI_OUTPUT_MESSAGES,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_RESPONSE_ID,
    GEN_AI_RESPONSE_MODEL,
    GEN_AI_SYSTEM_INSTRUCTIONS,
    GEN_AI_TOOL_DEFINITIONS,
    GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
    GenAiOperationNameValues,
    GenAiProviderNameValues,
)
from opentelemetry.semconv._incubating.attributes.jsonrpc_attributes import JSONRPC_REQUEST_ID
from opentelemetry.semconv._incubating.attributes.mcp_attributes import (
    MCP_METHOD_NAME,
    MCP_PROTOCOL_VERSION,
    MCP_SESSION_ID,
)
from opentelemetry.semconv._incubating.attributes.user_attributes import USER_ID

# --- opentelemetry-util-genai 1.3b0 ----------------------------------------------------
# Why: ``TelemetryHandler`` reads the content capturing mode from the environment only,
# and keeps it (and whether any content is needed at all) in two private attributes;
# ``LiteLLMInstrumentor().instrument(capture_message_content=...)`` must override it for
# its own handler. ``_NoOpCompletionHook`` is how the handler tells "no hook" apart.
# Public replacement: a ``content_capturing_mode`` argument of ``TelemetryHandler``.
from opentelemetry.util.genai.completion_hook import _NoOpCompletionHook
from opentelemetry.util.genai.types import ContentCapturingMode

HANDLER_CAPTURE_ATTRIBUTES: Final = ("_content_capturing_mode", "_capture_content")
"""The handler's private attributes written by :func:`set_capture_mode`."""

STREAM_WRAPPER_HOOKS: Final = (
    "_process_chunk",
    "_on_stream_end",
    "_on_stream_error",
    "_finalize_success",
    "_finalize_failure",
    "_execution_context",
)
"""Why: ``SyncStreamWrapper``/``AsyncStreamWrapper`` are meant to be subclassed ("Subclass
this when wrapping a provider SDK stream") and these underscore methods are the hooks a
subclass overrides or calls (``_streams.py``); they are protected, not public.
Public replacement: none announced; they are util-genai's documented extension points."""


def set_capture_mode(handler: Any, mode: ContentCapturingMode) -> None:
    """Give ``handler`` a content capturing mode other than the environment's."""
    handler._content_capturing_mode = mode
    handler._capture_content = mode is not ContentCapturingMode.NO_CONTENT or not isinstance(
        handler._completion_hook, _NoOpCompletionHook
    )


# --- litellm ---------------------------------------------------------------------------
_logger = logging.getLogger(__name__)
_lost: set[str] = set()
_lost_lock = threading.Lock()


def litellm_version() -> str:
    """The installed litellm's version (``litellm.__version__`` is not in every release)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("litellm")
    except PackageNotFoundError:  # pragma: no cover - litellm vendored without metadata
        return "unknown"


def seam_lost(seam: str, feature: str) -> None:
    """Say once per process, as a warning, that litellm's private ``seam`` is missing or no
    longer on the call path, naming the ``feature`` lost and the installed litellm: an upgrade
    that drops a seam loses that feature loudly, not silently (README: supported range)."""
    with _lost_lock:
        if seam in _lost:
            return
        _lost.add(seam)
    _logger.warning(
        "litellm %s has no %s (or no longer calls it): %s. Tested litellm releases: README.md.",
        litellm_version(),
        seam,
        feature,
    )


# Why: litellm keeps its own facts about a call (provider, api_base, cost, call id, cache
# hit, Router deployment id) on ``response._hidden_params``; nothing public carries them
# on the response (the ``standard_logging_object`` of its callbacks comes after the call).
# Public replacement: a public accessor on litellm's response types.
HIDDEN_PARAMS: Final = "_hidden_params"


def hidden_params(response: Any) -> Any:
    """litellm's ``_hidden_params`` of a response or stream, or None.

    On a pydantic response it is a private attribute, kept in ``__pydantic_private__``
    (pydantic's documented storage of private attributes): read there directly, since
    ``getattr`` raises and catches an AttributeError before pydantic's ``__getattr__``
    finds it. A stream (not pydantic) keeps it as a plain attribute.
    """
    private = getattr(response, "__pydantic_private__", None)
    if private is not None:
        value = private.get(HIDDEN_PARAMS)
        if value is not None:
            return value
    value = getattr(response, HIDDEN_PARAMS, None)
    if value is None and type(response).__name__ in HIDDEN_PARAMS_ALWAYS:
        seam_lost(
            f"{type(response).__name__}.{HIDDEN_PARAMS}",
            "spans lose litellm.provider, litellm.call_id, litellm.response.cost, server.address",
        )
    return value


HIDDEN_PARAMS_ALWAYS: Final = frozenset({"ModelResponse", "CustomStreamWrapper"})
"""litellm types that carry ``_hidden_params`` in every release: one without them is a lost
seam, not a call that has none."""


# Why: litellm rewrites every stream chunk's ``model`` to the requested model name and keeps
# the model the provider reported on ``CustomStreamWrapper._provider_response_model``
# (litellm >= 1.80); ``gen_ai.response.model`` is the provider's.
# Public replacement: a public attribute of ``CustomStreamWrapper``.
PROVIDER_RESPONSE_MODEL: Final = "_provider_response_model"


def provider_response_model(stream: Any) -> str | None:
    """The model the provider reported for a litellm stream, if litellm kept it."""
    model = getattr(stream, PROVIDER_RESPONSE_MODEL, None)
    if not hasattr(stream, PROVIDER_RESPONSE_MODEL) and _is_litellm_stream(stream):
        seam_lost(
            f"CustomStreamWrapper.{PROVIDER_RESPONSE_MODEL}",
            "a stream's gen_ai.response.model is the requested model, not the provider's",
        )
    return model if isinstance(model, str) else None


def _is_litellm_stream(stream: Any) -> bool:
    return type(stream).__name__ == "CustomStreamWrapper"


# Why: litellm's stream has no ``close()``; to release the provider's connection when the
# user closes a traced stream early we close what it reads from,
# ``CustomStreamWrapper.completion_stream`` (no underscore, but not documented either).
# Public replacement: a ``close()`` on ``CustomStreamWrapper``.
PROVIDER_STREAM: Final = "completion_stream"


def provider_stream(stream: Any) -> Any:
    """The provider stream a litellm ``CustomStreamWrapper`` reads from, or None."""
    if not hasattr(stream, PROVIDER_STREAM) and _is_litellm_stream(stream):
        seam_lost(
            f"CustomStreamWrapper.{PROVIDER_STREAM}",
            "closing a traced stream early no longer releases the provider's connection",
        )
    return getattr(stream, PROVIDER_STREAM, None)


# Why: an A2A span is named for the agent (``invoke_agent {name}``), a name known before the
# call only from the agent card of the client handed to ``litellm.a2a_protocol.asend_message``.
# ``create_a2a_client`` keeps the card it resolved on the client as ``_litellm_agent_card``
# (litellm's own stash); the A2A SDK's client keeps it as ``agent_card`` or ``_card``. Behind
# the LiteLLM Proxy the card is resolved inside the call, and the name is in the model name
# (``a2a_agent/{name}``) of the logging object the proxy passes as ``litellm_logging_obj``.
# Public replacement: an agent name argument of litellm's A2A functions. On the call path:
# tests/test_agents.py asserts the span's name from both (SDK client, real proxy).
A2A_CLIENT_CARDS: Final = ("_litellm_agent_card", "agent_card", "_card")
LOGGING_OBJECT_MODEL: Final = "model"


def a2a_client_card(client: Any) -> Any:
    """The agent card an A2A client holds, or None."""
    if client is None:
        return None
    for name in A2A_CLIENT_CARDS:
        card = getattr(client, name, None)
        if card is not None:
            return card
    return None


def logging_model(logging_object: Any) -> Any:
    """The model name on the logging object litellm's proxy passes into a call, or None."""
    return getattr(logging_object, LOGGING_OBJECT_MODEL, None) if logging_object else None


# Why: uvicorn's SIGTERM handling skips ``atexit``; the LiteLLM Proxy's lifespan ends by
# awaiting this module-level coroutine function of its server module, the last point where
# buffered spans can be flushed (``proxy/_shutdown.py`` wraps it). Not a documented proxy hook.
# Public replacement: a documented proxy shutdown hook (the proxy documents none in 1.102.4;
# ``LITELLM_WORKER_STARTUP_HOOKS`` has no shutdown counterpart).
PROXY_SERVER_MODULE: Final = "litellm.proxy.proxy_server"
PROXY_SHUTDOWN_EVENT: Final = "proxy_shutdown_event"


# Why: a Router call's attempts, retries and fallbacks (``_router.py``) are read where the
# Router makes them: its retry loop calls ``Router.make_call`` once per attempt (fallbacks
# re-enter the loop with the fallback group), and every attempt, with or without that loop,
# picks its deployment with ``Router.get_available_deployment`` or its async twin (which
# may call the sync one). Neither has an underscore, but neither is documented as a user
# API. Without them the router span still exists, with no attempts counted.
# Public replacement: a Router callback per attempt (litellm's ``log_retry`` and
# ``deployment_callback_on_*`` are internal too, and run only for some call types).
ROUTER_ATTEMPT: Final = "make_call"
ROUTER_CHOICE: Final = "get_available_deployment"
ROUTER_ASYNC_CHOICE: Final = "async_get_available_deployment"


# Why: litellm 1.102.4's ``Router.__init__`` binds ``aresponses``, ``aanthropic_messages``,
# ``agenerate_content``, ``aocr``, ... on each instance as closures over the litellm function
# *as it was then* (``self.factory_function(litellm.aresponses, ...)``): a Router made before
# ``instrument()`` would call the unwrapped function, and its attempts would get no span.
# These private methods receive that function as a keyword argument, once per attempt, and
# ``_router.reachable_now`` hands them the wrapped one instead (only when it is the same
# function). Absent (litellm 1.110 binds real methods that look the function up per call):
# nothing is needed. Public replacement: none; litellm resolving the function per call.
# Why: litellm 1.110 moved the Router's retry loop and deployment choice into its core; the
# core calls each litellm function through ``PythonHost.invoke(op)`` (looked up per call),
# and the attempt's keyword arguments carry the Router's metadata (model group, deployment,
# its id). ``_router`` counts an attempt where that function is called. Public replacement:
# a Router callback per attempt.
ROUTER_HOST_MODULE: Final = "litellm.router_python_host"
ROUTER_HOST_CLASS: Final = "PythonHost"
ROUTER_HOST_INVOKE: Final = "invoke"

# Why: litellm 1.110's Router serves its endpoints by name from its core;
# ``endpoint_names()`` lists them (what ``dir()`` of a Router lists). Only the coverage test
# reads it (``_router_coverage``). Public replacement: a documented list of Router methods.
ROUTER_ENDPOINTS_MODULE: Final = "litellm.router_rust.invoke.endpoints"
ROUTER_ENDPOINT_NAMES: Final = "endpoint_names"

ROUTER_CAPTURED_CALLS: Final = (
    ("_ageneric_api_call_with_fallbacks", "original_function"),  # litellm 1.74: the one
    ("_ageneric_api_call_with_fallbacks_helper", "original_generic_function"),
    ("_generic_api_call_with_fallbacks", "original_function"),
    ("_pass_through_moderation_endpoint_factory", "original_function"),
)
"""(Router method, keyword argument holding the litellm function it calls)."""


# --- OpenTelemetry API: logs ------------------------------------------------------------
# Why: the logs API of opentelemetry-api 1.45 still lives in the private ``opentelemetry._logs``;
# the proxy's shutdown flush must reach the global logger provider too.
# Public replacement: ``opentelemetry.logs`` once the logs API is declared stable.
def get_logger_provider() -> Any:
    from opentelemetry._logs import get_logger_provider as _get

    return _get()


# --- wrapt -----------------------------------------------------------------------------
# Why: to tell whether a function is already wrapped by *our* wrapper (and not by another
# instrumentation) we compare the wrapper function a ``FunctionWrapper`` holds; wrapt keeps
# it in ``_self_wrapper``.
# Public replacement: none in wrapt 1.x/2.x.
def wrapper_of(function: Any) -> Any:
    return getattr(function, "_self_wrapper", None)


# --- opentelemetry-instrumentation-fastapi / Starlette (LiteLLM Proxy only) -------------
# Why: the proxy loads its config.yaml (and with it our ``callbacks`` entry) in the app's
# lifespan, after Starlette built the middleware stack on the app's first ASGI call, so
# ``FastAPIInstrumentor.instrument_app`` (which wraps ``build_middleware_stack``) would only
# take effect for an app not yet started. The instrumentor marks an app it did with
# ``_is_instrumented_by_opentelemetry``; Starlette rebuilds the stack on the next call when
# ``middleware_stack`` is None.
# Public replacement: a proxy hook that runs at app creation (litellm's own
# ``litellm.integrations.otel.mount.instrument_fastapi_app`` runs there, but only for its
# LITELLM_OTEL_V2 engine), or ``opentelemetry-instrument`` which patches FastAPI first.
def is_app_instrumented(app: Any) -> bool:
    return bool(getattr(app, "_is_instrumented_by_opentelemetry", False))


def rebuild_middleware_stack(app: Any) -> None:
    """Make a started Starlette app build its middleware stack again on its next call."""
    app.middleware_stack = None


# Why: ``proxy/_route_names.py`` names the server span from the route Starlette matched
# instead of the instrumentation's search over every route when the span starts (about
# 0.3 M instructions a proxied request, and blind to routes the proxy registers on their
# first request). ``FastAPIInstrumentor.instrument_app`` takes no ``default_span_details``
# (the ASGI middleware it builds does, as a constructor argument kept in an attribute of
# that name, as is the wrapped ``app``); the template of a matched route and the search for
# a request that matched none (404, 405) must be the instrumentation's own, which only its
# private ``_flatten_routes`` and ``_get_route_details`` give.
# Public replacement: a ``default_span_details`` argument of ``instrument_app``, or the
# instrumentation naming its span from the scope's ``route`` itself.
def opentelemetry_middleware(stack: Any) -> Any:
    """The ``OpenTelemetryMiddleware`` in a middleware stack the FastAPI instrumentation
    built (an error middleware wraps it), or None."""
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    for _ in range(3):
        if isinstance(stack, OpenTelemetryMiddleware):
            return stack
        stack = getattr(stack, "app", None)
    return None


def set_middleware_naming(middleware: Any, span_details: Any, wrap: Any) -> None:
    """Have ``middleware`` name its spans with ``span_details`` and call ``wrap(app)``
    instead of the app it wraps."""
    middleware.default_span_details = span_details
    middleware.app = wrap(middleware.app)


def route_templates(routes: Any) -> Any:
    """``(route, template)`` for each route the instrumentation's search matches against:
    the route object Starlette (or FastAPI, for an included router's route) puts in the
    request's scope, and the template the search names it by."""
    from opentelemetry.instrumentation.fastapi import _flatten_routes

    for context in _flatten_routes(routes):
        template = getattr(context, "path", None)
        yield getattr(context, "original_route", context), template


def route_search(scope: Any) -> str | None:
    """The instrumentation's own search of the app's routes for ``scope``."""
    from opentelemetry.instrumentation.fastapi import _get_route_details

    return _get_route_details(scope)


def default_span_details(scope: Any) -> Any:
    """The instrumentation's own span name and attributes for ``scope`` (the search)."""
    from opentelemetry.instrumentation.fastapi import _get_default_span_details

    return _get_default_span_details(scope)


# Why: the ``gen_ai.usage.cost`` histogram (``_cost_metric.py``) must carry exactly the
# attributes of util-genai's ``gen_ai.client.operation.duration``; util-genai computes them
# in the invocation's private ``_get_metric_attributes()``.
# Public replacement: a public accessor of an invocation's metric attributes.
def metric_attributes(invocation: Any) -> Any:
    """The attributes util-genai records the invocation's duration metric with."""
    return invocation._get_metric_attributes()


# --- opentelemetry-api: the global meter provider's placeholder ------------------------
# Why: ``_enabled.py`` lets calls skip util-genai when no SDK provider is set; the API's
# global meter provider is then an instance of ``_ProxyMeterProvider``, which the API does
# not export (its tracer counterpart, ``ProxyTracerProvider``, is public). None if it moved:
# the skip then never applies.
# Public replacement: an exported ``ProxyMeterProvider`` (as ``opentelemetry.trace`` has).
try:
    from opentelemetry.metrics._internal import _ProxyMeterProvider as PROXY_METER_PROVIDER
except ImportError:  # pragma: no cover - depends on the API's internals
    PROXY_METER_PROVIDER = None


# --- opentelemetry-instrumentation: BaseInstrumentor's singleton ----------------------
# Why: ``_peers.py`` must reach another litellm instrumentation's instrumentor instance to
# call its public ``uninstrument()``. BaseInstrumentor (0.64b0 to 0.66b2) keeps each
# subclass's singleton in ``_instance``; calling the class would return the same instance
# but re-run its ``__init__``, which for OpenLLMetry resets the options its user gave.
# If ``_instance`` goes away, no instance is found and the peer is left alone (two spans
# per call, as without ``_peers``).
# Public replacement: a ``BaseInstrumentor.instance()`` accessor (none announced).
def instrumentor_instance(cls: Any) -> Any:
    """The instance a ``BaseInstrumentor`` subclass made, or None."""
    return getattr(cls, "_instance", None)


# --- litellm Proxy: the seams of its auth, hook phases and guardrails -----------------
# Why: the proxy has no public per-guardrail or auth hook; ``proxy/_seams.py`` wraps these
# functions (found in litellm 1.102.4) to give each a span. A release without one of them
# loses that span only. Public replacement: a documented proxy tracing hook per guardrail run.
PROXY_AUTH_MODULE: Final = "litellm.proxy.auth.user_api_key_auth"
PROXY_UTILS_MODULE: Final = "litellm.proxy.utils"
PROXY_AUTH_BUILDERS: Final = ("user_api_key_auth_builder", "_user_api_key_auth_builder")
"""The key check the FastAPI dependency ``user_api_key_auth`` looks up at call time, by every
name litellm gave it: before 1.110 only ``_user_api_key_auth_builder``; 1.110 made it public
and keeps the private name as an alias it no longer calls. The first name present is wrapped
and each other name bound to the same function gets the same wrapper, so the key check is
timed whichever name the proxy calls."""
PROXY_PRE_CALL_GUARDRAIL: Final = "_execute_guardrail_hook"
"""``ProxyLogging._execute_guardrail_hook``: runs one guardrail's pre-call hook."""
PROXY_GUARDRAIL_WITH_METRICS: Final = "_run_guardrail_with_metrics"
"""``ProxyLogging._run_guardrail_with_metrics``: awaits one during/post-call guardrail."""
PROXY_STREAM_LAYER: Final = "_wrap_streaming_iterator_with_enrichment"
"""``ProxyLogging._wrap_streaming_iterator_with_enrichment(callback, gen)``: wraps one
callback's layer of a streamed answer's post-call chain, once per callback and stream."""
PROXY_UNIFIED_GUARDRAIL_MODULE: Final = (
    "litellm.proxy.guardrails.guardrail_hooks.unified_guardrail.unified_guardrail"
)
PROXY_UNIFIED_GUARDRAIL: Final = "UnifiedLLMGuardrails"
"""The class that runs an ``apply_guardrail`` guardrail on every route; its
``async_post_call_streaming_iterator_hook`` checks one streamed answer for one guardrail
(``guardrail_to_apply``), and a block it catches mid-stream goes to one of
:data:`PROXY_STREAM_BLOCK_HANDLERS` (first argument: the exception) instead of being raised."""
PROXY_STREAM_BLOCK_HANDLERS: Final = ("handle_streaming_block", "emit_streaming_http_error")
PROXY_STREAMING_FLAG: Final = "resolve_streaming_flag"
"""``UnifiedLLMGuardrails.resolve_streaming_flag(guardrail, name, default)``: a guardrail's
streaming setting as litellm resolves it (``streaming_transform_mode``: only
``incremental_diff`` sends a guardrail's rewrites of a stream)."""
PROXY_PIPELINE_MODULE: Final = "litellm.proxy.policy_engine.pipeline_executor"
PROXY_PIPELINE_EXECUTOR: Final = "PipelineExecutor"
PROXY_PIPELINE_RUN: Final = "execute_steps"
"""``PipelineExecutor.execute_steps(steps, mode, data, user_api_key_dict, call_type,
policy_name, ...)``: runs one policy's guardrail pipeline; returns a result whose
``terminal_action`` is ``allow``, ``block`` or ``modify_response``."""
PROXY_PIPELINE_STEP: Final = "_run_step"
"""``PipelineExecutor._run_step(step, mode, data, ...)``: runs one step's guardrail; returns
``(outcome, modified_data, error_detail, original_exception)``; outcome ``pass``, ``fail`` or
``error``."""


# --- litellm Proxy as an MCP gateway -----------------------------------------------------
# Why: litellm 1.102 keeps its MCP gateway in the underscore package
# ``litellm.proxy._experimental.mcp_server``: ``MCPServerManager.call_tool`` (a public method of
# its manager) is the one place every tool call the proxy makes to an MCP server passes (a
# client's ``tools/call``, the REST route, the tools a model asks for through /v1/responses and
# /chat/completions), and ``server`` is the gateway's ``mcp.server.lowlevel.Server``, whose
# public ``request_handlers`` serve each MCP method. ``proxy/_mcp.py`` wraps them.
# Public replacement: ``litellm.proxy.mcp_server`` (litellm 1.109+: the same names; the old path
# stays an alias there).
MCP_MANAGER_MODULE: Final = "litellm.proxy._experimental.mcp_server.mcp_server_manager"
MCP_MANAGER: Final = "MCPServerManager"
MCP_GATEWAY_MODULE: Final = "litellm.proxy._experimental.mcp_server.server"
MCP_GATEWAY_SERVER: Final = "server"
"""The gateway module's ``mcp.server.lowlevel.Server`` instance."""
# Why: the id of the tool call a model asked for (``gen_ai.tool.call.id``) reaches
# ``call_tool`` only through this private static method of the Responses/Chat MCP loop, which
# runs a model's tool calls one after the other (its ``tool_calls`` argument).
# Public replacement: a tool call id parameter of ``MCPServerManager.call_tool``.
MCP_MODEL_TOOLS_MODULE: Final = "litellm.responses.mcp.litellm_proxy_mcp_handler"
MCP_MODEL_TOOLS_HANDLER: Final = "LiteLLM_Proxy_MCP_Handler"
MCP_MODEL_TOOL_CALLS: Final = "_execute_tool_calls"
"""``LiteLLM_Proxy_MCP_Handler._execute_tool_calls(tool_server_map, tool_calls, ...)``."""


# --- opentelemetry-distro -------------------------------------------------------------
# Why: ``OpenTelemetryConfigurator().configure(**kwargs)`` is public, but the keyword
# names it forwards (``trace_exporter_names``, ``resource_attributes``,
# ``export_span_processor``: a factory of the batch processor, see ``proxy/_export_report``) are
# those of the SDK's private ``opentelemetry.sdk._configuration._initialize_components``.
# Public replacement: the SDK's declarative configuration (``OTEL_CONFIG_FILE``).
CONFIGURATOR_KEYWORDS: Final = (
    "trace_exporter_names",
    "resource_attributes",
    "export_span_processor",
)

__all__ = [
    "A2A_CLIENT_CARDS",
    "CONFIGURATOR_KEYWORDS",
    "GEN_AI_CONVERSATION_ID",
    "GEN_AI_INPUT_MESSAGES",
    "GEN_AI_OPERATION_NAME",
    "GEN_AI_OUTPUT_MESSAGES",
    "GEN_AI_REQUEST_MODEL",
    "GEN_AI_RESPONSE_ID",
    "GEN_AI_RESPONSE_MODEL",
    "GEN_AI_SYSTEM_INSTRUCTIONS",
    "GEN_AI_TOOL_DEFINITIONS",
    "GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS",
    "GEN_AI_USAGE_INPUT_TOKENS",
    "GEN_AI_USAGE_OUTPUT_TOKENS",
    "HANDLER_CAPTURE_ATTRIBUTES",
    "HIDDEN_PARAMS",
    "JSONRPC_REQUEST_ID",
    "LOGGING_OBJECT_MODEL",
    "MCP_METHOD_NAME",
    "MCP_PROTOCOL_VERSION",
    "MCP_SESSION_ID",
    "PROVIDER_RESPONSE_MODEL",
    "PROVIDER_STREAM",
    "PROXY_METER_PROVIDER",
    "PROXY_SERVER_MODULE",
    "PROXY_SHUTDOWN_EVENT",
    "ROUTER_ASYNC_CHOICE",
    "ROUTER_ATTEMPT",
    "ROUTER_CAPTURED_CALLS",
    "ROUTER_CHOICE",
    "ROUTER_ENDPOINTS_MODULE",
    "ROUTER_ENDPOINT_NAMES",
    "ROUTER_HOST_CLASS",
    "ROUTER_HOST_INVOKE",
    "ROUTER_HOST_MODULE",
    "STREAM_WRAPPER_HOOKS",
    "USER_ID",
    "GenAiOperationNameValues",
    "GenAiProviderNameValues",
    "a2a_client_card",
    "get_logger_provider",
    "hidden_params",
    "instrumentor_instance",
    "is_app_instrumented",
    "litellm_version",
    "logging_model",
    "metric_attributes",
    "provider_response_model",
    "provider_stream",
    "rebuild_middleware_stack",
    "seam_lost",
    "set_capture_mode",
    "wrapper_of",
]
