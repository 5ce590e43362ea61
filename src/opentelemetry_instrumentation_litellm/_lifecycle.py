"""Ending an invocation without ever raising into the user's code."""

from __future__ import annotations

import logging
from typing import Any

_logger = logging.getLogger(__name__)


def stop(invocation: Any) -> None:
    try:
        invocation.stop()
    except Exception:
        _logger.debug("litellm instrumentation: could not end a span", exc_info=True)


def fail(invocation: Any, error: BaseException) -> None:
    try:
        invocation.fail(error)
    except Exception:
        _logger.debug("litellm instrumentation: could not record a failure", exc_info=True)
