"""One litellm instrumentation under ``opentelemetry-instrument``, however many are installed.

OpenLLMetry's ``opentelemetry-instrumentation-litellm`` and OpenInference's
``openinference-instrumentation-litellm`` register the same ``opentelemetry_instrumentor``
entry point, ``litellm``, as this package. ``opentelemetry-instrument`` instruments every
one of them, so each litellm call would get a span from each.

After it has loaded all instrumentors, ``opentelemetry-instrument`` calls the entry points
of the group ``opentelemetry_post_instrument``; :func:`keep_one` is ours. It keeps the
instrumentation that ``OTEL_INSTRUMENTATION_LITELLM_PREFERRED`` names (a distribution name;
default: this package) and uninstruments the others through their public ``uninstrument()``.
``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=litellm`` still switches all of them off. Code that
instruments in-process (``LiteLLMInstrumentor().instrument()``) is never second-guessed: the
hook runs only in the zero-code path.

Instrumentations wrap litellm's functions on top of each other, and each one's
``uninstrument()`` restores what *it* found, so they are taken off from the top of the stack
down, and the kept one is put back if it had to come off too. The stack order is known from
:func:`note_instrumenting` (which peers were already instrumented when ours was) and, among
peers, from the entry points' order, which is the order ``opentelemetry-instrument`` loads
them in.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import Any

from opentelemetry_instrumentation_litellm._upstream import instrumentor_instance

_logger = logging.getLogger(__name__)

OTEL_INSTRUMENTATION_LITELLM_PREFERRED = "OTEL_INSTRUMENTATION_LITELLM_PREFERRED"
"""Environment variable: the distribution whose litellm instrumentation
``opentelemetry-instrument`` keeps when several are installed (default: this package)."""

DISTRIBUTION = "otel-genai-litellm"

PEERS = {
    "opentelemetry-instrumentation-litellm": "opentelemetry.instrumentation.litellm",
    "openinference-instrumentation-litellm": "openinference.instrumentation.litellm",
}
"""Other litellm instrumentations (distribution: module with a ``LiteLLMInstrumentor``):
OpenLLMetry's (Traceloop) and OpenInference's (Arize)."""

_below_ours: tuple[str, ...] = ()
"""Peers that were already instrumented when ours was: their wrappers sit under ours."""
_ours: Any = None
"""Our ``LiteLLMInstrumentor``, once it instrumented (given by it: no import of it here)."""


_Active = tuple[str, Any]
"""A distribution and its instrumented ``BaseInstrumentor``."""


def _peer_instrumentor(distribution: str) -> Any | None:
    """The peer's instrumentor instance, if its module is imported (never import it here)
    and the instrumentor was ever created."""
    module = sys.modules.get(PEERS[distribution])
    cls = getattr(module, "LiteLLMInstrumentor", None)
    return instrumentor_instance(cls) if cls is not None else None


def _instrumented_peers() -> list[str]:
    found = []
    for distribution in PEERS:
        try:
            instrumentor = _peer_instrumentor(distribution)
        except Exception:  # a peer we cannot inspect is left alone
            _logger.debug("Cannot inspect %s", distribution, exc_info=True)
            continue
        if instrumentor is not None and instrumentor.is_instrumented_by_opentelemetry:
            found.append(distribution)
    return found


def note_instrumenting(ours: Any) -> None:
    """Called by ``LiteLLMInstrumentor._instrument`` with itself: remember it, and which
    peers are under it."""
    global _below_ours, _ours
    _below_ours = tuple(_instrumented_peers())
    _ours = ours


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _entry_point_order() -> list[str]:
    """Distributions with an ``opentelemetry_instrumentor`` named ``litellm``, in the order
    ``opentelemetry-instrument`` loads them."""
    from importlib.metadata import entry_points

    order = []
    for entry_point in entry_points(group="opentelemetry_instrumentor", name="litellm"):
        dist = getattr(entry_point, "dist", None)
        if dist is not None and _normalize(dist.name) not in order:
            order.append(_normalize(dist.name))
    return order


def _stack() -> list[_Active]:
    """The instrumented litellm instrumentations, from the bottom of the wrapper stack up."""
    peers = _instrumented_peers()
    loaded = _entry_point_order()
    peers.sort(key=lambda name: loaded.index(name) if name in loaded else len(loaded))
    ours = _ours
    if ours is None or not ours.is_instrumented_by_opentelemetry:
        names = peers
    else:
        below = [name for name in peers if name in _below_ours]
        names = [*below, DISTRIBUTION, *(name for name in peers if name not in below)]
    return [(name, ours if name == DISTRIBUTION else _peer_instrumentor(name)) for name in names]


def _preferred(stack: list[_Active]) -> tuple[str, bool]:
    """The distribution to keep, and whether the user chose it."""
    raw = os.environ.get(OTEL_INSTRUMENTATION_LITELLM_PREFERRED, "").strip()
    choices = (DISTRIBUTION, *PEERS)
    installed = [name for name, _ in stack]
    default = DISTRIBUTION if DISTRIBUTION in installed else installed[0]
    if not raw:
        return default, False
    wanted = _normalize(raw)
    if wanted not in choices:
        _logger.warning(
            "%s=%s is not a litellm instrumentation; expected one of %s. Keeping %s.",
            OTEL_INSTRUMENTATION_LITELLM_PREFERRED,
            raw,
            ", ".join(choices),
            default,
        )
        return default, False
    if wanted not in installed:
        _logger.warning(
            "%s=%s, but %s is not installed (or not instrumented); litellm is traced by %s.",
            OTEL_INSTRUMENTATION_LITELLM_PREFERRED,
            raw,
            wanted,
            default,
        )
        return default, False
    return wanted, True


def keep_one() -> None:
    """``opentelemetry_post_instrument`` hook: leave exactly one litellm instrumentation on."""
    try:
        stack = _stack()
        if not stack:
            return
        keep, chosen = _preferred(stack)
        if len(stack) > 1:
            _keep_only(stack, keep, chosen)
    except Exception:  # never break the application's start-up
        _logger.exception("Could not settle which litellm instrumentation to keep")


def _keep_only(stack: list[_Active], keep: str, chosen: bool) -> None:
    names = [name for name, _ in stack]
    kept = names.index(keep)
    lowest_other = min(index for index, name in enumerate(names) if name != keep)
    for _, instrumentor in reversed(stack[lowest_other:]):  # top down: each restores its own
        instrumentor.uninstrument()
    if kept > lowest_other:  # it had to come off to reach one under it: put it back
        stack[kept][1].instrument()
    others = " or ".join(name for name in names if name != keep)
    if chosen:
        _logger.info(
            "litellm is traced by %s only (%s); not by %s",
            keep,
            OTEL_INSTRUMENTATION_LITELLM_PREFERRED,
            others,
        )
        return
    _logger.warning(
        "Several litellm instrumentations are installed (%s); keeping %s, so each call is "
        "traced once. To keep another, set %s=%s; to trace litellm with none, "
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=litellm.",
        ", ".join(names),
        keep,
        OTEL_INSTRUMENTATION_LITELLM_PREFERRED,
        others,
    )
