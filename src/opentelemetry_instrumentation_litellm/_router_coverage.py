"""Which ``litellm.Router`` methods reach a deployment, and why some are not traced.

Never imported by the instrumentation itself: ``tests/test_router_coverage.py`` lists the
Router's methods that reach a deployment with :func:`methods_reaching_a_deployment` and
fails for any that is neither in :data:`._router.ROUTER_METHODS` (traced) nor in
:data:`NOT_TRACED` (with the reason), so a litellm release that adds a Router method that
calls a model fails that test by name.
"""

from __future__ import annotations

import importlib
import pkgutil
import types
from collections.abc import Iterator, Mapping
from typing import Any, Final

from opentelemetry_instrumentation_litellm import _upstream

_MACHINERY: Final = (
    "the Router's own machinery, run inside the traced methods (retry loop, deployment "
    "choice, method set-up, configuration): no call of its own"
)
_FAN_OUT: Final = (
    "calls Router.acompletion once per request (after queueing, for schedule_acompletion); "
    "each of those gets its router span"
)
_DATA: Final = (
    "files, batches, fine-tuning jobs, containers, skills, vector stores and their files: "
    "data management, no model runs"
)
_STORED: Final = (
    "reads, lists, cancels or deletes something stored (a response, interaction, video, "
    "video character, managed agent): no model runs"
)
_ASSISTANTS: Final = (
    "the Assistants API pass-through: the Router chooses no deployment (it hands the "
    "caller's provider to litellm), so there are no attempts, retries or fallbacks to record"
)
_REALTIME: Final = (
    "a realtime session, client secret or call set-up: the model then runs over a websocket "
    "the Router does not see"
)
_PASS_THROUGH: Final = (
    "the proxy's raw provider pass-through routes: a request body litellm does not interpret "
    "(the proxy's server span records the request)"
)
_GUARDRAIL: Final = "a guardrail check, not a model call (in the LiteLLM Proxy, a guardrail span)"

NOT_TRACED: Final[Mapping[str, str]] = {
    **dict.fromkeys(
        (
            "async_function_with_fallbacks",
            "async_function_with_fallbacks_common_utils",
            "async_function_with_retries",
            "function_with_fallbacks",
            "function_with_retries",
            "make_call",
            "get_available_deployment",
            "async_get_available_deployment",
            "get_available_deployment_for_pass_through",
            "async_get_available_deployment_for_pass_through",
            "factory_function",
            "initialize_assistants_endpoint",
            "initialize_router_endpoints",
            "get_valid_args",
            "set_custom_routing_strategy",
            "routing_strategy_pre_call_checks",
            "async_routing_strategy_pre_call_checks",
            "async_pre_routing_hook",
            "priority_header_update",
        ),
        _MACHINERY,
    ),
    **dict.fromkeys(
        (
            "abatch_completion",
            "abatch_completion_fastest_response",
            "abatch_completion_one_model_multiple_requests",
            "schedule_acompletion",
        ),
        _FAN_OUT,
    ),
    **dict.fromkeys(
        (
            "acreate_file",
            "afile_content",
            "afile_delete",
            "afile_list",
            "acreate_batch",
            "aretrieve_batch",
            "acancel_batch",
            "alist_batches",
            "acreate_fine_tuning_job",
            "acancel_fine_tuning_job",
            "alist_fine_tuning_jobs",
            "aretrieve_fine_tuning_job",
            *(
                prefix + name
                for prefix in ("a", "")
                for name in (
                    "create_container",
                    "list_containers",
                    "retrieve_container",
                    "delete_container",
                    "upload_container_file",
                    "list_container_files",
                    "retrieve_container_file",
                    "delete_container_file",
                    "retrieve_container_file_content",
                    "vector_store_create",
                    "vector_store_retrieve",
                    "vector_store_list",
                    "vector_store_update",
                    "vector_store_delete",
                    "vector_store_file_create",
                    "vector_store_file_list",
                    "vector_store_file_retrieve",
                    "vector_store_file_content",
                    "vector_store_file_update",
                    "vector_store_file_delete",
                )
            ),
            "acreate_skill",
            "alist_skills",
            "aget_skill",
            "adelete_skill",
        ),
        _DATA,
    ),
    **dict.fromkeys(
        (
            "aget_responses",
            "acancel_responses",
            "adelete_responses",
            "alist_input_items",
            *(
                prefix + name
                for prefix in ("a", "")
                for name in (
                    "get_interaction",
                    "delete_interaction",
                    "cancel_interaction",
                    "video_list",
                    "video_status",
                    "video_content",
                    "video_create_character",
                    "video_get_character",
                    "create_agent",
                    "list_agents",
                    "get_agent",
                    "delete_agent",
                    "list_agent_versions",
                )
            ),
        ),
        _STORED,
    ),
    **dict.fromkeys(
        (
            "acreate_assistants",
            "adelete_assistant",
            "aget_assistants",
            "acreate_thread",
            "aget_thread",
            "a_add_message",
            "aget_messages",
            "arun_thread",
        ),
        _ASSISTANTS,
    ),
    **dict.fromkeys(
        (
            "acreate_realtime_client_secret",
            "arealtime_calls",
            "acreate_realtime_transcription_session",
            "acreate_realtime_translation_client_secret",
            "arealtime_translation_calls",
        ),
        _REALTIME,
    ),
    "allm_passthrough_route": _PASS_THROUGH,
    "aguardrail": _GUARDRAIL,
}
"""Public ``litellm.Router`` methods that reach a deployment and get no router span, with
the reason. Names a given litellm lacks are simply absent there."""

