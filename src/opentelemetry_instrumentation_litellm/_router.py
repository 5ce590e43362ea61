"""``litellm.Router`` calls: one parent span over the attempts the router makes.

Each attempt is an ordinary ``litellm.completion``/``acompletion`` call the Router
makes to one deployment, traced as usual (with that deployment's provider, model
and server). The router span around them records the model group requested, the
deployment finally used, and how many retries and fallbacks it took.

A proxied LiteLLM Proxy request already has its span, the server span: there, unless the
proxy's phase spans are switched on, the request's Router call puts those facts onto it and
gets no span of its own (``facts_span()`` gives that span, or ``None``).
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import logging
import sys
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import context, trace
from opentelemetry.instrumentation.utils import unwrap
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.util.genai.utils import fq_exception_type
from wrapt import FunctionWrapper, wrap_function_wrapper

from opentelemetry_instrumentation_litellm import _upstream
from opentelemetry_instrumentation_litellm import attributes as attrs

_logger = logging.getLogger(__name__)

ROUTER_METHODS: tuple[str, ...] = (
    # chat and its kin
    "completion",
    "acompletion",
    "aadapter_completion",
    "responses",
    "aresponses",
    "acompact_responses",
    "anthropic_messages",
    "aanthropic_messages",
    "generate_content",
    "agenerate_content",
    "generate_content_stream",
    "agenerate_content_stream",
    "aadapter_generate_content",
    "create_interaction",
    "acreate_interaction",
    "text_completion",
    "atext_completion",
    "decisions",
    "adecisions",
    "systemone",
    "asystemone",
    "extraction",
    "aextraction",
    # embeddings, retrieval, ranking, moderation, OCR
    "embedding",
    "aembedding",
    "arerank",
    "search",
    "asearch",
    "vector_store_search",
    "avector_store_search",
    "amoderation",
    "ocr",
    "aocr",
    # media
    "image_generation",
    "aimage_generation",
    "aimage_edit",
    "aspeech",
    "atranscription",
    "video_generation",
    "avideo_generation",
    "video_remix",
    "avideo_remix",
    "video_edit",
    "avideo_edit",
    "video_extension",
    "avideo_extension",
)
"""``litellm.Router`` methods that call a model and get a router span, whichever way this
litellm defines them (a method of the class, or a function ``Router.__init__`` binds on
each instance); names this litellm lacks are skipped. The Router's other public methods
that reach a deployment are listed, with the reason, in :mod:`._router_coverage`."""


@dataclass
class RouterCall:
    """The attempts of one Router call, recorded from the Router's own retry loop and
    deployment choices (so whatever function an attempt calls, traced or not)."""

    model_group: str | None
    attempts: list[list[str | None]] = field(default_factory=list)
    """[model group, deployment model, deployment id] of each attempt, in order."""
    pending: bool = False
    """The last attempt was begun by the retry loop and has no deployment yet."""
    selecting: bool = False
    """A deployment choice is under way (one choice may call another)."""

    def begin_attempt(self, group: Any) -> None:
        """The Router's retry loop starts one attempt on ``group``."""
        self.attempts.append([group if isinstance(group, str) else self.model_group, None, None])
        self.pending = True

    def chose(self, group: Any, deployment: Any) -> None:
        """The Router picked ``deployment`` (its model list entry) in ``group``: the
        deployment of the attempt the retry loop began, or an attempt of its own (calls the
        Router makes without its retry loop)."""
        if not isinstance(deployment, Mapping):
            return
        params = deployment.get("litellm_params")
        model = params.get("model") if isinstance(params, Mapping) else None
        model_info = deployment.get("model_info")
        deployment_id = model_info.get("id") if isinstance(model_info, Mapping) else None
        if not (self.pending and self.attempts):
            self.begin_attempt(group)
        attempt = self.attempts[-1]
        attempt[1] = model if isinstance(model, str) else None
        attempt[2] = deployment_id if isinstance(deployment_id, str) else None
        self.pending = False

    def attempted(self, call: Mapping[str, Any]) -> None:
        """One attempt, read from the keyword arguments the Router calls litellm with (its
        metadata names the model group, the deployment and its id): litellm 1.110, whose
        retry loop and deployment choice run in its core."""
        metadata = call.get("litellm_metadata") or call.get("metadata")
        if not isinstance(metadata, Mapping) or "model_group" not in metadata:
            return  # not a deployment call (the Router's other calls through its host)
        deployment = metadata.get("deployment")
        self.chose(
            metadata.get("model_group"),
            {"litellm_params": {"model": deployment}, "model_info": metadata.get("model_info")},
        )

    def attributes(self) -> dict[str, Any]:
        groups = [group for group, _, _ in self.attempts]
        fallbacks = sum(1 for before, after in itertools.pairwise(groups) if before != after)
        result: dict[str, Any] = {
            attrs.LITELLM_ROUTER_ATTEMPTS: len(self.attempts),
            attrs.LITELLM_ROUTER_RETRIES: max(len(self.attempts) - 1 - fallbacks, 0),
            attrs.LITELLM_ROUTER_FALLBACKS: fallbacks,
        }
        if self.attempts:
            group, deployment, deployment_id = self.attempts[-1]
            if isinstance(group, str):
                result[attrs.LITELLM_ROUTER_FINAL_MODEL_GROUP] = group
            if isinstance(deployment, str):
                result[attrs.LITELLM_ROUTER_DEPLOYMENT] = deployment
            if deployment_id:
                result[attrs.LITELLM_MODEL_ID] = deployment_id
        return result


