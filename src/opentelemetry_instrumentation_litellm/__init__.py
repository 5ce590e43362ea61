"""OpenTelemetry instrumentation for litellm.

Usage::

    from opentelemetry_instrumentation_litellm import LiteLLMInstrumentor

    LiteLLMInstrumentor().instrument()

Importing this package imports neither litellm nor the OpenTelemetry SDK: litellm
is imported by ``instrument()``, the SDK only by the ``exporters`` subpackage.
"""

from opentelemetry_instrumentation_litellm.instrumentor import LiteLLMInstrumentor
from opentelemetry_instrumentation_litellm.version import __version__

__all__ = ["LiteLLMInstrumentor", "__version__"]