_DISPATCH: Final = frozenset(
    {
        _upstream.ROUTER_ATTEMPT,
        _upstream.ROUTER_CHOICE,
        _upstream.ROUTER_ASYNC_CHOICE,
        "get_available_deployment_for_pass_through",
        "async_get_available_deployment_for_pass_through",
        "async_function_with_fallbacks",
        "function_with_fallbacks",
    }
)
"""Where a Router call reaches a deployment: its retry loop or its deployment choice."""


def _names(code: types.CodeType) -> set[str]:
    """The global and attribute names ``code`` (and code nested in it) uses."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _names(constant)
    return names


def _functions_of(module: types.ModuleType) -> Iterator[tuple[str, Any]]:
    for value in vars(module).values():
        if getattr(value, "__module__", None) != module.__name__:
            continue
        members = vars(value).items() if isinstance(value, type) else [("", value)]
        for name, member in members:
            function = getattr(member, "__func__", member)
            if isinstance(function, types.FunctionType):
                yield name or function.__name__, function


def _reaching(router_module: types.ModuleType) -> set[str]:
    """Names of functions (in litellm's router module and ``litellm.router_utils``) whose
    code reaches :data:`_DISPATCH`, directly or through one another. By name only, so a
    name two functions share counts for both: it may list more, never fewer."""
    modules = [router_module]
    utils = importlib.import_module("litellm.router_utils")
    for info in pkgutil.walk_packages(utils.__path__, utils.__name__ + "."):
        try:
            modules.append(importlib.import_module(info.name))
        except Exception:  # an optional dependency missing: its helpers are not needed
            continue
    uses: dict[str, set[str]] = {}
    for module in modules:
        for name, function in _functions_of(module):
            uses.setdefault(name, set()).update(_names(function.__code__))
    reaching = set(_DISPATCH)
    grown = True
    while grown:
        grown = False
        for name, used in uses.items():
            if name not in reaching and used & reaching:
                reaching.add(name)
                grown = True
    return reaching


def methods_reaching_a_deployment(router: Any) -> dict[str, str]:
    """The public methods of the ``litellm.Router`` instance ``router`` that reach a
    deployment, each with where it is defined: ``"class"`` or ``"instance"`` (bound by
    ``Router.__init__``, as litellm 1.102.4 does for ``aresponses`` and others) or
    ``"endpoint"`` (served by litellm 1.110's Router core, which lists them)."""
    router_class = type(router)
    reaching = _reaching(importlib.import_module(router_class.__module__))
    found: dict[str, str] = {}
    own = vars(router)
    for name in dir(router):
        if name.startswith("_"):
            continue
        if name in own:
            function = own[name]
            code = getattr(function, "__code__", None)
            if isinstance(function, types.FunctionType) and code and _names(code) & reaching:
                found[name] = "instance"
        elif name in reaching and callable(getattr(router_class, name, None)):
            found[name] = "class"
    for name in _endpoint_names():
        if not name.startswith("_"):
            found.setdefault(name, "endpoint")
    return found


def _endpoint_names() -> frozenset[str]:
    """litellm 1.110's list of the Router's endpoints (every call its core makes through
    its host); empty for a litellm without it."""
    try:
        module = importlib.import_module(_upstream.ROUTER_ENDPOINTS_MODULE)
    except ImportError:
        return frozenset()
    return frozenset(getattr(module, _upstream.ROUTER_ENDPOINT_NAMES)())
