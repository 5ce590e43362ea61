"""Ending an invocation without ever raising into the user's code."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry_instrumentation_litellm._call_extras import CallExtras

_logger = logging.getLogger(__name__)


def stop(invocation: Any, extras: CallExtras | None = None) -> None:
    if extras is not None:
        extras.before_end(invocation)
    try:
        invocation.stop()
    except Exception:
        _logger.debug("litellm instrumentation: could not end a span", exc_info=True)
    if extras is not None:
        extras.after_end(invocation)


def fail(invocation: Any, error: BaseException, extras: CallExtras | None = None) -> None:
    if extras is not None:
        extras.before_end(invocation)
    try:
        invocation.fail(error)
    except Exception:
        _logger.debug("litellm instrumentation: could not record a failure", exc_info=True)
    if extras is not None:
        extras.after_end(invocation)
