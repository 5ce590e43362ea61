"""What a guardrail saw: the strings of a request's message fields or of a response, in
order, so that a guardrail's outcome can tell ``modified`` from ``passed`` (the texts are
compared, never recorded)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

_REQUEST_TEXT_KEYS: Final = ("messages", "input", "prompt", "system", "instructions")
"""Request body fields that hold what a guardrail reads and rewrites, on every route."""

_MAX_DEPTH: Final = 8

_SCALARS: Final = (int, float, bool, bytes, type(None))


def _collect(value: Any, out: list[str], depth: int) -> None:
    """Append the strings in ``value`` (dicts, lists, litellm's pydantic objects) to ``out``."""
    if isinstance(value, str):
        out.append(value)
        return
    if depth >= _MAX_DEPTH or isinstance(value, _SCALARS):
        return
    if isinstance(value, (list, tuple)):
        if value and isinstance(value[0], (int, float)):
            return  # vectors and token ids: no text, and long
        items: Any = value
    elif isinstance(value, Mapping):
        items = value.values()
    else:
        fields = getattr(value, "__dict__", None)  # pydantic responses
        if fields is None or isinstance(value, type):
            return
        items = fields.values()
    for item in items:
        if type(item) is str:
            out.append(item)
        elif not isinstance(item, _SCALARS):
            _collect(item, out, depth + 1)


def request_texts(data: Any) -> tuple[str, ...]:
    """The strings of a request body's message fields, in order."""
    out: list[str] = []
    if isinstance(data, Mapping):
        for key in _REQUEST_TEXT_KEYS:
            _collect(data.get(key), out, 0)
    return tuple(out)


def response_texts(response: Any) -> tuple[str, ...]:
    """The strings of a response object (litellm's pydantic types or a dict), in order."""
    out: list[str] = []
    _collect(response, out, 0)
    return tuple(out)


# -- spans ----------------------------------------------------------------------------
