"""pytest plugin: real LiteLLM Proxy processes, traced by this package, exporting to MLflow.

``start_proxy`` writes a config.yaml into a directory, starts ``litellm --config`` on a free
127.0.0.1 port (optionally under ``opentelemetry-instrument --``) in its own process group,
and waits for ``/health/liveliness``. The models answer with ``mock_response`` or from the
session's fake OpenAI server; ``general_settings.master_key`` is set and no database is
used. ``ProxyServer.stop()`` sends SIGTERM to the group and waits; fixtures always stop
what they started, also when startup or a test fails.

``custom_auth.py`` (``general_settings.custom_auth``) stands in for virtual keys, which
need a database: it accepts the master key, and ``VIRTUAL_KEY`` as a key with an alias,
a team, an organization and an owner, the identity the proxy records for a request.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlflow_fixtures import MLflowServer, answers, child_env, free_port, unique

BIN = Path(sys.executable).parent
STARTUP_TIMEOUT = 120.0
STARTED = "Application startup complete."
"""What uvicorn logs when a worker is ready to serve."""

MASTER_KEY = "sk-master-TOPSECRET-4f1e9a"
VIRTUAL_KEY = "sk-virtual-TOPSECRET-77c2d0"
PROVIDER_KEY = "sk-provider-TOPSECRET-0b3e51"
SECRETS = (
    MASTER_KEY,
    VIRTUAL_KEY,
    PROVIDER_KEY,
    *(hashlib.sha256(key.encode()).hexdigest() for key in (MASTER_KEY, VIRTUAL_KEY)),
)
"""What must appear in no span: the keys, and the hashes the proxy keeps of them."""

VIRTUAL_KEY_IDENTITY = {
    "key_alias": "ci-pipeline",
    "team_id": "team-7",
    "team_alias": "search-team",
    "org_id": "org-1",
    "organization_alias": "acme",
    "user_id": "svc-ci",
    "metadata": {"cost_center": "cc-42", "project": "from-key"},
    "team_metadata": {"department": "search", "cost_center": "cc-team"},
}
"""The ``UserAPIKeyAuth`` fields custom_auth.py gives ``VIRTUAL_KEY``."""

METADATA_KEYS = "project,cost_center,department,api_key"
"""``OTEL_INSTRUMENTATION_LITELLM_METADATA_KEYS`` of ``config_proxy`` (``api_key`` is refused)."""

VIRTUAL_KEY_ATTRIBUTES = {
    "litellm.proxy.key_alias": "ci-pipeline",
    "litellm.proxy.team_id": "team-7",
    "litellm.proxy.team_alias": "search-team",
    "litellm.proxy.org_id": "org-1",
    "litellm.proxy.org_alias": "acme",
    "litellm.proxy.user_id": "svc-ci",
}
"""What a request made with ``VIRTUAL_KEY`` must record (see :func:`passed_on`)."""


def passed_on(name: str) -> bool:
    """Whether the installed litellm's proxy puts the key's ``name`` (``user_api_key_...``)
    into a request's metadata: 1.74 has no ``user_api_key_org_alias`` and no
    ``user_api_key_team_metadata`` there, so nothing can record them."""
    import inspect

    from litellm.proxy import litellm_pre_call_utils

    return name in inspect.getsource(litellm_pre_call_utils)


CALLBACK = "opentelemetry_instrumentation_litellm.proxy.otel"
CALLBACK_FILE = "otel_litellm.py"
"""litellm 1.74.x loads a ``callbacks`` entry only as a file beside config.yaml (1.75 added
the import of an installed module): there, this one-line file (docs/troubleshooting.md)
stands in for :data:`CALLBACK` as ``otel_litellm.otel``."""


def _callbacks_only_beside_the_config() -> bool:
    """Whether the installed litellm loads config callbacks only from files (1.74.x)."""
    import inspect

    from litellm.proxy.types_utils.utils import get_instance_fn

    return "os.path.exists" not in inspect.getsource(get_instance_fn)


def _with_callback_file(directory: Path, config: dict[str, Any]) -> dict[str, Any]:
    callbacks = config.get("litellm_settings", {}).get("callbacks") or []
    if CALLBACK not in callbacks or not _callbacks_only_beside_the_config():
        return config
    (directory / CALLBACK_FILE).write_text(
        "from opentelemetry_instrumentation_litellm.proxy import otel  # noqa: F401\n"
    )
    shim = f"{Path(CALLBACK_FILE).stem}.otel"
    settings = {
        **config["litellm_settings"],
        "callbacks": [shim if c == CALLBACK else c for c in callbacks],
    }
    return {**config, "litellm_settings": settings}


CUSTOM_AUTH = textwrap.dedent(
    f"""
    from litellm.proxy._types import LitellmUserRoles, UserAPIKeyAuth

    async def user_api_key_auth(request, api_key: str) -> UserAPIKeyAuth:
        if api_key == {MASTER_KEY!r}:
            return UserAPIKeyAuth(api_key=api_key, user_role=LitellmUserRoles.PROXY_ADMIN)
        if api_key == {VIRTUAL_KEY!r}:
            return UserAPIKeyAuth(api_key=api_key, **{VIRTUAL_KEY_IDENTITY!r})
        raise Exception("unknown key")
    """
)


def proxy_config(fake_llm_url: str, *, callback: bool, custom_auth: bool) -> dict[str, Any]:
    """Three model groups: a mock chat model, a slow streaming one, and embeddings."""
    provider = {"api_key": PROVIDER_KEY}
    config: dict[str, Any] = {
        "model_list": [
            {
                "model_name": "gpt-4o-mini",
                "litellm_params": {
                    "model": "openai/gpt-4o-mini",
                    "mock_response": "Hello from the proxy",
                    **provider,
                },
            },
            {
                "model_name": "slow-chat",
                "litellm_params": {
                    "model": "openai/slow-model",
                    "api_base": fake_llm_url,
                    **provider,
                },
            },
            {
                "model_name": "embedder",
                "litellm_params": {
                    "model": "openai/text-embedding-3-small",
                    "api_base": fake_llm_url,
                    **provider,
                },
            },
        ],
        "litellm_settings": {"callbacks": [CALLBACK]} if callback else {},
        "general_settings": {"master_key": MASTER_KEY},
    }
    if custom_auth:
        config["general_settings"]["custom_auth"] = "custom_auth.user_api_key_auth"
    return config


def proxy_env(**extra: str) -> dict[str, str]:
    """A child's environment (``child_env``) for a proxy, plus ``extra``."""
    return child_env(
        # process.pid on every span's resource (an MLflow trace tag): which worker served it
        OTEL_EXPERIMENTAL_RESOURCE_DETECTORS="otel,process",
        # uvicorn kills a worker that does not answer its health check within 5 s of being
        # spawned, and a spawned worker imports litellm first: on a busy 2-core CI machine
        # that took longer, and workers were restarted in a loop.
        TIMEOUT_WORKER_HEALTHCHECK="60",
        **extra,
    )


