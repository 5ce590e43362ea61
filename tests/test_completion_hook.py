"""OTEL_INSTRUMENTATION_GENAI_COMPLETION_HOOK names a completion hook, loaded as util-genai does.

The hook is a real installed entry point (group ``opentelemetry_genai_completion_hook``): a
distribution's metadata written into a directory put on ``sys.path``.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import litellm
import pytest

HOOK_MODULE = textwrap.dedent(
    """
    CALLS = []


    class RecordingHook:
        def on_completion(
            self, *, inputs, outputs, system_instruction, tool_definitions=None, span=None,
            log_record=None,
        ):
            CALLS.append({"inputs": inputs, "outputs": outputs, "span": span})


    def make_hook():
        return RecordingHook()
    """
)


@pytest.fixture
def installed_hook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Install a distribution whose entry point ``recording`` makes a hook; return its module."""
    (tmp_path / "docs_recording_hook.py").write_text(HOOK_MODULE)
    dist_info = tmp_path / "docs_recording_hook-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: docs-recording-hook\nVersion: 1.0\n"
    )
    (dist_info / "entry_points.txt").write_text(
        "[opentelemetry_genai_completion_hook]\nrecording = docs_recording_hook:make_hook\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import docs_recording_hook

    yield docs_recording_hook
    sys.modules.pop("docs_recording_hook", None)


def test_hook_named_by_the_environment_is_called(installed_hook, instrument, telemetry, llm):
    instrument()  # no hook named: none loaded
    litellm.completion(
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": "Hi"}],
        api_base=llm.base_url,
        api_key="sk-fake",
    )
    assert installed_hook.CALLS == []

    with pytest.MonkeyPatch.context() as env:
        env.setenv("OTEL_INSTRUMENTATION_GENAI_COMPLETION_HOOK", "recording")
        instrument()
    telemetry.spans.clear()
    litellm.completion(
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": "Hi"}],
        api_base=llm.base_url,
        api_key="sk-fake",
    )
    span = telemetry.only("chat")
    (call,) = installed_hook.CALLS
    assert call["span"].get_span_context() == span.get_span_context()
    assert [part.content for part in call["inputs"][0].parts] == ["Hi"]
    assert call["outputs"][0].parts[0].content == "Hello from fake server"
    # The hook sees the content; the span does not: capture stays NO_CONTENT.
    assert "gen_ai.input.messages" not in span.attributes


def test_explicit_hook_wins_over_the_environment(installed_hook, instrument, telemetry, llm):
    seen = []

    class Explicit:
        def on_completion(self, **kwargs):
            seen.append(kwargs["outputs"])

    with pytest.MonkeyPatch.context() as env:
        env.setenv("OTEL_INSTRUMENTATION_GENAI_COMPLETION_HOOK", "recording")
        instrument(completion_hook=Explicit())
    litellm.completion(
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": "Hi"}],
        api_base=llm.base_url,
        api_key="sk-fake",
    )
    assert len(seen) == 1
    assert installed_hook.CALLS == []
