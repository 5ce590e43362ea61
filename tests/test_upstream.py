"""The non-public upstream names this package relies on, all behind ``_upstream``, pinned
against the installed versions: an upstream release that drops one fails here by name."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import inspect
from pathlib import Path

import pytest

from matrix import PROVIDER_RESPONSE_MODEL_SINCE, litellm_version, needs_guardrail_seams
from opentelemetry_instrumentation_litellm import _upstream

PACKAGE = Path(_upstream.__file__).parent


def test_util_genai_handler_keeps_the_capture_attributes():
    from opentelemetry.util.genai.handler import TelemetryHandler
    from opentelemetry.util.genai.types import ContentCapturingMode

    handler = TelemetryHandler()
    for name in (*_upstream.HANDLER_CAPTURE_ATTRIBUTES, "_completion_hook"):
        assert hasattr(handler, name), (
            f"opentelemetry-util-genai {importlib.metadata.version('opentelemetry-util-genai')}"
            f" has no TelemetryHandler.{name}: update _upstream.set_capture_mode"
        )
    _upstream.set_capture_mode(handler, ContentCapturingMode.SPAN_ONLY)
    assert handler.should_capture_content() is True
    _upstream.set_capture_mode(handler, ContentCapturingMode.NO_CONTENT)
    assert handler.should_capture_content() is False


def test_util_genai_stream_wrappers_keep_their_subclass_hooks():
    from opentelemetry.util.genai.stream import AsyncStreamWrapper, SyncStreamWrapper

    for wrapper in (SyncStreamWrapper, AsyncStreamWrapper):
        for name in _upstream.STREAM_WRAPPER_HOOKS:
            assert hasattr(wrapper, name), f"util-genai {wrapper.__name__} lost {name}"


def test_litellm_keeps_hidden_params_and_the_provider_response_model():
    import litellm

    response = litellm.completion(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], mock_response="x"
    )
    hidden = _upstream.hidden_params(response)
    assert isinstance(hidden, dict) and hidden.get("custom_llm_provider") == "openai", (
        f"litellm {_upstream.litellm_version()}: response.{_upstream.HIDDEN_PARAMS} changed"
    )
    # The fast path: pydantic keeps the private attribute in __pydantic_private__.
    assert response.__pydantic_private__.get(_upstream.HIDDEN_PARAMS) is hidden, (
        f"litellm {_upstream.litellm_version()}: {_upstream.HIDDEN_PARAMS} no longer a pydantic "
        "private attribute (hidden_params falls back to getattr: slower, still correct)"
    )
    stream = litellm.completion(
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        mock_response="x",
        stream=True,
    )
    assert isinstance(stream, litellm.CustomStreamWrapper)
    list(stream)
    if litellm_version() < PROVIDER_RESPONSE_MODEL_SINCE:
        return  # tests/test_seams_on_path.py checks it is reported lost
    assert hasattr(stream, _upstream.PROVIDER_RESPONSE_MODEL), (
        f"litellm {_upstream.litellm_version()}: CustomStreamWrapper has no "
        f"{_upstream.PROVIDER_RESPONSE_MODEL}"
    )


def test_wrapt_keeps_the_wrapper_function():
    from wrapt import FunctionWrapper

    def wrapper(wrapped, instance, args, kwargs):  # pragma: no cover - never called
        return wrapped(*args, **kwargs)

    assert _upstream.wrapper_of(FunctionWrapper(len, wrapper)) is wrapper


def test_fastapi_instrumentor_marks_the_app_and_starlette_rebuilds_its_stack():
    pytest.importorskip("opentelemetry.instrumentation.fastapi")
    from fastapi import FastAPI
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    app = FastAPI()
    assert not _upstream.is_app_instrumented(app)
    FastAPIInstrumentor.instrument_app(app)
    try:
        assert _upstream.is_app_instrumented(app)
        app.build_middleware_stack()
        assert hasattr(app, "middleware_stack"), "Starlette no longer keeps middleware_stack"
    finally:
        FastAPIInstrumentor.uninstrument_app(app)


def test_fastapi_instrumentation_keeps_its_middleware_naming_and_route_search():
    """What ``proxy/_route_names.py`` uses: the middleware's ``default_span_details`` and
    ``app`` attributes, the search's flattened routes and its two functions."""
    pytest.importorskip("opentelemetry.instrumentation.fastapi")
    from fastapi import APIRouter, FastAPI
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    app = FastAPI()
    router = APIRouter()
    router.add_api_route("/hub/{facet}", lambda facet: facet, methods=["GET"])
    app.include_router(router, prefix="/public")
    FastAPIInstrumentor.instrument_app(app)
    try:
        middleware = _upstream.opentelemetry_middleware(app.build_middleware_stack())
        assert middleware is not None, "no OpenTelemetryMiddleware under the error middleware"
        assert callable(middleware.default_span_details)
        inner = middleware.app
        _upstream.set_middleware_naming(middleware, len, lambda app: ("wrapped", app))
        assert middleware.default_span_details is len
        assert middleware.app == ("wrapped", inner)
    finally:
        FastAPIInstrumentor.uninstrument_app(app)
    (route,) = [r for r in router.routes]
    scope = {"type": "http", "method": "GET", "path": "/public/hub/x", "app": app}
    assert _upstream.route_search(scope) == "/public/hub/{facet}"
    assert _upstream.default_span_details(scope) == (
        "GET /public/hub/{facet}",
        {"http.route": "/public/hub/{facet}"},
    )
    templates = dict((id(r), t) for r, t in _upstream.route_templates(app.routes))
    if id(route) not in templates:
        # The oldest instrumentation claimed (0.64b0, with FastAPI 0.115) flattens an included
        # router into copies that do not keep the route they copy: no template is found for
        # the matched route, and proxy/_route_names.py names the span by the search, as before.
        pytest.skip("this opentelemetry-instrumentation-fastapi keeps no original route")
    assert templates[id(route)] == "/public/hub/{facet}"