def create_experiment(mlflow_server: MLflowServer, prefix: str) -> tuple[str, str]:
    """A fresh MLflow experiment: (name, id)."""
    import mlflow

    name = unique(prefix)
    mlflow.set_tracking_uri(mlflow_server.url)
    return name, mlflow.create_experiment(name)


@dataclass
class ProxyServer:
    """A running ``litellm --config`` process group on 127.0.0.1:``port``."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    experiment_id: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def healthy(self) -> bool:
        return answers(f"{self.url}/health/liveliness")

    def log(self, tail: int | None = 6000) -> str:
        """The proxy's output: its last ``tail`` characters, or all of it."""
        text = self.log_path.read_text(errors="replace")
        return text[-tail:] if tail else text

    def post(self, path: str, body: dict[str, Any], key: str = MASTER_KEY, **headers: str) -> Any:
        """POST JSON with a bearer key; return the decoded JSON answer."""
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
            | headers,
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.load(answer)

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM the process group, as an orchestrator would; SIGKILL what is left after
        ``timeout`` (a parent that lingers, or workers a dead parent left behind)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(5)
        return self.process.returncode


def start_proxy(
    directory: Path,
    config: dict[str, Any],
    env: dict[str, str],
    *,
    wrapper: bool = False,
    workers: int = 1,
    launcher: Sequence[str] = (),
    timeout: float = STARTUP_TIMEOUT,
) -> ProxyServer:
    """Write ``config`` (and custom_auth.py) to ``directory``; start the proxy (behind
    ``launcher``, e.g. valgrind, if given); wait ``timeout`` seconds at most for it."""
    directory.mkdir(parents=True, exist_ok=True)
    config_path = directory / "config.yaml"
    config_path.write_text(yaml.safe_dump(_with_callback_file(directory, config)))
    (directory / "custom_auth.py").write_text(CUSTOM_AUTH)
    port = free_port()
    command = [str(BIN / "litellm"), "--config", str(config_path)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--num_workers", str(workers)]
    if wrapper:  # without "--" the wrapper's own parser would take --config
        command = [str(BIN / "opentelemetry-instrument"), "--", *command]
    command = [*launcher, *command]
    log_path = directory / "proxy.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=directory,
            start_new_session=True,
        )
    proxy = ProxyServer(port, process, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        # /health answers once one worker is up; every worker logs its startup
        if proxy.healthy() and proxy.log(tail=None).count(STARTED) >= workers:
            return proxy
        time.sleep(0.25)
    proxy.stop()
    raise RuntimeError(
        f"LiteLLM proxy {command} was not healthy within {timeout:.0f}s "
        f"(exit code {process.returncode}). Its output:\n{proxy.log()}"
    )


@pytest.fixture(scope="module")
def config_proxy(
    tmp_path_factory: pytest.TempPathFactory, mlflow_server: MLflowServer, fake_llm: Any
) -> Iterator[ProxyServer]:
    """Launched by config.yaml alone (``litellm_settings.callbacks``), two workers, exporting
    with ``OTEL_TRACES_EXPORTER=mlflow`` into a fresh experiment named by
    ``MLFLOW_EXPERIMENT_NAME`` (which the workers create, racing each other)."""
    import mlflow

    name = unique("proxy-config")
    env = proxy_env(
        OTEL_TRACES_EXPORTER="mlflow",
        MLFLOW_TRACKING_URI=mlflow_server.url,
        MLFLOW_EXPERIMENT_NAME=name,
        OTEL_BSP_SCHEDULE_DELAY="100",
        OTEL_INSTRUMENTATION_LITELLM_METADATA_KEYS=METADATA_KEYS,
        # OTEL_PYTHON_FASTAPI_EXCLUDED_URLS unset: the probes' default exclusion applies
    )
    config = proxy_config(fake_llm.base_url, callback=True, custom_auth=True)
    proxy = start_proxy(tmp_path_factory.mktemp("proxy-config"), config, env, workers=2)
    try:
        mlflow.set_tracking_uri(mlflow_server.url)
        experiment = mlflow.get_experiment_by_name(name)
        assert experiment is not None, f"no experiment {name}:\n{proxy.log()}"
        proxy.experiment_id = experiment.experiment_id
        yield proxy
    finally:
        proxy.stop()
