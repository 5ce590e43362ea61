"""The proxy's server span named from the route Starlette matched (``proxy/_route_names.py``).

In process: one FastAPI app with what the proxy's routes have (static and templated paths, a
router included with a prefix, a mounted app, 404, 405, a failing route, a route registered
on its own first request as the proxy's lazily loaded features are), instrumented by
``FastAPIInstrumentor`` twice over, once as the instrumentation names spans and once named
from the matched route: every request's span must get the same name and ``http.route``,
except the route registered late, which only the matched route names. A real proxy's route
matrix is in ``test_proxy_guardrails.py`` and ``test_proxy.py``; the late route of a real
proxy (``/v1/messages``) at the end.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.instrumentation.fastapi")

import httpx
from fastapi import APIRouter, FastAPI, HTTPException
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse

from opentelemetry_instrumentation_litellm.proxy._route_names import name_from_matched_route
from otlp_receiver import OTLPReceiver, running
from proxy_fixtures import MASTER_KEY, ProxyServer, proxy_config, proxy_env, start_proxy

EXCLUDED = ["receive", "send"]
LATE = "/late/{name}"
REQUESTS = [
    ("POST", "/chat/completions"),
    ("GET", "/items/42"),
    ("GET", "/public/v1/hub/models"),
    ("POST", "/public/v1/hub"),
    ("GET", "/public/v1/hub"),  # 405 on an included router's route
    ("DELETE", "/chat/completions"),  # 405
    ("GET", "/nowhere"),  # 404
    ("GET", "/sub/inner"),  # a mounted app's route
    ("GET", "/missing"),  # a matched route answering 404
    ("GET", "/boom"),  # a matched route raising: 500
    ("FOO", "/chat/completions"),  # an unknown method
    ("GET", "/late/x"),  # registered by its own first request
    ("GET", "/late/y"),
]


def build_app() -> FastAPI:
    app = FastAPI()

    @app.post("/chat/completions")
    async def chat() -> dict[str, int]:
        return {"ok": 1}

    @app.get("/items/{item_id}")
    async def item(item_id: str) -> dict[str, str]:
        return {"id": item_id}

    @app.get("/missing")
    async def missing() -> None:
        raise HTTPException(404)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    hub = APIRouter()

    @hub.get("/hub/{facet}")
    async def facet(facet: str) -> dict[str, str]:
        return {"facet": facet}

    @hub.post("/hub")
    async def post_hub() -> dict[str, int]:
        return {"ok": 1}

    app.include_router(hub, prefix="/public/v1")
    sub = Starlette()
    sub.add_route("/inner", lambda request: PlainTextResponse("inner"))
    app.mount("/sub", sub)

    @app.middleware("http")
    async def lazy_feature(request: Any, call_next: Any) -> Any:
        """As the proxy's lazily loaded features: the route exists from its first request."""
        if request.url.path.startswith("/late") and not any(
            getattr(r, "path", None) == LATE for r in app.routes
        ):

            async def late(name: str) -> dict[str, str]:
                return {"name": name}

            app.add_api_route(LATE, late, methods=["GET"])
        return await call_next(request)

    return app


