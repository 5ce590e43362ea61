"""Request metadata an operator chose to see on spans: ``litellm.metadata.<key>``.

litellm calls carry free-form ``metadata`` (SDK ``metadata=``, the Proxy's request body
``metadata`` / ``litellm_metadata``, and, behind the Proxy, the virtual key's and its team's
metadata). None of it is recorded unless its key is named in the allowlist
(``OTEL_INSTRUMENTATION_LITELLM_METADATA_KEYS`` or ``instrument(metadata_keys=...)``).

Even then: a key whose name says it holds a credential is refused when the list is read,
a value that looks like a credential is never recorded, and only scalar values (and lists
of them) are recorded, so nothing nested can carry a secret through.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from opentelemetry_instrumentation_litellm.attributes import LITELLM_METADATA_PREFIX

_logger = logging.getLogger(__name__)

OTEL_INSTRUMENTATION_LITELLM_METADATA_KEYS: Final = "OTEL_INSTRUMENTATION_LITELLM_METADATA_KEYS"
"""Environment variable: comma-separated metadata keys to record (default: none)."""

MAX_VALUE_LENGTH: Final = 1024
"""The most characters of one recorded metadata string."""

_HOLDERS: Final = ("metadata", "litellm_metadata")
"""Where a call carries its request metadata: litellm and the Proxy use either."""

_PROXY_SOURCES: Final = (
    "requester_metadata",
    "user_api_key_metadata",
    "user_api_key_team_metadata",
)
"""Behind the Proxy, inside the call's metadata: the client's own request metadata, then the
virtual key's metadata, then its team's. The request wins over the key, the key over the team."""

_SECRET_KEY: Final = re.compile(
    r"api[-_]?key|secret|token|passw|auth|credential|cookie|private[-_]?key|access[-_]?key",
    re.IGNORECASE,
)
_SECRET_VALUE: Final = re.compile(
    r"^\s*(?:sk[-_]|rk[-_]|pk[-_]|bearer\s|basic\s|akia|asia|ghp_|gho_|github_pat_|xox[abpr]-|"
    r"aiza|eyj[a-z0-9_-]{10,}\.|-----begin)",
    re.IGNORECASE,
)


def _looks_secret(value: str) -> bool:
    return bool(_SECRET_VALUE.match(value))


def parse_keys(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """The allowlist from ``instrument(metadata_keys=...)`` or, if None, the environment.

    Keys whose name suggests a credential are dropped with a warning.
    """
    if value is None:
        value = os.environ.get(OTEL_INSTRUMENTATION_LITELLM_METADATA_KEYS, "")
    names = value.split(",") if isinstance(value, str) else [str(name) for name in value]
    keys: list[str] = []
    for name in (name.strip() for name in names):
        if not name or name in keys:
            continue
        if _SECRET_KEY.search(name):
            _logger.warning("Metadata key %r is not recorded: its name suggests a credential", name)
            continue
        keys.append(name)
    return tuple(keys)


def _attribute_value(value: Any) -> Any:
    """An attribute value for ``value``, or None when it must not or cannot be recorded."""
    if isinstance(value, str):
        if not value or _looks_secret(value):
            return None
        return value[:MAX_VALUE_LENGTH]
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (list, tuple)) and value:
        items = [_attribute_value(item) for item in value]
        kinds = {type(item) for item in items}
        if None in items or len(kinds) != 1:
            return None  # mixed, nested or secret-looking items: not recorded at all
        return items
    return None


def _sources(call: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found: list[Mapping[str, Any]] = []
    holders = [call.get(holder) for holder in _HOLDERS]
    holders = [holder for holder in holders if isinstance(holder, Mapping) and holder]
    found.extend(holders)
    for name in _PROXY_SOURCES:
        for holder in holders:
            nested = holder.get(name)
            if isinstance(nested, Mapping) and nested:
                found.append(nested)
    return found


def record_metadata(
    attributes: dict[str, Any], call: Mapping[str, Any], keys: tuple[str, ...]
) -> None:
    """Add ``litellm.metadata.<key>`` for each allowed key the call's metadata has."""
    sources = _sources(call)
    if not sources:
        return
    for key in keys:
        for source in sources:
            if key in source:
                value = _attribute_value(source[key])
                if value is not None:
                    attributes[LITELLM_METADATA_PREFIX + key] = value
                break
