"""The one exception this subpackage raises for configuration mistakes."""

from __future__ import annotations


class ExporterConfigurationError(ValueError):
    """A trace destination is misconfigured; raised at setup, never while exporting.

    The message names the environment variable or argument to fix. It never contains
    credentials (passwords, tokens, or user info embedded in a URL).
    A ``ValueError`` subclass, so ``except ValueError`` in existing code still catches it.
    """