def test_configurator_keywords_are_the_sdks():
    import inspect

    from opentelemetry.sdk._configuration import _initialize_components

    parameters = inspect.signature(_initialize_components).parameters
    for name in _upstream.CONFIGURATOR_KEYWORDS:
        assert name in parameters, f"the SDK's configurator no longer takes {name}="


def test_logs_api_is_reachable():
    assert _upstream.get_logger_provider() is not None


def _private_uses(path: Path) -> list[str]:
    """Imports from private upstream modules or of private upstream names in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            module = node.module
            if module.startswith("opentelemetry_instrumentation_litellm") or module == "__future__":
                continue
            private_module = any(part.startswith("_") for part in module.split("."))
            private_names = [a.name for a in node.names if a.name.startswith("_")]
            if private_module or private_names:
                found.append(f"from {module} import {', '.join(a.name for a in node.names)}")
        elif isinstance(node, ast.Import):
            found.extend(
                a.name
                for a in node.names
                if any(p.startswith("_") for p in a.name.split(".")[1:])
                and not a.name.startswith("opentelemetry_instrumentation_litellm")
            )
    return found


def test_private_upstream_imports_only_in_the_door():
    offenders = {
        str(path.relative_to(PACKAGE)): uses
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "_upstream.py" and (uses := _private_uses(path))
    }
    assert offenders == {}, "private upstream APIs go through _upstream.py"


def test_no_semconv_name_typed_as_a_string():
    """Attribute names the semantic conventions define come from the library."""
    from opentelemetry.semconv._incubating.attributes import (
        error_attributes,
        gen_ai_attributes,
        server_attributes,
        user_attributes,
    )

    defined = {
        value
        for module in (gen_ai_attributes, server_attributes, error_attributes, user_attributes)
        for name, value in vars(module).items()
        if name.isupper() and isinstance(value, str)
    }
    typed = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "_upstream.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in defined:
                typed.setdefault(str(path.relative_to(PACKAGE)), []).append(node.value)
    assert typed == {}


def test_litellm_keeps_the_provider_stream_and_the_proxy_shutdown_event():
    import litellm

    stream = litellm.completion(
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        mock_response="x",
        stream=True,
    )
    version = _upstream.litellm_version()
    assert hasattr(stream, _upstream.PROVIDER_STREAM), (
        f"litellm {version}: CustomStreamWrapper has no {_upstream.PROVIDER_STREAM}"
    )
    list(stream)
    source = importlib.util.find_spec(_upstream.PROXY_SERVER_MODULE)
    if source is None:
        pytest.skip("litellm[proxy] is not installed")
    text = Path(source.origin).read_text()
    assert f"async def {_upstream.PROXY_SHUTDOWN_EVENT}(" in text, (
        f"litellm {_upstream.litellm_version()}: the proxy has no {_upstream.PROXY_SHUTDOWN_EVENT}"
    )


def test_base_instrumentor_keeps_its_singleton():
    from opentelemetry.instrumentation.instrumentor import BaseInstrumentor

    from opentelemetry_instrumentation_litellm import LiteLLMInstrumentor
    from opentelemetry_instrumentation_litellm._upstream import instrumentor_instance

    class Probe(BaseInstrumentor):
        def instrumentation_dependencies(self):
            return ()

        def _instrument(self, **kwargs):
            pass

        def _uninstrument(self, **kwargs):
            pass

    assert instrumentor_instance(Probe) is None, "BaseInstrumentor._instance changed meaning"
    probe = Probe()
    assert instrumentor_instance(Probe) is probe, "BaseInstrumentor no longer keeps _instance"
    assert instrumentor_instance(LiteLLMInstrumentor) in (None, LiteLLMInstrumentor())


def test_litellm_proxy_keeps_the_auth_hook():
    """One of the key check's names; where litellm has both, one function (an alias)."""
    import importlib

    from opentelemetry_instrumentation_litellm import _upstream as door

    auth = importlib.import_module(door.PROXY_AUTH_MODULE)
    found = {vars(auth)[n] for n in door.PROXY_AUTH_BUILDERS if n in vars(auth)}
    assert len(found) == 1, door.PROXY_AUTH_BUILDERS
    assert callable(found.pop())


