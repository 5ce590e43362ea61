"""Which test modules run on every litellm column of the CI version matrix.

CI runs the whole suite on the pinned column (constraints.txt) and, on each other column
(constraints/litellm-X.txt, docs/development.md), the tests marked ``litellm_matrix``:
every test module that calls litellm (SDK, Router, Proxy). ``conftest.py`` gives the marker
to each test of a module in :data:`MATRIX`; ``tests/test_matrix.py`` fails for a module that
imports litellm or starts a proxy and is in neither list, so a new test file cannot silently
miss the other columns.
"""

from __future__ import annotations

import importlib.metadata
from typing import Any, Final

MARKER: Final = "litellm_matrix"

MATRIX: Final = frozenset(
    {
        "test_attribute_reference.py",
        "test_chat.py",
        "test_completion_hook.py",
        "test_content.py",
        "test_coverage_discovery.py",
        "test_entrypoints.py",
        "test_errors.py",
        "test_instrumentor.py",
        "test_metadata.py",
        "test_metrics.py",
        "test_more_calls.py",
        "test_openinference.py",
        "test_proxy.py",
        "test_proxy_guardrails.py",
        "test_proxy_load.py",
        "test_proxy_route_names.py",
        "test_proxy_spans.py",
        "test_router.py",
        "test_router_coverage.py",
        "test_router_methods.py",
        "test_secrets.py",
        "test_seams_on_path.py",
        "test_streams.py",
        "test_upstream.py",
        "reliability/test_bad_input.py",
        "reliability/test_concurrency.py",
        "reliability/test_credentials.py",
        "reliability/test_fault_injection.py",
        "reliability/test_memory.py",
        "reliability/test_proxy_fault_injection.py",
        "reliability/test_regressions.py",
    }
)
"""Modules whose every test runs on every column."""

PINNED_ONLY: Final = {
    "test_artifacts.py": "packaging: builds and installs the wheel pinned by constraints.txt",
    "test_docs.py": "the docs' blocks run in a throwaway venv pinned by constraints.txt",
    "test_peers.py": "the peer instrumentations are pinned in constraints.txt with its litellm",
    "test_exporters.py": "the exporter layer; its litellm calls only produce spans to export",
    "test_mlflow.py": "MLflow as a backend of the spans, not litellm",
    "test_mlflow_previews.py": "MLflow's trace list, not litellm",
    "test_phoenix.py": "Arize Phoenix from its own venv (bash scripts/dev.sh test-phoenix)",
    "test_overhead_instructions.py": "instruction counts calibrated on the pinned column",
    "test_fake_openai_server.py": "the fake server's self-test; litellm is only its client",
    "test_demo.py": "the demo app's output, run on the pinned column",
    "test_agents.py": "the A2A agent (a2a-sdk) is pinned in constraints.txt only; litellm 1.74 "
    "has no A2A client",
    "test_anthropic_messages.py": "calibrated on litellm 1.102.4 (its Claude model prices and "
    "stream shapes); litellm 1.74 lacks that model's prices and the native sync path",
    "test_proxy_anthropic.py": "as test_anthropic_messages.py, through a real proxy",
    "test_proxy_mcp.py": "the MCP gateway as litellm 1.102.4 lays it out (its MCP server moved "
    "in 1.109); not yet checked on the other columns",
    "test_proxy_mcp_spans.py": "as test_proxy_mcp.py, in process",
}
"""Modules that call litellm but run on the pinned column only, with the reason."""


def litellm_version() -> tuple[int, ...]:
    """The installed litellm release, for the expectations that differ by column."""
    return tuple(int(part) for part in importlib.metadata.version("litellm").split(".")[:3])


def litellm_stream_cost(chunks: list[Any]) -> float | None:
    """The cost litellm put on a stream's usage chunk, if any (litellm 1.74 puts none: a
    stream's span then has no cost, and none is invented)."""
    costs = [getattr(getattr(c, "usage", None), "cost", None) for c in chunks]
    return next((c for c in costs if isinstance(c, (int, float))), None)


PROVIDER_RESPONSE_MODEL_SINCE: Final = (1, 100)
"""The first litellm release probed that keeps a stream's provider model
(``CustomStreamWrapper._provider_response_model``; not in 1.98)."""

GUARDRAIL_SEAMS_SINCE: Final = (1, 102)
"""The first litellm release with every proxy guardrail seam ``proxy/_seams.py`` wraps (of the
releases probed: the pre-call guardrail hook, stream layer and pipelines are in 1.85, the
during/post-call one in 1.95, the unified guardrail's streaming block handlers in 1.102; none
in 1.74, whose proxy warns once per missing seam and traces the rest)."""


def _no_guardrail_seams() -> str | None:
    """Why this column cannot show guardrail spans, or None."""
    if litellm_version() >= GUARDRAIL_SEAMS_SINCE:
        return None
    version = ".".join(map(str, GUARDRAIL_SEAMS_SINCE))
    return f"guardrail spans need litellm >= {version} (its proxy guardrail seams)"


def needs_guardrail_seams() -> Any:
    """Skip a test on a column older than :data:`GUARDRAIL_SEAMS_SINCE`."""
    import pytest

    reason = _no_guardrail_seams()
    return pytest.mark.skipif(reason is not None, reason=reason or "")


def skip_module_without_guardrail_seams() -> None:
    """Skip the calling test module (before it imports them) on such a column."""
    import pytest

    reason = _no_guardrail_seams()
    if reason is not None:
        pytest.skip(reason, allow_module_level=True)
