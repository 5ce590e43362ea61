"""Which test modules run on every litellm column of the CI version matrix.

CI runs the whole suite on the pinned column (constraints.txt) and, on each other column
(constraints/litellm-X.txt, docs/development.md), the tests marked ``litellm_matrix``:
every test module that calls litellm (SDK, Router, Proxy). ``conftest.py`` gives the marker
to each test of a module in :data:`MATRIX`; ``tests/test_matrix.py`` fails for a module that
imports litellm or starts a proxy and is in neither list, so a new test file cannot silently
miss the other columns.
"""

from __future__ import annotations

from typing import Final

MARKER: Final = "litellm_matrix"

MATRIX: Final = frozenset(
    {
        "test_attribute_reference.py",
        "test_chat.py",
        "test_completion_hook.py",
        "test_content.py",
        "test_entrypoints.py",
        "test_errors.py",
        "test_fake_openai_server.py",
        "test_instrumentor.py",
        "test_metadata.py",
        "test_metrics.py",
        "test_openinference.py",
        "test_proxy.py",
        "test_proxy_guardrails.py",
        "test_proxy_load.py",
        "test_proxy_spans.py",
        "test_router.py",
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
    "test_demo.py": "the demo app's output, run on the pinned column",
}
"""Modules that call litellm but run on the pinned column only, with the reason."""