@needs_guardrail_seams()
def test_litellm_proxy_keeps_the_guardrail_seams():
    import importlib

    from opentelemetry_instrumentation_litellm import _upstream as door

    utils = importlib.import_module(door.PROXY_UTILS_MODULE)
    for name in (door.PROXY_PRE_CALL_GUARDRAIL, door.PROXY_GUARDRAIL_WITH_METRICS):
        assert name in vars(utils.ProxyLogging), f"litellm ProxyLogging.{name} is gone"


@needs_guardrail_seams()
def test_litellm_proxy_keeps_the_streamed_guardrail_seams():
    """The functions ``proxy/_seams.py`` wraps to give a streamed answer's guardrail checks
    their spans, with the parameters it reads, in the order it reads them."""
    import importlib
    import inspect

    from opentelemetry_instrumentation_litellm import _upstream as door

    def parameters(function: object) -> list[str]:
        return [p for p in inspect.signature(function).parameters if p != "self"]  # type: ignore[arg-type]

    utils = importlib.import_module(door.PROXY_UTILS_MODULE)
    layer = vars(utils.ProxyLogging).get(door.PROXY_STREAM_LAYER)
    assert isinstance(layer, staticmethod), f"litellm ProxyLogging.{door.PROXY_STREAM_LAYER}"
    assert inspect.isasyncgenfunction(layer.__func__)
    assert parameters(layer.__func__) in (
        ["callback", "gen"],  # litellm <= 1.109: the guardrail's layer
        ["callback", "response", "hook", "request_data"],  # 1.110: hook(response=...) makes it
    )

    unified = getattr(
        importlib.import_module(door.PROXY_UNIFIED_GUARDRAIL_MODULE), door.PROXY_UNIFIED_GUARDRAIL
    )
    hook = vars(unified)["async_post_call_streaming_iterator_hook"]
    assert inspect.isasyncgenfunction(hook)
    assert parameters(hook)[:4] == [
        "user_api_key_dict",
        "response",
        "request_data",
        "guardrail_to_apply",
    ]
    for name in door.PROXY_STREAM_BLOCK_HANDLERS:
        handler = vars(unified)[name]
        assert inspect.isasyncgenfunction(handler), name
        assert parameters(handler)[0] == "exc", name
    resolve = vars(unified)[door.PROXY_STREAMING_FLAG]
    assert parameters(resolve) == ["guardrail_to_apply", "name", "default"]
    assert unified().resolve_streaming_flag(None, "streaming_transform_mode", "x") == "x"


