"""Installed beside OpenLLMetry's or OpenInference's litellm instrumentation, the zero-code path
(``opentelemetry-instrument``) traces each litellm call once: with ours by default, with one
warning, or with the one ``OTEL_INSTRUMENTATION_LITELLM_PREFERRED`` names.

The real peer packages are installed (``pip install --no-deps --target``, pinned in
constraints.txt; their other dependencies are already in the test environment) into a
directory put on the app's PYTHONPATH. Which instrumentor ``opentelemetry-instrument`` loads
first follows the entry points' order, i.e. the order of the directories on the path: a copy
of our distribution's metadata in a directory before the peer's makes ours load first.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from importlib.metadata import distribution
from pathlib import Path

import pytest

from opentelemetry_instrumentation_litellm._peers import (
    DISTRIBUTION,
    OTEL_INSTRUMENTATION_LITELLM_PREFERRED,
)

ROOT = Path(__file__).resolve().parents[1]
OURS = "opentelemetry_instrumentation_litellm"
OPENLLMETRY = "opentelemetry-instrumentation-litellm"
OPENINFERENCE = "openinference-instrumentation-litellm"
PEERS = {
    # distribution: (packages to install, its spans' instrumentation scope)
    OPENLLMETRY: (
        ["opentelemetry-instrumentation-litellm", "opentelemetry-semantic-conventions-ai"],
        "opentelemetry.instrumentation.litellm",
    ),
    OPENINFERENCE: (
        [
            "openinference-instrumentation-litellm",
            "openinference-instrumentation",
            "openinference-semantic-conventions",
        ],
        "openinference.instrumentation.litellm",
    ),
}
WARNING = "Several litellm instrumentations are installed"

APP = textwrap.dedent(
    """
    import asyncio, json
    from importlib.metadata import entry_points

    import litellm
    from opentelemetry import trace
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    spans = InMemorySpanExporter()
    trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(spans))
    messages = [{"role": "user", "content": "Say hi"}]
    litellm.completion(model="openai/gpt-4o-mini", messages=messages, mock_response="hi")
    asyncio.run(
        litellm.acompletion(model="openai/gpt-4o-mini", messages=messages, mock_response="hi")
    )
    loaded = entry_points(group="opentelemetry_instrumentor", name="litellm")
    print(json.dumps({
        "load_order": [ep.dist.name for ep in loaded],
        "spans": [[s.name, s.instrumentation_scope.name] for s in spans.get_finished_spans()],
    }))
    """
)


def pip_target(directory: Path, packages: list[str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
         str(directory), "-c", str(ROOT / "constraints.txt"), *packages],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="session")
def peer_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each peer installed in its own directory, once per session."""
    paths = {}
    for name, (packages, _) in PEERS.items():
        directory = tmp_path_factory.mktemp(name)
        pip_target(directory, packages)
        paths[name] = directory
    return paths


