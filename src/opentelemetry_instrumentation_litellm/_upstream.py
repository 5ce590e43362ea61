"""The one door to upstream APIs that are not public.

Every name below is something an upstream project does not promise to keep: a private
attribute, an incubating module, a subclass hook with a leading underscore. Each item says
why it is used and which public API would replace it. ``tests/test_upstream.py`` pins every
item against the installed versions, so an upstream release that drops one fails that test
with the item's name instead of silently changing a span.

Nothing here runs at import beyond binding names: no litellm, no SDK, no FastAPI import.
"""

from __future__ import annotations

from typing import Any, Final

# --- OpenTelemetry semantic conventions: incubating attribute names ---------------------
# Why: the GenAI, user and session attributes are still "development" in semconv, so the
# Python package only ships them under ``opentelemetry.semconv._incubating``. Using the
# constants keeps the names in the library's hands (no typed strings).
# Public replacement: ``opentelemetry.semconv.attributes.gen_ai_attributes`` (and
# ``user_attributes``/``session_attributes``) once the conventions are stable.
from opentelemetry.semconv._incubating.attributes.gen_ai_attributes import (
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
    GenAiProviderNameValues,
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
    return getattr(response, HIDDEN_PARAMS, None)


# Why: litellm rewrites every stream chunk's ``model`` to the requested model name and keeps
# the model the provider reported on ``CustomStreamWrapper._provider_response_model``
# (litellm >= 1.80); ``gen_ai.response.model`` is the provider's.
# Public replacement: a public attribute of ``CustomStreamWrapper``.
PROVIDER_RESPONSE_MODEL: Final = "_provider_response_model"


def provider_response_model(stream: Any) -> str | None:
    """The model the provider reported for a litellm stream, if litellm kept it."""
    model = getattr(stream, PROVIDER_RESPONSE_MODEL, None)
    return model if isinstance(model, str) else None


# Why: litellm's stream has no ``close()``; to release the provider's connection when the
# user closes a traced stream early we close what it reads from,
# ``CustomStreamWrapper.completion_stream`` (no underscore, but not documented either).
# Public replacement: a ``close()`` on ``CustomStreamWrapper``.
PROVIDER_STREAM: Final = "completion_stream"


def provider_stream(stream: Any) -> Any:
    """The provider stream a litellm ``CustomStreamWrapper`` reads from, or None."""
    return getattr(stream, PROVIDER_STREAM, None)


# Why: uvicorn's SIGTERM handling skips ``atexit``; the LiteLLM Proxy's lifespan ends by
# awaiting this module-level coroutine function of its server module, the last point where
# buffered spans can be flushed (``proxy/_shutdown.py`` wraps it). Not a documented proxy hook.
# Public replacement: a documented proxy shutdown hook (the proxy documents none in 1.102.4;
# ``LITELLM_WORKER_STARTUP_HOOKS`` has no shutdown counterpart).
PROXY_SERVER_MODULE: Final = "litellm.proxy.proxy_server"
PROXY_SHUTDOWN_EVENT: Final = "proxy_shutdown_event"


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
PROXY_AUTH_BUILDER: Final = "_user_api_key_auth_builder"
"""The key check the FastAPI dependency ``user_api_key_auth`` looks up at call time."""
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
    "CONFIGURATOR_KEYWORDS",
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
    "PROVIDER_RESPONSE_MODEL",
    "PROVIDER_STREAM",
    "PROXY_METER_PROVIDER",
    "PROXY_SERVER_MODULE",
    "PROXY_SHUTDOWN_EVENT",
    "STREAM_WRAPPER_HOOKS",
    "USER_ID",
    "GenAiProviderNameValues",
    "get_logger_provider",
    "hidden_params",
    "instrumentor_instance",
    "is_app_instrumented",
    "metric_attributes",
    "provider_response_model",
    "provider_stream",
    "rebuild_middleware_stack",
    "set_capture_mode",
    "wrapper_of",
]