@needs_guardrail_seams()
def test_litellm_proxy_keeps_the_guardrail_pipeline_seams():
    """``PipelineExecutor.execute_steps`` / ``_run_step``, static, with the parameters
    ``proxy/_pipelines.py`` reads in that order, and the result fields it reads."""
    import importlib
    import inspect

    from opentelemetry_instrumentation_litellm import _upstream as door

    module = importlib.import_module(door.PROXY_PIPELINE_MODULE)
    executor = getattr(module, door.PROXY_PIPELINE_EXECUTOR)
    run = vars(executor)[door.PROXY_PIPELINE_RUN]
    step = vars(executor)[door.PROXY_PIPELINE_STEP]
    assert isinstance(run, staticmethod) and isinstance(step, staticmethod)
    assert list(inspect.signature(run.__func__).parameters)[:6] == [
        "steps",
        "mode",
        "data",
        "user_api_key_dict",
        "call_type",
        "policy_name",
    ]
    assert list(inspect.signature(step.__func__).parameters)[:3] == ["step", "mode", "data"]
    result = importlib.import_module("litellm.types.proxy.policy_engine.pipeline_types")
    fields = result.PipelineExecutionResult.model_fields
    assert {"terminal_action", "modified_data", "original_exception"} <= set(fields)
    assert "guardrail" in result.PipelineStep.model_fields


def test_litellm_proxy_keeps_the_mcp_gateway_seams():
    """``MCPServerManager.call_tool`` with the parameters ``proxy/_mcp.py`` reads, the
    gateway's MCP server with its ``request_handlers``, the model tool call loop (static,
    ``tool_calls`` second), litellm's MCP client's ``run_with_session``, and the ``mcp``
    package's ``request_ctx``. That they are on the call path: tests/test_proxy_mcp.py."""
    from mcp_fixtures import mcp_unavailable

    if (why := mcp_unavailable()) is not None:
        pytest.skip(why)
    import importlib
    import inspect

    from mcp.server.lowlevel import server as lowlevel

    from opentelemetry_instrumentation_litellm import _upstream as door
    from opentelemetry_instrumentation_litellm.proxy import _mcp, _seams

    manager = getattr(importlib.import_module(door.MCP_MANAGER_MODULE), door.MCP_MANAGER)
    assert list(inspect.signature(manager.call_tool).parameters)[:5] == [
        "self",
        "server_name",
        "name",
        "arguments",
        "user_api_key_auth",
    ]
    assert "raw_headers" in inspect.signature(manager.call_tool).parameters
    gateway = getattr(importlib.import_module(door.MCP_GATEWAY_MODULE), door.MCP_GATEWAY_SERVER)
    assert isinstance(gateway, lowlevel.Server) and gateway.request_handlers
    handler = getattr(
        importlib.import_module(door.MCP_MODEL_TOOLS_MODULE), door.MCP_MODEL_TOOLS_HANDLER
    )
    calls = vars(handler)[door.MCP_MODEL_TOOL_CALLS]
    assert isinstance(calls, staticmethod)
    assert list(inspect.signature(calls.__func__).parameters)[:2] == [
        "tool_server_map",
        "tool_calls",
    ]
    client = importlib.import_module(_seams.MCP_CLIENT_MODULE).MCPClient
    assert inspect.iscoroutinefunction(client.run_with_session)
    assert lowlevel.__name__ == _mcp._MCP_SERVER_MODULE and lowlevel.request_ctx.get(None) is None