@pytest.fixture(scope="session")
def ours_first(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding only our distribution's metadata (entry points included): ahead of
    a peer on the path, ``opentelemetry-instrument`` finds, and loads, ours first."""
    ours = distribution(DISTRIBUTION)
    directory = tmp_path_factory.mktemp("ours-first")
    info = directory / f"otel_genai_litellm-{ours.version}.dist-info"
    info.mkdir()
    info.joinpath("METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {DISTRIBUTION}\nVersion: {ours.version}\n"
    )
    info.joinpath("entry_points.txt").write_text(ours.read_text("entry_points.txt") or "")
    return directory


def run_instrumented(tmp_path: Path, path: list[Path], **env: str) -> tuple[dict, str]:
    app = tmp_path / "app.py"
    app.write_text(APP)
    child = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL_", "LITELLM_")) and k != "PYTHONPATH"
    }
    child.update(
        PYTHONPATH=os.pathsep.join(map(str, path)),
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        OTEL_TRACES_EXPORTER="none",
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        **env,
    )
    instrument = Path(sys.executable).with_name("opentelemetry-instrument")
    result = subprocess.run(
        [str(instrument), sys.executable, str(app)],
        capture_output=True,
        text=True,
        timeout=120,
        env=child,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def path_for(order: str, peer: Path, ours_first: Path) -> list[Path]:
    return [ours_first, peer] if order == "ours first" else [peer]


@pytest.mark.parametrize("order", ["ours first", "peer first"])
@pytest.mark.parametrize("peer", [OPENLLMETRY, OPENINFERENCE])
def test_by_default_ours_traces_each_call_once_with_one_warning(
    tmp_path, peer_paths, ours_first, peer, order
):
    out, stderr = run_instrumented(tmp_path, path_for(order, peer_paths[peer], ours_first))
    first = DISTRIBUTION if order == "ours first" else peer
    assert out["load_order"][0] == first, out["load_order"]
    assert set(out["load_order"]) == {DISTRIBUTION, peer}
    assert out["spans"] == [["chat gpt-4o-mini", OURS]] * 2
    assert stderr.count(WARNING) == 1, stderr
    (warning,) = [line for line in stderr.splitlines() if WARNING in line]
    assert peer in warning
    assert f"{OTEL_INSTRUMENTATION_LITELLM_PREFERRED}={peer}" in warning
    assert "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=litellm" in warning


@pytest.mark.parametrize("order", ["ours first", "peer first"])
@pytest.mark.parametrize("peer", [OPENLLMETRY, OPENINFERENCE])
def test_the_preferred_peer_traces_each_call_once(tmp_path, peer_paths, ours_first, peer, order):
    out, stderr = run_instrumented(
        tmp_path,
        path_for(order, peer_paths[peer], ours_first),
        **{OTEL_INSTRUMENTATION_LITELLM_PREFERRED: peer},
    )
    scope = PEERS[peer][1]
    assert [scope_name for _, scope_name in out["spans"]] == [scope] * 2, out["spans"]
    assert WARNING not in stderr  # the user chose


@pytest.mark.parametrize("peer", [OPENLLMETRY, OPENINFERENCE])
def test_disabling_litellm_disables_every_one(tmp_path, peer_paths, peer):
    out, stderr = run_instrumented(
        tmp_path, [peer_paths[peer]], OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="litellm"
    )
    assert out["spans"] == []
    assert WARNING not in stderr


def test_all_three_installed_ours_only(tmp_path, peer_paths, ours_first):
    path = [peer_paths[OPENINFERENCE], ours_first, peer_paths[OPENLLMETRY]]
    out, stderr = run_instrumented(tmp_path, path)
    assert out["load_order"] == [OPENINFERENCE, DISTRIBUTION, OPENLLMETRY]
    assert out["spans"] == [["chat gpt-4o-mini", OURS]] * 2
    (warning,) = [line for line in stderr.splitlines() if WARNING in line]
    assert OPENINFERENCE in warning and OPENLLMETRY in warning


def test_a_preference_that_is_not_installed_is_reported(tmp_path, peer_paths):
    out, stderr = run_instrumented(
        tmp_path,
        [peer_paths[OPENLLMETRY]],
        **{OTEL_INSTRUMENTATION_LITELLM_PREFERRED: OPENINFERENCE},
    )
    assert out["spans"] == [["chat gpt-4o-mini", OURS]] * 2
    assert f"{OPENINFERENCE} is not installed" in stderr


def test_without_peers_the_hook_is_silent(tmp_path):
    out, stderr = run_instrumented(tmp_path, [])
    assert out["spans"] == [["chat gpt-4o-mini", OURS]] * 2
    assert "litellm" not in stderr.lower(), stderr


MANUAL = textwrap.dedent(
    """
    import json
    import litellm
    from opentelemetry.instrumentation.litellm import LiteLLMInstrumentor as OpenLLMetry
    from opentelemetry.instrumentation.litellm.config import Config
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from opentelemetry_instrumentation_litellm import LiteLLMInstrumentor

    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    OpenLLMetry(use_legacy_attributes=False).instrument(tracer_provider=provider)
    LiteLLMInstrumentor().instrument(tracer_provider=provider)
    litellm.completion(model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                       mock_response="hi")
    print(json.dumps({
        "legacy": Config.use_legacy_attributes,
        "scopes": sorted(s.instrumentation_scope.name for s in spans.get_finished_spans()),
    }))
    """
)


def test_in_code_instrumentation_is_left_as_the_user_asked(tmp_path, peer_paths):
    """Outside ``opentelemetry-instrument`` nothing is second-guessed, and the peer keeps the
    options it was given."""
    app = tmp_path / "manual.py"
    app.write_text(MANUAL)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(PYTHONPATH=str(peer_paths[OPENLLMETRY]), LITELLM_LOCAL_MODEL_COST_MAP="True")
    result = subprocess.run(
        [sys.executable, str(app)], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["legacy"] is False
    assert out["scopes"] == sorted([OURS, PEERS[OPENLLMETRY][1]])
    assert WARNING not in result.stderr
