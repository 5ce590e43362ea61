"""The distribution users install is this project, under a name of its own."""

from __future__ import annotations

import re
from importlib.metadata import distribution
from pathlib import Path

from opentelemetry_instrumentation_litellm import LiteLLMInstrumentor

DISTRIBUTION = "otel-genai-litellm"
TAKEN = "opentelemetry-instrumentation-litellm"
"""Traceloop's OpenLLMetry instrumentation on PyPI: never the name we tell users to install."""

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_installed_distribution_has_our_name_and_entry_point():
    dist = distribution(DISTRIBUTION)
    (entry,) = [e for e in dist.entry_points if e.group == "opentelemetry_instrumentor"]
    assert entry.name == "litellm"
    assert entry.load() is LiteLLMInstrumentor


def test_readme_installs_this_distribution_and_names_the_other_one():
    text = README.read_text()
    installs = re.findall(r"pip install ([^\n]*)", text)
    assert installs, "README has no pip install line"
    for line in installs:
        assert TAKEN not in line, line
    assert any(DISTRIBUTION in line for line in installs)
    # One sentence tells users the similarly named package is a different project.
    assert re.search(rf"`{TAKEN}`[^.]*different project", text)
