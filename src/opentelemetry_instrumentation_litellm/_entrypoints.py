"""The litellm functions this instrumentation wraps, and what each one is."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EntryPoint:
    module: str
    """Module whose attribute is wrapped (``litellm``)."""
    name: str
    """Attribute name, e.g. ``completion``."""
    operation: str
    """``gen_ai.operation.name`` of the span."""
    is_async: bool


# Public functions are wrapped on the ``litellm`` package, which is what
# ``litellm.completion(...)`` resolves at call time. litellm's own internal
# calls (``acompletion`` running ``completion`` in an executor) go through
# ``litellm.main`` and are not wrapped again, so each user call is one span.
ENTRY_POINTS: tuple[EntryPoint, ...] = (
    EntryPoint("litellm", "completion", "chat", is_async=False),
    EntryPoint("litellm", "acompletion", "chat", is_async=True),
)
