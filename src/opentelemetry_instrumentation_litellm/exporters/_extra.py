"""The exporters need the ``exporters`` extra; without it, say so in one line.

Imported first by the ``exporters`` package, so that ``OTEL_TRACES_EXPORTER=mlflow`` or
``import opentelemetry_instrumentation_litellm.exporters`` on a plain install fails with the
``pip install`` line instead of ``No module named 'opentelemetry.sdk'``. It only checks.
"""

from __future__ import annotations

from importlib.util import find_spec

EXTRA = "otel-genai-litellm[exporters]"
_NEEDED = ("opentelemetry.sdk", "opentelemetry.exporter.otlp.proto.http")
"""Modules of the extra's distributions (opentelemetry-sdk, -exporter-otlp-proto-http)."""


def require_exporters_extra() -> None:
    """Raise ``ModuleNotFoundError`` naming the extra if one of its modules is missing."""
    for name in _NEEDED:
        try:
            missing = find_spec(name) is None
        except ModuleNotFoundError:  # a parent package is missing
            missing = True
        if missing:
            raise ModuleNotFoundError(
                f"opentelemetry_instrumentation_litellm.exporters needs {name}, which is not "
                f"installed: pip install '{EXTRA}'",
                name=name,
            )


require_exporters_extra()
