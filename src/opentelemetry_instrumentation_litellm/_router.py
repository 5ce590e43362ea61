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

import itertools
import logging
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import context, trace
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.util.genai.utils import fq_exception_type

from opentelemetry_instrumentation_litellm import attributes as attrs
from opentelemetry_instrumentation_litellm._request import metadata_value

_logger = logging.getLogger(__name__)

ROUTER_METHODS: tuple[tuple[str, bool], ...] = (
    ("completion", False),
    ("acompletion", True),
    ("embedding", False),
    ("aembedding", True),
)
"""``litellm.Router`` methods wrapped, and whether each is async."""


@dataclass
class RouterCall:
    """The attempts of one Router call, recorded by the attempt wrappers."""

    model_group: str | None
    attempts: list[tuple[str | None, str | None, str | None]] = field(default_factory=list)
    """(model group, deployment model, deployment id) of each attempt, in order."""

    def record(self, call: Mapping[str, Any]) -> None:
        model_info = metadata_value(call, "model_info")
        deployment_id = model_info.get("id") if isinstance(model_info, Mapping) else None
        self.attempts.append(
            (
                metadata_value(call, "model_group") or self.model_group,
                metadata_value(call, "deployment") or call.get("model"),
                deployment_id if isinstance(deployment_id, str) else None,
            )
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


def current_router_call() -> RouterCall | None:
    return _CURRENT.get()


def _group(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str | None:
    model = kwargs.get("model", args[0] if args else None)
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
