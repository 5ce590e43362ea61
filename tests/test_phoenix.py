"""Spans into a real Arize Phoenix server, read back through Phoenix's REST API.

Phoenix cannot share this venv (its releases after 20.3.0 need ``openai>=3``, litellm
1.102.4 needs ``openai<3``), so it runs from its own venv as a separate process:
``bash scripts/dev.sh test-phoenix`` creates ``.venv-phoenix``, installs Phoenix there and
runs this file with ``PHOENIX_EXECUTABLE`` pointing at its ``phoenix``. Without one the
tests skip, saying so. The server listens on free ports of 127.0.0.1, keeps its data in
a temporary directory and is stopped by its process group, also when a test fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import litellm
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from mlflow_fixtures import child_env, unique
from processes import answers, free_port, stop_process_group

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 240.0
QUESTION = "Say hello in French."
ANSWER = "Bonjour !"


def phoenix_executable() -> str | None:
    configured = os.environ.get("PHOENIX_EXECUTABLE", "").strip()
    if configured:
        return configured
    local = ROOT / ".venv-phoenix" / "bin" / "phoenix"
    return str(local) if local.exists() else shutil.which("phoenix")


@pytest.fixture(scope="session")
def phoenix_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    executable = phoenix_executable()
    if executable is None:
        pytest.skip(
            "Phoenix is not installed: `bash scripts/dev.sh test-phoenix` installs it into "
            ".venv-phoenix and runs these tests (or set PHOENIX_EXECUTABLE to a `phoenix`)"
        )
    directory = tmp_path_factory.mktemp("phoenix")
    port = free_port()
    env = child_env(
        PHOENIX_PORT=str(port),
        PHOENIX_GRPC_PORT=str(free_port()),
        PHOENIX_WORKING_DIR=str(directory / "data"),
        PHOENIX_HOST="127.0.0.1",
    )
    log_path = directory / "phoenix.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [executable, "serve"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=directory,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        began = time.monotonic()
        while not answers(f"{url}/healthz"):
            if process.poll() is not None or time.monotonic() - began > STARTUP_TIMEOUT:
                output = log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"phoenix serve did not come up on {url}:\n{output}")
            time.sleep(0.5)
        yield url
    finally:
        stop_process_group(process)


def spans_of(url: str, project: str, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
    """The project's spans from Phoenix's REST API, once ``count`` have arrived."""
    import json

    deadline = time.monotonic() + timeout
    spans: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/v1/projects/{project}/spans", timeout=5) as r:
                spans = json.load(r)["data"]
        except OSError:  # the project exists once its first span is stored
            spans = []
        if len(spans) >= count:
            return spans
        time.sleep(0.3)
    raise AssertionError(f"Phoenix has {len(spans)} span(s) in {project}, expected {count}")


@pytest.fixture
def export_to_phoenix(phoenix_url: str, instrument: Any) -> Iterator[Any]:
    providers: list[TracerProvider] = []

    def setup(**options: Any) -> tuple[TracerProvider, str]:
        project = unique("litellm")
        provider = TracerProvider(resource=Resource.create({"openinference.project.name": project}))
        exporter = OTLPSpanExporter(endpoint=f"{phoenix_url}/v1/traces")
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        providers.append(provider)
        instrument(tracer_provider=provider, **options)
        return provider, project

    yield setup
    for provider in providers:
        provider.shutdown()


def test_phoenix_shows_kind_input_output_tokens_and_model(phoenix_url, export_to_phoenix):
    provider, project = export_to_phoenix(openinference=True, capture_message_content="SPAN_ONLY")
    litellm.completion(
        model="gpt-4o-mini",
        messages=[
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": QUESTION},
        ],
        mock_response=ANSWER,
    )
    stream = litellm.completion(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": QUESTION}],
        mock_response=ANSWER,
        stream=True,
        stream_options={"include_usage": True},
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == ANSWER
    litellm.embedding("openai/text-embedding-3-small", ["a"], mock_response=[0.1, 0.2, 0.3])
    provider.force_flush()

    spans = spans_of(phoenix_url, project, 3)
    chats = [s for s in spans if s["name"] == "chat gpt-4o-mini"]
    assert len(chats) == 2
    for span in chats:
        attributes = span["attributes"]
        assert span["span_kind"] == "LLM"
        assert attributes["input.value"] == QUESTION
        assert attributes["input.mime_type"] == "text/plain"
        assert attributes["output.value"] == ANSWER
        assert attributes["output.mime_type"] == "text/plain"
        assert attributes["llm.model_name"] == "gpt-4o-mini"
        assert attributes["llm.provider"] == "openai"
        assert attributes["llm.token_count.total"] == (
            attributes["llm.token_count.prompt"] + attributes["llm.token_count.completion"]
        )
        assert attributes["llm.token_count.prompt"] > 0
    (embedding,) = [s for s in spans if s["name"].startswith("embeddings ")]
    assert embedding["span_kind"] == "EMBEDDING"
    assert embedding["attributes"]["embedding.model_name"] == "text-embedding-3-small"


def test_phoenix_without_content_gets_no_input_or_output(phoenix_url, export_to_phoenix):
    provider, project = export_to_phoenix(openinference=True, capture_message_content="NO_CONTENT")
    litellm.completion(
        model="gpt-4o-mini", messages=[{"role": "user", "content": QUESTION}], mock_response=ANSWER
    )
    provider.force_flush()
    (span,) = spans_of(phoenix_url, project, 1)
    assert span["span_kind"] == "LLM"
    assert span["attributes"]["llm.token_count.total"] == 30
    assert "input.value" not in span["attributes"]
    # Phoenix fills a missing output.value itself, with the response's id and model as JSON
    assert span["attributes"].get("output.mime_type") != "text/plain"
    assert QUESTION not in str(span) and ANSWER not in str(span)
