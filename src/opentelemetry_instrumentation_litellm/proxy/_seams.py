"""The LiteLLM Proxy functions wrapped to give its work spans, and wrapping them.

litellm has no public per-guardrail or auth seam, so the private functions of
:data:`WRAPPERS` are wrapped, here and nowhere else; their names come from ``_upstream``
(the one door to private APIs), where ``tests/test_upstream.py`` pins them and
``tests/test_seams_on_path.py`` checks that a real proxied request goes through them. A litellm
release without one of them loses that span only, and says so: one warning naming the feature
lost and the litellm version (``_upstream.seam_lost``); nothing else changes. The wrapping is
installed when ``litellm.proxy.proxy_server`` is imported (at once if it already is) and
never imports the proxy itself; :func:`disable` restores litellm's own functions.

The MCP gateway's seams (:data:`MCP_WRAPPERS`, and the handlers of the gateway's MCP server:
:mod:`._mcp`) live in modules the proxy imports only when it first serves MCP: each is
wrapped when its own module is imported.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any, Final, NamedTuple

from opentelemetry.trace import Tracer
from wrapt import FunctionWrapper, register_post_import_hook

from opentelemetry_instrumentation_litellm._upstream import (
    MCP_GATEWAY_MODULE,
    MCP_GATEWAY_SERVER,
    MCP_MANAGER,
    MCP_MANAGER_MODULE,
    MCP_MODEL_TOOL_CALLS,
    MCP_MODEL_TOOLS_HANDLER,
    MCP_MODEL_TOOLS_MODULE,
    PROXY_AUTH_BUILDERS,
    PROXY_AUTH_MODULE,
    PROXY_GUARDRAIL_WITH_METRICS,
    PROXY_PIPELINE_EXECUTOR,
    PROXY_PIPELINE_MODULE,
    PROXY_PIPELINE_RUN,
    PROXY_PIPELINE_STEP,
    PROXY_PRE_CALL_GUARDRAIL,
    PROXY_STREAM_BLOCK_HANDLERS,
    PROXY_STREAM_LAYER,
    PROXY_UNIFIED_GUARDRAIL,
    PROXY_UNIFIED_GUARDRAIL_MODULE,
    PROXY_UTILS_MODULE,
    seam_lost,
)
from opentelemetry_instrumentation_litellm.proxy import _mcp, _settings
from opentelemetry_instrumentation_litellm.proxy._guardrail_streams import (
    note_stream_block,
    stream_layer,
    unified_stream_hook,
)
from opentelemetry_instrumentation_litellm.proxy._guardrails import (
    guardrail_with_metrics,
    pre_call_guardrail,
)
from opentelemetry_instrumentation_litellm.proxy._phases import auth, post_call, pre_call
from opentelemetry_instrumentation_litellm.proxy._pipelines import pipeline, pipeline_step
from opentelemetry_instrumentation_litellm.proxy._shutdown import on_proxy_import

_logger = logging.getLogger(__name__)

_lock = threading.Lock()
_originals: list[tuple[Any, str, Any]] = []
"""(owner, attribute, original value) of each wrapped function, to put back."""
_handler_originals: list[tuple[dict[Any, Any], Any, Any]] = []
"""(handlers, request type, original handler) of each wrapped MCP request handler."""
_import_hooks: set[str] = set()
"""Modules given a post-import hook (wrapt cannot remove one: it does nothing when off)."""


class Seam(NamedTuple):
    """A proxy function wrapped: where it is, by which names, with what, and what is lost
    (the warning's text) when the installed litellm has none of them."""

    module: str
    owner: str | None
    names: tuple[str, ...]
    wrapper: Callable[..., Any]
    feature: str


_GUARDRAIL_SPANS = "no guardrail spans for pre-call guardrails"
_STREAM_CHECKS = "no guardrail spans for checks of streamed answers"
WRAPPERS: Final = (
    Seam(
        PROXY_AUTH_MODULE,
        None,
        PROXY_AUTH_BUILDERS,
        auth,
        "the key check is not timed (no litellm.proxy.auth.duration, no auth span)",
    ),
    Seam(
        PROXY_UTILS_MODULE,
        "ProxyLogging",
        ("pre_call_hook",),
        pre_call,
        "the pre-call hooks are not timed (no litellm.proxy.pre_call.duration)",
    ),
    Seam(
        PROXY_UTILS_MODULE,
        "ProxyLogging",
        ("post_call_success_hook",),
        post_call,
        "the post-call hooks are not timed (no litellm.proxy.post_call.duration)",
    ),
    Seam(
        PROXY_UTILS_MODULE,
        "ProxyLogging",
        (PROXY_PRE_CALL_GUARDRAIL,),
        pre_call_guardrail,
        _GUARDRAIL_SPANS,
    ),
    Seam(
        PROXY_UTILS_MODULE,
        "ProxyLogging",
        (PROXY_GUARDRAIL_WITH_METRICS,),
        guardrail_with_metrics,
        "no guardrail spans for during-call and post-call guardrails",
    ),
    Seam(PROXY_UTILS_MODULE, "ProxyLogging", (PROXY_STREAM_LAYER,), stream_layer, _STREAM_CHECKS),
    Seam(
        PROXY_UNIFIED_GUARDRAIL_MODULE,
        PROXY_UNIFIED_GUARDRAIL,
        ("async_post_call_streaming_iterator_hook",),
        unified_stream_hook,
        _STREAM_CHECKS,
    ),
    *(
        Seam(
            PROXY_UNIFIED_GUARDRAIL_MODULE,
            PROXY_UNIFIED_GUARDRAIL,
            (name,),
            note_stream_block,
            "a streamed answer blocked mid-way is not told on its guardrail span",
        )
        for name in PROXY_STREAM_BLOCK_HANDLERS
    ),
    Seam(
        PROXY_PIPELINE_MODULE,
        PROXY_PIPELINE_EXECUTOR,
        (PROXY_PIPELINE_RUN,),
        pipeline,
        "no spans for guardrail pipelines",
    ),
    Seam(
        PROXY_PIPELINE_MODULE,
        PROXY_PIPELINE_EXECUTOR,
        (PROXY_PIPELINE_STEP,),
        pipeline_step,
        "no spans for the steps of guardrail pipelines",
    ),
)
"""What is wrapped."""

MCP_CLIENT_MODULE: Final = "litellm.experimental_mcp_client.client"
_TOOL_SPANS = "MCP tool calls through the gateway get no execute_tool span"

MCP_WRAPPERS: Final = (
    Seam(MCP_MANAGER_MODULE, MCP_MANAGER, ("call_tool",), _mcp.call_tool, _TOOL_SPANS),
    Seam(
        MCP_CLIENT_MODULE,
        "MCPClient",
        ("run_with_session",),
        _mcp.run_with_session,
        "an unreachable MCP server's error type is not on its execute_tool span",
    ),
    Seam(
        MCP_MODEL_TOOLS_MODULE,
        MCP_MODEL_TOOLS_HANDLER,
        (MCP_MODEL_TOOL_CALLS,),
        _mcp.model_tool_calls,
        "a model's MCP tool calls have no gen_ai.tool.call.id",
    ),
)
"""The same for the MCP gateway: each wrapped when its module is imported."""


def _wrap_seam(seam: Seam) -> None:
    """Wrap the first of ``seam.names`` its owner has, and rebind every other name bound to the
    same function (an alias: litellm may call either) to the same wrapper."""
    owner: Any = sys.modules.get(seam.module)
    if owner is not None and seam.owner is not None:
        owner = getattr(owner, seam.owner, None)
    namespace = vars(owner) if owner is not None else {}
    if any(o is owner and n in seam.names for o, n, _ in _originals):
        return  # wrapped already
    found = [name for name in seam.names if namespace.get(name) is not None]
    if not found:
        where = ".".join(filter(None, (seam.module, seam.owner)))
        seam_lost(f"{where}.{seam.names[0]}", seam.feature)
        return
    original = namespace[found[0]]
    wrapped = FunctionWrapper(original, seam.wrapper)
    for name in found:
        if namespace[name] is original:
            setattr(owner, name, wrapped)
            _originals.append((owner, name, original))


# -- enabling -------------------------------------------------------------------------


def _wrap_all(seams: Any) -> None:
    """Wrap each of ``seams`` not wrapped yet; call with the lock held."""
    if _settings.active is None:
        return
    for seam in seams:
        try:
            _wrap_seam(seam)
        except Exception:
            _logger.debug("Could not wrap %s %s", seam.module, seam.names, exc_info=True)


def wrap_proxy(server: ModuleType) -> None:
    """The post-import hook of ``litellm.proxy.proxy_server``: wrap what it uses."""
    with _lock:
        _wrap_all(WRAPPERS)


def _wrap_mcp(module: ModuleType) -> None:
    """The post-import hook of each module of :data:`MCP_WRAPPERS`."""
    with _lock:
        _wrap_all(seam for seam in MCP_WRAPPERS if seam.module == module.__name__)


def _wrap_mcp_gateway(module: ModuleType) -> None:
    """The post-import hook of litellm's MCP gateway: wrap its MCP server's request handlers
    (one per MCP method; ``initialize`` is the ``mcp`` package's session's own)."""
    with _lock:
        if _settings.active is None or _handler_originals:
            return
        try:
            handlers = getattr(module, MCP_GATEWAY_SERVER).request_handlers
            for request_type, handler in list(handlers.items()):
                handlers[request_type] = FunctionWrapper(handler, _mcp.mcp_request)
                _handler_originals.append((handlers, request_type, handler))
        except Exception:
            _logger.debug("Could not wrap the MCP gateway's handlers", exc_info=True)


def _on_import(module_name: str, hook: Any) -> None:
    """Call ``hook(module)`` once ``module_name`` is imported (at once if it is)."""
    with _lock:
        first = module_name not in _import_hooks
        _import_hooks.add(module_name)
    if first:
        register_post_import_hook(hook, module_name)
    elif module_name in sys.modules:
        hook(sys.modules[module_name])


def enable(
    tracer: Tracer,
    capture_content: Callable[[], bool],
    *,
    phase_spans: bool = False,
    handler: Any = None,
) -> None:
    """Trace the proxy's auth, hook phases, guardrails and MCP gateway, now or once the proxy
    loads them; ``phase_spans``: the auth, phases and MCP methods as spans, not as server
    span attributes; ``handler``: util-genai's, for the MCP tool calls."""
    with _lock:
        _settings.set_active(_settings.Settings(tracer, capture_content, phase_spans, handler))
    on_proxy_import(wrap_proxy)
    for module_name in dict.fromkeys(seam.module for seam in MCP_WRAPPERS):
        _on_import(module_name, _wrap_mcp)
    _on_import(MCP_GATEWAY_MODULE, _wrap_mcp_gateway)


def disable() -> None:
    """Put litellm's own functions back."""
    with _lock:
        _settings.set_active(None)
        while _originals:
            owner, name, original = _originals.pop()
            current = vars(owner).get(name)
            if isinstance(current, FunctionWrapper) and current.__wrapped__ is original:
                setattr(owner, name, original)
        while _handler_originals:
            handlers, request_type, original = _handler_originals.pop()
            current = handlers.get(request_type)
            if isinstance(current, FunctionWrapper) and current.__wrapped__ is original:
                handlers[request_type] = original
