"""Export what is still buffered when a LiteLLM Proxy worker shuts down.

uvicorn ends a worker that got SIGTERM by raising the signal again once its graceful
shutdown is over, with the default handler back in place: the process dies without running
``atexit``, so the SDK's own flush at exit never happens and the spans of the last
``OTEL_BSP_SCHEDULE_DELAY`` are lost. The proxy's app lifespan ends by awaiting
``litellm.proxy.proxy_server.proxy_shutdown_event`` (after in-flight requests finished);
it is wrapped to flush the providers after it.

:func:`enable` registers that wrapping for when the proxy's server module is imported (at
once if it is), so it works whichever way the proxy was instrumented: the config entry
(:mod:`opentelemetry_instrumentation_litellm.proxy`) or ``opentelemetry-instrument``. It never
imports the proxy itself.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Awaitable, Callable, Iterable
from types import ModuleType
from typing import Any, Final

from opentelemetry import metrics, trace
from opentelemetry.instrumentation.utils import unwrap
from wrapt import register_post_import_hook, wrap_function_wrapper

from opentelemetry_instrumentation_litellm import _upstream

_logger = logging.getLogger(__name__)

PROXY_SERVER_MODULE: Final = _upstream.PROXY_SERVER_MODULE
SHUTDOWN_EVENT: Final = _upstream.PROXY_SHUTDOWN_EVENT

FLUSH_TIMEOUT_MILLIS: Final = 10_000
"""The most a flush at shutdown waits for each provider (a backend that is down)."""

_lock = threading.Lock()
_import_hooks: set[Callable[[ModuleType], None]] = set()
"""Post-import hooks registered for the proxy server module (wrapt keeps them for good)."""
_providers: tuple[Any, ...] = ()
"""Providers to flush besides the global ones (those given to ``instrument()``)."""
_enabled = False


def flush_providers(extra: Iterable[Any] = ()) -> None:
    """Export what the global providers, and ``extra``, still hold. Never raises."""
    providers = [
        trace.get_tracer_provider(),
        metrics.get_meter_provider(),
        _upstream.get_logger_provider(),
    ]
    for provider in extra:
        if provider is not None and all(provider is not seen for seen in providers):
            providers.append(provider)
    for provider in providers:
        force_flush = getattr(provider, "force_flush", None)
        if force_flush is None:  # an API no-op or proxy provider: nothing buffered
            continue
        try:
            force_flush(timeout_millis=FLUSH_TIMEOUT_MILLIS)
        except Exception:
            _logger.warning(
                "Flushing %s at shutdown failed", type(provider).__name__, exc_info=True
            )


async def _flush_after_shutdown(
    wrapped: Callable[..., Awaitable[Any]], instance: Any, args: Any, kwargs: Any
) -> Any:
    try:
        return await wrapped(*args, **kwargs)
    finally:
        if _enabled:
            await asyncio.to_thread(flush_providers, _providers)


def _is_ours(function: Any) -> bool:
    return _upstream.wrapper_of(function) is _flush_after_shutdown


def _wrap(server: ModuleType) -> None:
    """The post-import hook: wrap the shutdown event once."""
    try:
        event = getattr(server, SHUTDOWN_EVENT, None)
        if not _enabled or _is_ours(event):
            return
        if not callable(event):
            _logger.warning(
                "%s has no %s: spans of the last seconds before a SIGTERM may be lost",
                PROXY_SERVER_MODULE,
                SHUTDOWN_EVENT,
            )
            return
        wrap_function_wrapper(server, SHUTDOWN_EVENT, _flush_after_shutdown)
    except Exception:
        _logger.debug("Could not hook the proxy's shutdown", exc_info=True)


def on_proxy_import(hook: Callable[[ModuleType], None]) -> None:
    """Call ``hook(litellm.proxy.proxy_server)`` once that module is imported (at once if it
    is), without importing it.

    wrapt cannot remove a post-import hook: ``hook`` is registered the first time only and
    must do nothing while its feature is disabled; a later call runs it at once if the
    module is there (enabled again after a disable)."""
    with _lock:
        first = hook not in _import_hooks
        _import_hooks.add(hook)
    if first:
        register_post_import_hook(hook, PROXY_SERVER_MODULE)
    else:
        server = sys.modules.get(PROXY_SERVER_MODULE)
        if server is not None:
            hook(server)


def enable(providers: Iterable[Any] = ()) -> None:
    """Flush the global providers and ``providers`` at the proxy's shutdown, if it runs."""
    global _enabled, _providers
    with _lock:
        _enabled = True
        _providers = (*_providers, *(p for p in providers if p is not None))
    on_proxy_import(_wrap)


def disable() -> None:
    """Undo :func:`enable`: the proxy's shutdown event is the original again."""
    global _enabled, _providers
    with _lock:
        _enabled = False
        _providers = ()
        server = sys.modules.get(PROXY_SERVER_MODULE)
        if server is not None and _is_ours(getattr(server, SHUTDOWN_EVENT, None)):
            unwrap(server, SHUTDOWN_EVENT)