_CURRENT: ContextVar[RouterCall | None] = ContextVar("litellm_router_call", default=None)


def _group(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str | None:
    """The model group a Router call asks for (a search tool's name for ``search``)."""
    model = kwargs.get("model", args[0] if args else None)
    if model is None:
        model = kwargs.get("search_tool_name")
    return model if isinstance(model, str) else None


def _start(tracer: Tracer, facts_span: Callable[[], Span | None], args: Any, kwargs: Any):
    """What tracks the call's attempts, and the span its facts go onto: the request's span
    ``facts_span()`` gives (``True``: no span of its own), or a new router span (``False``;
    started after the tracker is built, so nothing is left open if that fails)."""
    router_call = RouterCall(_group(args, kwargs))
    request_span = facts_span()
    if request_span is not None:
        return router_call, request_span, True
    group = router_call.model_group
    span = tracer.start_span(
        f"router {group}" if group else "router",
        kind=SpanKind.INTERNAL,
        attributes={attrs.LITELLM_ROUTER_MODEL_GROUP: group} if group else None,
    )
    return router_call, span, False


def _record(
    span: Span, router_call: RouterCall, error: BaseException | None, on_request: bool
) -> None:
    """The Router's facts onto its span; or, ``on_request``, onto the request's: the model
    group, and the attempts, retries, fallbacks and final group only when it made more than
    one attempt (the deployment and its id are on the attempt's own span), no error status
    (the span is the request's; the failed attempt's span carries the error)."""
    if not on_request:
        span.set_attributes(router_call.attributes())
        if error is not None:
            span.set_attribute(ERROR_TYPE, fq_exception_type(error))
            span.set_status(Status(StatusCode.ERROR, str(error)))
        return
    facts = router_call.attributes() if len(router_call.attempts) > 1 else {}
    facts.pop(attrs.LITELLM_ROUTER_DEPLOYMENT, None)
    facts.pop(attrs.LITELLM_MODEL_ID, None)
    if router_call.model_group:
        facts[attrs.LITELLM_ROUTER_MODEL_GROUP] = router_call.model_group
    span.set_attributes(facts)


def _no_facts_span() -> Span | None:
    return None


def make_router_wrapper(
    tracer: Tracer, is_async: bool, facts_span: Callable[[], Span | None] = _no_facts_span
) -> Callable[..., Any]:
    """A wrapt wrapper for a ``litellm.Router`` method; ``facts_span()``: the span a call's
    facts go onto instead of a router span, or ``None`` (a router span).

    The wrappers are the boundary between the user's call and our code: every step of ours
    they run is guarded, and the span's context is restored and the span ended in a
    ``finally``, so whatever step fails, the call is unchanged and the span ends once.
    """

    if is_async:

        async def async_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            if _CURRENT.get() is not None:  # the Router calling itself (fallbacks)
                return await wrapped(*args, **kwargs)
            try:
                router_call, span, on_request = _start(tracer, facts_span, args, kwargs)
            except Exception:
                _logger.debug(
                    "litellm instrumentation: could not start a router span", exc_info=True
                )
                return await wrapped(*args, **kwargs)
            token = _CURRENT.set(router_call)
            context_token = None if on_request else context.attach(trace.set_span_in_context(span))
            error: BaseException | None = None
            try:
                return await wrapped(*args, **kwargs)
            except BaseException as caught:
                error = caught
                raise
            finally:
                if context_token is not None:
                    context.detach(context_token)
                try:
                    _record(span, router_call, error, on_request)
                except Exception:
                    _logger.debug(
                        "litellm instrumentation: could not record a router span", exc_info=True
                    )
                if not on_request:
                    span.end()
                _CURRENT.reset(token)
                error = None  # no reference cycle through this frame

        return async_wrapper

    def sync_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if _CURRENT.get() is not None:  # the Router calling itself (fallbacks): one router span
            return wrapped(*args, **kwargs)
        try:
            router_call, span, on_request = _start(tracer, facts_span, args, kwargs)
        except Exception:
            _logger.debug("litellm instrumentation: could not start a router span", exc_info=True)
            return wrapped(*args, **kwargs)
        token = _CURRENT.set(router_call)
        context_token = None if on_request else context.attach(trace.set_span_in_context(span))
        error: BaseException | None = None
        try:
            return wrapped(*args, **kwargs)
        except BaseException as caught:
            error = caught
            raise
        finally:
            if context_token is not None:
                context.detach(context_token)
            try:
                _record(span, router_call, error, on_request)
            except Exception:
                _logger.debug(
                    "litellm instrumentation: could not record a router span", exc_info=True
                )
            if not on_request:
                span.end()
            _CURRENT.reset(token)
            error = None  # no reference cycle through this frame

    return sync_wrapper


# --- the Router's attempts --------------------------------------------------------------


def _begin_attempt(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """Around the Router's per-attempt call (its retry loop's ``make_call``): one attempt
    begins. Returns what the wrapped function returns (a coroutine), unawaited."""
    router_call = _CURRENT.get()
    if router_call is not None:
        try:
            router_call.begin_attempt(kwargs.get("model"))
        except Exception:
            _logger.debug("litellm instrumentation: could not record an attempt", exc_info=True)
    return wrapped(*args, **kwargs)


def _choose(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """Around ``Router.get_available_deployment``: the deployment an attempt goes to."""
    router_call = _CURRENT.get()
    if router_call is None or router_call.selecting:
        return wrapped(*args, **kwargs)
    router_call.selecting = True
    try:
        deployment = wrapped(*args, **kwargs)
    finally:
        router_call.selecting = False
    try:
        router_call.chose(kwargs.get("model", args[0] if args else None), deployment)
    except Exception:
        _logger.debug("litellm instrumentation: could not record a deployment", exc_info=True)
    return deployment


async def _achoose(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """Around ``Router.async_get_available_deployment`` (which may call the sync one)."""
    router_call = _CURRENT.get()
    if router_call is None or router_call.selecting:
        return await wrapped(*args, **kwargs)
    router_call.selecting = True
    try:
        deployment = await wrapped(*args, **kwargs)
    finally:
        router_call.selecting = False
    try:
        router_call.chose(kwargs.get("model", args[0] if args else None), deployment)
    except Exception:
        _logger.debug("litellm instrumentation: could not record a deployment", exc_info=True)
    return deployment


def _host_call(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """Around litellm 1.110's ``PythonHost.invoke(op)``, which gives the Router the litellm
    function of each call it makes: during a Router call, that function records the attempt
    its arguments describe when called."""
    function = wrapped(*args, **kwargs)
    router_call = _CURRENT.get()
    if router_call is None or not callable(function):
        return function

    def attempt(*call_args: Any, **call_kwargs: Any) -> Any:
        try:
            router_call.attempted(call_kwargs)
        except Exception:
            _logger.debug("litellm instrumentation: could not record an attempt", exc_info=True)
        return function(*call_args, **call_kwargs)

    return attempt


# --- what a Router made before instrument() calls ---------------------------------------


def _wraps(candidate: Any, function: Any) -> bool:
    """Whether ``candidate`` is ``function`` wrapped (a few layers of wrappers at most)."""
    for _ in range(8):
        candidate = getattr(candidate, "__wrapped__", None)
        if candidate is None:
            return False
        if candidate is function:
            return True
    return False


def reachable_now(function: Any) -> Any:
    """The function a user reaches today under ``function``'s name, when that is
    ``function`` wrapped since: a litellm function the Router took when it was made
    (``Router.__init__`` of litellm 1.102.4 keeps ``litellm.aresponses`` and others in
    closures) by a Router made before ``instrument()``, replaced by what ``litellm.<name>``
    (or its own module's ``<name>``) is now, so each attempt gets its span. Else unchanged."""
    name = getattr(function, "__name__", None)
    if not isinstance(name, str):
        return function
    for module_name in ("litellm", getattr(function, "__module__", None)):
        module = sys.modules.get(module_name) if isinstance(module_name, str) else None
        candidate = getattr(module, name, None)
        if candidate is not None and _wraps(candidate, function):
            return candidate
    return function


def _rerouted(argument: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    function = kwargs.get(argument)
    current = reachable_now(function) if function is not None else None
    return kwargs if current is None or current is function else {**kwargs, argument: current}


def _make_reroute(argument: str, is_async: bool) -> Callable[..., Any]:
    """A wrapper for a Router seam that calls the litellm function in keyword ``argument``:
    it calls :func:`reachable_now` of it instead."""

    if is_async:

        async def async_reroute(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            try:
                kwargs = _rerouted(argument, kwargs)
            except Exception:
                _logger.debug("litellm instrumentation: could not reroute", exc_info=True)
            return await wrapped(*args, **kwargs)

        return async_reroute

    def reroute(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        try:
            kwargs = _rerouted(argument, kwargs)
        except Exception:
            _logger.debug("litellm instrumentation: could not reroute", exc_info=True)
        return wrapped(*args, **kwargs)

    return reroute


# --- where the wrappers go --------------------------------------------------------------


class _BoundPerInstance:
    """A data descriptor on ``litellm.Router`` for a method its ``__init__`` binds on each
    instance (``self.aresponses = self.factory_function(...)`` in litellm 1.102.4).

    A data descriptor on the class is looked up before the instance's ``__dict__``, so a
    Router made before ``instrument()`` is traced as one made after: reading
    ``router.aresponses`` returns the instance's own function wrapped; assigning it (in
    ``__init__``) stores it in the instance unchanged. Removing the descriptor
    (``uninstrument()``) leaves every instance exactly as litellm made it.
    """

    def __init__(self, name: str, sync_wrapper: Any, async_wrapper: Any) -> None:
        self.name = name
        self.sync_wrapper = sync_wrapper
        self.async_wrapper = async_wrapper

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        try:
            function = instance.__dict__[self.name]
        except KeyError:
            raise AttributeError(self.name) from None
        if not callable(function):
            return function
        is_async = inspect.iscoroutinefunction(function)
        return FunctionWrapper(function, self.async_wrapper if is_async else self.sync_wrapper)

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.name] = value

    def __delete__(self, instance: Any) -> None:
        try:
            del instance.__dict__[self.name]
        except KeyError:
            raise AttributeError(self.name) from None


def _defined_on_class(router: type, name: str) -> Any:
    """The function ``name`` is on the Router class (or a base), or None."""
    for klass in router.__mro__:
        if name in vars(klass):
            value = vars(klass)[name]
            return value if inspect.isfunction(value) or hasattr(value, "__wrapped__") else None
    return None


def _is_async(name: str, function: Any) -> bool:
    """Whether the Router method ``name`` is async: its function says so, or (a function
    that only forwards, as litellm 1.110's endpoints read off the class) its name does:
    litellm names its async Router methods with a leading ``a`` (``anthropic_messages``
    is async too)."""
    if inspect.iscoroutinefunction(function):
        return True
    code = getattr(function, "__code__", None)
    forwards = (
        code is not None and code.co_flags & inspect.CO_VARKEYWORDS and not code.co_argcount > 1
    )
    return bool(forwards) and name.startswith("a")


def instrument_router(
    router: type, tracer: Tracer, facts_span: Callable[[], Span | None] = _no_facts_span
) -> None:
    """Wrap ``router`` (``litellm.Router``): a router span (or the request span's facts)
    around each of :data:`ROUTER_METHODS`, and the attempt and deployment records."""
    sync_wrapper = make_router_wrapper(tracer, False, facts_span)
    async_wrapper = make_router_wrapper(tracer, True, facts_span)
    for name in ROUTER_METHODS:
        function = _defined_on_class(router, name)
        if function is None and not any(name in vars(klass) for klass in router.__mro__):
            # Served by the class's own attribute hook, if at all: litellm 1.110's Router is
            # a facade whose metaclass reads (and sets, and on delete restores) its core's
            # methods and endpoints.
            function = getattr(router, name, None)
        if function is not None:
            wrapper = async_wrapper if _is_async(name, function) else sync_wrapper
            wrap_function_wrapper(router, name, wrapper)
        elif not hasattr(router, name):
            # Not on the class: either bound per instance by __init__, or absent from this
            # litellm (then the descriptor finds nothing on the instance: AttributeError).
            setattr(router, name, _BoundPerInstance(name, sync_wrapper, async_wrapper))
    for name, wrapper in (
        (_upstream.ROUTER_ATTEMPT, _begin_attempt),
        (_upstream.ROUTER_CHOICE, _choose),
        (_upstream.ROUTER_ASYNC_CHOICE, _achoose),
    ):
        if _defined_on_class(router, name) is not None:
            wrap_function_wrapper(router, name, wrapper)
        else:
            _logger.debug("litellm.Router has no %s: router attempts not recorded", name)
    for name, argument in _upstream.ROUTER_CAPTURED_CALLS:
        function = _defined_on_class(router, name)
        if function is not None:
            is_async = inspect.iscoroutinefunction(function)
            wrap_function_wrapper(router, name, _make_reroute(argument, is_async))
    host = _router_host()
    if host is not None:
        wrap_function_wrapper(host, _upstream.ROUTER_HOST_INVOKE, _host_call)


def _router_host() -> Any:
    """litellm 1.110's ``PythonHost`` class, through which its Router calls litellm; None
    in a litellm without it."""
    try:
        module = importlib.import_module(_upstream.ROUTER_HOST_MODULE)
    except ImportError:
        return None
    host = getattr(module, _upstream.ROUTER_HOST_CLASS, None)
    return host if _defined_on_class(host, _upstream.ROUTER_HOST_INVOKE) is not None else None


def uninstrument_router(router: type) -> None:
    """Take out what :func:`instrument_router` put in, leaving every instance as it was."""
    for name in (
        *ROUTER_METHODS,
        _upstream.ROUTER_ATTEMPT,
        _upstream.ROUTER_CHOICE,
        _upstream.ROUTER_ASYNC_CHOICE,
        *(name for name, _ in _upstream.ROUTER_CAPTURED_CALLS),
    ):
        value = vars(router).get(name)
        if isinstance(value, _BoundPerInstance):
            delattr(router, name)
        elif hasattr(value, "__wrapped__"):
            unwrap(router, name)
        elif value is None and hasattr(getattr(router, name, None), "__wrapped__"):
            # Set through the class's attribute hook (litellm 1.110's facade sets its core's
            # attribute and puts the original back when the attribute is deleted).
            delattr(router, name)
    host = _router_host()
    if host is not None and hasattr(vars(host).get(_upstream.ROUTER_HOST_INVOKE), "__wrapped__"):
        unwrap(host, _upstream.ROUTER_HOST_INVOKE)