def spans_of(named: bool) -> list[tuple[str, Any, int]]:
    """(name, http.route, status code) of each request's server span."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = build_app()
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, exclude_spans=EXCLUDED)
    if named:
        name_from_matched_route(app, EXCLUDED)

    async def run() -> None:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://proxy") as client:
            for method, path in REQUESTS:
                await client.request(method, path)

    try:
        asyncio.run(run())
    finally:
        FastAPIInstrumentor.uninstrument_app(app)
    return [
        (s.name, s.attributes.get("http.route"), s.attributes.get("http.status_code"))
        for s in exporter.get_finished_spans()
    ]


def test_every_route_keeps_its_name_and_the_late_route_gets_one() -> None:
    searched, named = spans_of(named=False), spans_of(named=True)
    assert len(searched) == len(named) == len(REQUESTS)
    late = REQUESTS.index(("GET", "/late/x"))
    assert searched[late] == ("GET", None, 200)  # the search ran before the route existed
    assert named[late] == ("GET /late/{name}", LATE, 200)
    assert named[:late] + named[late + 1 :] == searched[:late] + searched[late + 1 :]
    assert dict(zip(REQUESTS, named, strict=True)) == {
        ("POST", "/chat/completions"): ("POST /chat/completions", "/chat/completions", 200),
        ("GET", "/items/42"): ("GET /items/{item_id}", "/items/{item_id}", 200),
        ("GET", "/public/v1/hub/models"): (
            "GET /public/v1/hub/{facet}",
            "/public/v1/hub/{facet}",
            200,
        ),
        ("POST", "/public/v1/hub"): ("POST /public/v1/hub", "/public/v1/hub", 200),
        ("GET", "/public/v1/hub"): ("GET /public/v1/hub", "/public/v1/hub", 405),
        ("DELETE", "/chat/completions"): ("DELETE /chat/completions", "/chat/completions", 405),
        ("GET", "/nowhere"): ("GET", None, 404),
        ("GET", "/sub/inner"): ("GET /sub", "/sub", 200),
        ("GET", "/missing"): ("GET /missing", "/missing", 404),
        ("GET", "/boom"): ("GET /boom", "/boom", 500),
        ("FOO", "/chat/completions"): ("HTTP /chat/completions", "/chat/completions", 405),
        ("GET", "/late/x"): ("GET /late/{name}", LATE, 200),
        ("GET", "/late/y"): ("GET /late/{name}", LATE, 200),
    }


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OTEL_SEMCONV_STABILITY_OPT_IN", "http"),
        ("OTEL_INSTRUMENTATION_LITELLM_PROXY_EXCLUDE_SPANS", ""),
    ],
)
def test_left_to_the_instrumentation_when_the_start_name_is_used(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    """With the stable HTTP conventions (``http.route`` on the duration metric from the
    span's start) or the per-message spans (named after the server span), nothing changes."""
    app = FastAPI()
    monkeypatch.setenv(variable, value)
    excluded = [] if variable.endswith("EXCLUDE_SPANS") else EXCLUDED
    build = app.build_middleware_stack
    name_from_matched_route(app, excluded)
    assert app.build_middleware_stack == build


# -- a real proxy: the route it registers on the first request ---------------------------


@pytest.fixture(scope="module")
def receiver() -> Iterator[OTLPReceiver]:
    yield from running()


@pytest.fixture(scope="module")
def lazy_proxy(
    tmp_path_factory: pytest.TempPathFactory, receiver: OTLPReceiver
) -> Iterator[ProxyServer]:
    directory: Path = tmp_path_factory.mktemp("proxy-route-names")
    config = proxy_config("http://127.0.0.1:9", callback=True, custom_auth=False)
    env = proxy_env(**receiver.exporter_env(), OTEL_BSP_SCHEDULE_DELAY="100")
    proxy = start_proxy(directory, config, env)
    try:
        yield proxy
    finally:
        proxy.stop()


def test_a_route_the_proxy_registers_on_its_first_request_names_that_request(
    lazy_proxy: ProxyServer, receiver: OTLPReceiver
) -> None:
    """The proxy loads its Anthropic ``/v1/messages`` routes on the first request to them:
    that request, sent with a ``traceparent``, is ``POST /v1/messages`` too; a path no route
    has is ``POST``, and a health probe is not traced."""

    def post(path: str, body: bytes, trace_id: int) -> None:
        request = urllib.request.Request(
            f"{lazy_proxy.url}{path}",
            data=body,
            method="POST",
            headers={
                "Authorization": f"Bearer {MASTER_KEY}",
                "Content-Type": "application/json",
                "traceparent": f"00-{trace_id:032x}-{secrets.randbits(64) or 1:016x}-01",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                answer.read()
        except urllib.error.HTTPError as error:
            error.read()

    with urllib.request.urlopen(f"{lazy_proxy.url}/health/liveliness", timeout=10) as probe:
        probe.read()
    message = {"role": "user", "content": "hi"}
    body = json.dumps({"model": "gpt-4o-mini", "max_tokens": 16, "messages": [message]}).encode()
    first, second, nowhere = (secrets.randbits(128) or 1 for _ in range(3))
    post("/v1/messages", body, first)
    post("/v1/messages", body, second)
    post("/no/such/route", b"{}", nowhere)

    def server(trace_id: int) -> Any:
        spans = receiver.wait_for(
            lambda spans: any(s.trace_id == trace_id and s.kind == 2 for s in spans)
        )
        (span,) = [s for s in spans if s.trace_id == trace_id and s.kind == 2]
        return span

    for trace_id in (first, second):
        span = server(trace_id)
        assert span.name == "POST /v1/messages"
        assert span.attributes["http.route"] == "/v1/messages"
    span = server(nowhere)
    assert span.name == "POST"
    assert "http.route" not in span.attributes
    assert not any("health" in s.name for s in receiver.snapshot())