def test_the_api_keeps_its_proxy_meter_provider():
    from opentelemetry import metrics

    assert _upstream.PROXY_METER_PROVIDER is not None, "opentelemetry.metrics moved it"
    assert isinstance(metrics._internal._PROXY_METER_PROVIDER, _upstream.PROXY_METER_PROVIDER)


def test_litellm_router_seams_are_on_the_call_path(monkeypatch):
    """Each Router seam ``_router`` wraps is called during a Router call: the retry loop's
    per-attempt call and a deployment choice for every attempt, and (where this litellm
    binds methods per instance) the private methods that receive the litellm function."""
    import asyncio

    import litellm
    import openai

    called: list[str] = []

    def spy(name):
        original = getattr(litellm.Router, name)

        if inspect.iscoroutinefunction(original):

            async def spied(self, *args, **kwargs):
                called.append(name)
                return await original(self, *args, **kwargs)

        else:

            def spied(self, *args, **kwargs):
                called.append(name)
                return original(self, *args, **kwargs)

        monkeypatch.setattr(litellm.Router, name, spied)

    from opentelemetry_instrumentation_litellm import _router

    host = _router._router_host()
    if host is not None:  # litellm 1.110: its core calls litellm through PythonHost.invoke
        original_invoke = host.invoke
        ops: list[str] = []

        def invoke(self, op):
            ops.append(op)
            return original_invoke(self, op)

        monkeypatch.setattr(host, _upstream.ROUTER_HOST_INVOKE, invoke)
        router = litellm.Router(
            model_list=[
                {
                    "model_name": "fast",
                    "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "k"},
                }
            ]
        )
        asyncio.run(
            router.acompletion(
                model="fast", messages=[{"role": "user", "content": "hi"}], mock_response="x"
            )
        )
        assert "acompletion" in ops, ops
        return
    seams = [_upstream.ROUTER_ATTEMPT, _upstream.ROUTER_CHOICE, _upstream.ROUTER_ASYNC_CHOICE]
    captured = [name for name, _ in _upstream.ROUTER_CAPTURED_CALLS]
    for name in seams:
        assert hasattr(litellm.Router, name), (
            f"litellm {importlib.metadata.version('litellm')}: Router.{name}"
        )
        spy(name)
    router = litellm.Router(
        model_list=[
            {
                "model_name": "fast",
                "litellm_params": {
                    "model": "openai/gpt-4o-mini",
                    "api_key": "k",
                    "api_base": "http://127.0.0.1:1/v1",  # refused: no call leaves the host
                    "max_retries": 0,
                },
            }
        ],
        num_retries=0,
    )
    binds_per_instance = "aresponses" in vars(router)
    if binds_per_instance:  # litellm 1.102.4: the function is captured, handed on per attempt
        captured = [name for name in captured if hasattr(litellm.Router, name)]
        assert captured, f"litellm {importlib.metadata.version('litellm')}: no captured-call seam"
        for name in captured:
            spy(name)

    async def calls():
        await router.acompletion(
            model="fast", messages=[{"role": "user", "content": "hi"}], mock_response="x"
        )
        await router.aresponses(model="fast", input="hi", mock_response="x")
        if binds_per_instance:  # no mock_response for moderation: the refused port answers
            with pytest.raises(openai.APIConnectionError):
                await router.amoderation(model="fast", input="hi")

    asyncio.run(calls())
    if binds_per_instance:
        router.responses(model="fast", input="hi", mock_response="x")
    assert _upstream.ROUTER_ATTEMPT in called
    assert {_upstream.ROUTER_CHOICE, _upstream.ROUTER_ASYNC_CHOICE} & set(called)
    if binds_per_instance:
        assert set(captured) <= set(called), called
