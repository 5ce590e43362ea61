"""The proxied request as its key check and hook phases saw it: its server span, and
whether the request's Router call has put its facts on that span (:func:`router_facts_span`).
"""

from __future__ import annotations

from contextvars import ContextVar

from opentelemetry.trace import Span, get_current_span

from opentelemetry_instrumentation_litellm.proxy import _settings


class _ProxyRequest:
    """A proxied request as its key check and hook phases saw it: its server span (current
    when they run), and whether a Router call has put its facts on that span."""

    __slots__ = ("router_facts", "span")

    def __init__(self, span: Span) -> None:
        self.span = span
        self.router_facts = False


_proxy_request: ContextVar[_ProxyRequest | None] = ContextVar("litellm_proxy_request", default=None)
"""Set by the key check and the hook phases (not reset: they run in the request's own task,
before its model call). Tasks started during the request copy it, and a request task may
inherit it from an earlier one on the same connection: :func:`router_facts_span` therefore
also requires its span to be the current span and recording."""


def mark_request(span: Span) -> None:
    request = _proxy_request.get()
    if request is None or request.span is not span:
        _proxy_request.set(_ProxyRequest(span))


def router_facts_span() -> Span | None:
    """The span a ``litellm.Router`` call puts its facts on instead of a span of its own, or
    ``None`` (a router span): without phase spans, the server span of the proxied request
    the call serves (its key check or hook phases ran in this task), for the request's first
    Router call made directly under it while it records. Other Router calls (a guardrail's,
    under its guardrail span; a second one in the request; one from a task outliving the
    request) get their router span. Merely importing litellm's proxy server (litellm's own
    ``otel`` callback does) changes nothing."""
    settings = _settings.active
    request = _proxy_request.get()
    if settings is None or settings.phase_spans or request is None or request.router_facts:
        return None
    span = get_current_span()
    if span is not request.span or not span.is_recording():
        return None
    request.router_facts = True
    return span
