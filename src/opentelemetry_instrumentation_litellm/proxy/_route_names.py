"""The server span named from the route Starlette matched, not from a search of its own.

opentelemetry-instrumentation-fastapi names its server span when the span starts, by matching
the request against the app's routes in turn (the proxy has about 550), just before Starlette
matches the same request again to serve it: about 0.3 M instructions of a proxied request
(1.4% of an untraced proxy's work). The search also misses a route the proxy registers on its
first request (its lazily loaded features, ``/v1/messages`` among them), so such a first
request got a span named only ``POST``.

:func:`name_from_matched_route` changes the app's OpenTelemetry middleware, once the
instrumentation has built it: the span starts named by its method (the name the
instrumentation itself gives a request no route matches), and when the response starts (or
the request ends without one) it gets ``{method} {route}`` and ``http.route``, the route
being the template of the route Starlette put in the request's scope, as the instrumentation
spells it (an included router's prefix included). A request no route fully matched (404,
405), or one a mounted app routed, is named by the instrumentation's own search, as before.
The span itself stays the instrumentation's: its start, attributes, status, context and end.

Left to the instrumentation: websocket requests, and all naming when the span's start name or
route is used elsewhere: the per-message ``http send``/``http receive`` spans (named after the
server span) when ``OTEL_INSTRUMENTATION_LITELLM_PROXY_EXCLUDE_SPANS`` brings them back, and
the HTTP duration metric of the stable conventions (``OTEL_SEMCONV_STABILITY_OPT_IN=http``),
which takes ``http.route`` from the span's start. A sampler sees the method-only name.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any, Final

from opentelemetry import trace
from opentelemetry.semconv.attributes.http_attributes import HTTP_ROUTE
from opentelemetry.util.http import sanitize_method

from opentelemetry_instrumentation_litellm import _upstream

_logger = logging.getLogger(__name__)

_STABILITY_VARIABLE: Final = "OTEL_SEMCONV_STABILITY_OPT_IN"
_METHOD_NOT_ALLOWED: Final = 405
"""The answer to a request that matched a route's path but none of its methods."""


def _stable_http_conventions() -> bool:
    """``OTEL_SEMCONV_STABILITY_OPT_IN`` asks for the stable HTTP conventions."""
    values = os.environ.get(_STABILITY_VARIABLE, "").split(",")
    return any(value.strip() in ("http", "http/dup") for value in values)


def _method(scope: Any) -> str:
    """The method part of the span name, as the instrumentation spells it."""
    method = sanitize_method(scope.get("method", "").strip())
    return "HTTP" if method == "_OTHER" else method


def _start_details(scope: Any) -> tuple[str, dict[str, str]]:
    """The span's name and extra attributes at its start: the method alone for HTTP."""
    if scope.get("type") != "http":
        return _upstream.default_span_details(scope)
    return _method(scope), {}


class RouteTemplates:
    """The template the instrumentation's search names each of the app's routes by, found
    by the route object; read again when the app's routes change (the proxy registers a
    lazily loaded feature's routes on its first request)."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._routes: object = None
        self._count = -1
        self._templates: dict[int, tuple[object, str | None]] = {}

    def template(self, route: object) -> str | None:
        """``route``'s template; None when it is not one of the app's routes (a mounted
        app's), or when it has two (a router included twice)."""
        entry = self._templates.get(id(route))
        if entry is None or entry[0] is not route:
            routes = self._app.routes
            if routes is self._routes and len(routes) == self._count:
                return None
            self._read(routes)
            entry = self._templates.get(id(route))
            if entry is None or entry[0] is not route:
                return None
        return entry[1]

    def _read(self, routes: Any) -> None:
        templates: dict[int, tuple[object, str | None]] = {}
        for route, template in _upstream.route_templates(routes):
            known = templates.get(id(route))
            templates[id(route)] = (route, None if known and known[1] != template else template)
        self._templates = templates
        self._routes = routes
        self._count = len(routes)


class _Namer:
    """The ASGI app inside the OpenTelemetry middleware (its span is the current one):
    names the span once Starlette matched the route, when the response starts."""

    def __init__(self, app: Any, templates: RouteTemplates) -> None:
        self.app = app
        self._templates = templates

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        span = trace.get_current_span()
        if scope["type"] != "http" or not span.is_recording():
            await self.app(scope, receive, send)
            return
        started = dict(scope)  # routing writes into the scope; a search reads it as it was
        named = False

        async def naming_send(message: Any) -> None:
            nonlocal named
            if not named:
                named = True
                self._name(span, scope, started, message.get("status"))
            await send(message)

        try:
            await self.app(scope, receive, naming_send)
        finally:
            if not named:  # no response sent: the app failed, or the client left
                self._name(span, scope, started, None)

    def _name(self, span: Any, scope: Any, started: Any, status: int | None) -> None:
        try:
            route = scope.get("route")
            template = None
            if route is not None and status != _METHOD_NOT_ALLOWED:
                template = self._templates.template(route)
            if template is None:
                template = _upstream.route_search(started)
            if template:
                span.update_name(f"{_method(started)} {template}")
                span.set_attribute(HTTP_ROUTE, template)
        except Exception:  # the request goes on whatever its span is named
            _logger.debug("The server span keeps its start name", exc_info=True)


def name_from_matched_route(app: Any, exclude_spans: list[str]) -> None:
    """Have the server spans of ``app``, a FastAPI app ``FastAPIInstrumentor`` instrumented
    with ``exclude_spans``, named from the route Starlette matched (see the module's doc)."""
    if _stable_http_conventions() or {"send", "receive"} - set(exclude_spans):
        return
    build: Callable[[], Any] = app.build_middleware_stack
    templates = RouteTemplates(app)

    def build_middleware_stack() -> Any:
        stack = build()
        try:
            middleware = _upstream.opentelemetry_middleware(stack)
            if middleware is None:
                _logger.debug("No OpenTelemetry middleware: server spans keep their names")
            else:
                _upstream.set_middleware_naming(
                    middleware, _start_details, lambda inner: _Namer(inner, templates)
                )
        except Exception:
            _logger.debug("Server spans keep the instrumentation's names", exc_info=True)
        return stack

    app.build_middleware_stack = build_middleware_stack
