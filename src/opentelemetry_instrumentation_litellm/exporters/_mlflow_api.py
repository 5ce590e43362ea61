"""Where and as whom to send traces to MLflow: settings, credentials, experiment lookup.

Plain HTTP against MLflow's REST API (``requests``, which the OTLP/HTTP exporter
already depends on), never the ``mlflow`` package: the server is MLflow's, the client
side must stay light. Every check runs once, when the exporter is built, so a typo
fails there with a message naming the variable, instead of as silently missing traces.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import requests

from opentelemetry_instrumentation_litellm.exporters._errors import ExporterConfigurationError

MLFLOW_TRACKING_URI = "MLFLOW_TRACKING_URI"
MLFLOW_EXPERIMENT_ID = "MLFLOW_EXPERIMENT_ID"
MLFLOW_EXPERIMENT_NAME = "MLFLOW_EXPERIMENT_NAME"
MLFLOW_TRACKING_USERNAME = "MLFLOW_TRACKING_USERNAME"
MLFLOW_TRACKING_PASSWORD = "MLFLOW_TRACKING_PASSWORD"
MLFLOW_TRACKING_TOKEN = "MLFLOW_TRACKING_TOKEN"

DEFAULT_EXPERIMENT_ID = "0"
"""MLflow's "Default" experiment, which always exists."""


@dataclass(frozen=True)
class Setting:
    """A value and where it came from (an argument or an environment variable)."""

    value: str
    source: str

    def label(self) -> str:
        if self.source == "default":
            return f"the Default experiment (id {self.value})"
        return f"{self.source}{'' if self.source.endswith('=') else '='}{self.value}"


def setting(argument: Any, argument_name: str, env_var: str) -> Setting | None:
    """The argument if given, else the environment variable, else None; blanks are unset."""
    if argument is not None and str(argument).strip():
        return Setting(str(argument).strip(), f"{argument_name}=")
    value = os.environ.get(env_var, "").strip()
    return Setting(value, env_var) if value else None


@dataclass(frozen=True)
class TrackingServer:
    """An MLflow tracking server's base URL (no credentials in it) and the auth header."""

    base_url: str
    source: str
    authorization: str | None
    timeout: float

    def describe(self) -> str:
        return Setting(self.base_url, self.source).label()


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def tracking_server(
    tracking_uri: str | None,
    *,
    username: str | None,
    password: str | None,
    token: str | None,
    timeout: float,
) -> TrackingServer:
    """Validate the tracking URI and pick credentials the way MLflow's client does.

    Basic auth (username and password) wins over a bearer token, as in MLflow. User info
    in the URL (``http://user:pass@host``) becomes Basic auth, so the URL that appears
    in messages and goes to the OTLP exporter never carries it.
    """
    uri = setting(tracking_uri, "tracking_uri", MLFLOW_TRACKING_URI)
    if uri is None:
        raise ExporterConfigurationError(
            f"{MLFLOW_TRACKING_URI} is not set: set it (or pass tracking_uri=) to the URL of "
            "an MLflow tracking server, e.g. http://127.0.0.1:5000"
        )
    parts = urlsplit(uri.value)
    try:
        port, problem = parts.port, None
    except ValueError:
        port, problem = None, "a URL whose port is not a number"
    if parts.scheme not in ("http", "https"):
        problem = f"a {parts.scheme}: URI" if parts.scheme else "not a URL"
    elif not parts.hostname:
        problem = "a URL without a host"
    if problem or not parts.hostname:
        raise ExporterConfigurationError(
            f"{uri.source.rstrip('=')} must be the http:// or https:// URL of an MLflow "
            f"tracking server (`mlflow server`), but it is {problem}; traces are sent over "
            "OTLP/HTTP to the server's /v1/traces, which file and database stores cannot receive."
        )
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if port is not None:
        netloc = f"{netloc}:{port}"
    base_url = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))

    user = setting(username, "username", MLFLOW_TRACKING_USERNAME)
    secret = setting(password, "password", MLFLOW_TRACKING_PASSWORD)
    bearer = setting(token, "token", MLFLOW_TRACKING_TOKEN)
    authorization = None
    if user and secret:
        authorization = _basic(user.value, secret.value)
    elif bearer:
        authorization = f"Bearer {bearer.value}"
    elif parts.username is not None and parts.password is not None:
        authorization = _basic(unquote(parts.username), unquote(parts.password))
    if not timeout > 0:
        raise ExporterConfigurationError(
            f"timeout must be a positive number of seconds, got {timeout!r}"
        )
    return TrackingServer(base_url, uri.source, authorization, float(timeout))


class RestClient:
    """The few MLflow REST calls the exporter needs, with errors worded for the user.

    ``session`` adds the credentials (see ``mlflow._MLflowSession``).
    """

    def __init__(self, server: TrackingServer, session: requests.Session) -> None:
        self._server = server
        self._session = session

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Mapping[str, Any] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """``(status, decoded JSON body)``; a transport failure is a configuration error."""
        url = f"{self._server.base_url}/api/2.0/mlflow/{path}"
        try:
            response = self._session.request(
                method,
                url,
                params=params,
                json=json,
                timeout=self._server.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as error:
            raise ExporterConfigurationError(
                f"Cannot reach the MLflow tracking server at {self._server.describe()} "
                f"({type(error).__name__}). Is `mlflow server` running there?"
            ) from None
        if response.status_code in (401, 403):
            raise ExporterConfigurationError(
                f"The MLflow tracking server at {self._server.describe()} refused the request "
                f"(HTTP {response.status_code}); check {MLFLOW_TRACKING_USERNAME}/"
                f"{MLFLOW_TRACKING_PASSWORD} or {MLFLOW_TRACKING_TOKEN}."
            )
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if response.status_code >= 400 and body.get("error_code") is None:
            raise ExporterConfigurationError(
                f"{self._server.describe()} does not look like an MLflow tracking server: "
                f"{method} /api/2.0/mlflow/{path} answered HTTP {response.status_code}."
            )
        return response.status_code, body


def _checked_experiment(body: dict[str, Any], what: str) -> str:
    experiment = body.get("experiment") or {}
    if experiment.get("lifecycle_stage") == "deleted":
        raise ExporterConfigurationError(
            f"{what} is a deleted MLflow experiment; restore it in MLflow or choose another."
        )
    experiment_id = experiment.get("experiment_id")
    if not isinstance(experiment_id, str) or not experiment_id:
        raise ExporterConfigurationError(f"MLflow returned no experiment id for {what}.")
    return experiment_id


def _experiment_by_id(client: RestClient, experiment: Setting, where: str) -> str:
    status, body = client.call("GET", "experiments/get", params={"experiment_id": experiment.value})
    if status == 200:
        return _checked_experiment(body, experiment.label())
    if body.get("error_code") == "RESOURCE_DOES_NOT_EXIST":
        raise ExporterConfigurationError(
            f"{experiment.label()}: there is no such experiment on the MLflow tracking server "
            f"at {where}. Use an existing experiment id, or set {MLFLOW_EXPERIMENT_NAME} to have "
            "the experiment created."
        )
    raise ExporterConfigurationError(
        f"{experiment.label()}: MLflow at {where} answered HTTP {status} "
        f"({body.get('error_code')}) to the experiment lookup."
    )


def _experiment_by_name(client: RestClient, name: Setting, where: str) -> str:
    for _attempt in range(2):
        status, body = client.call(
            "GET", "experiments/get-by-name", params={"experiment_name": name.value}
        )
        if status == 200:
            return _checked_experiment(body, name.label())
        if body.get("error_code") != "RESOURCE_DOES_NOT_EXIST":
            break
        status, body = client.call("POST", "experiments/create", json={"name": name.value})
        if status == 200 and isinstance(body.get("experiment_id"), str):
            return body["experiment_id"]
        if body.get("error_code") != "RESOURCE_ALREADY_EXISTS":
            break  # else another process created it just now: look it up again
    raise ExporterConfigurationError(
        f"{name.label()}: MLflow at {where} answered HTTP {status} ({body.get('error_code')}) "
        "when looking up or creating the experiment."
    )


def resolve_experiment(
    client: RestClient,
    server: TrackingServer,
    experiment_id: str | int | None,
    experiment_name: str | None,
) -> str:
    """The numeric id of the experiment to log into, checked against the server.

    Same precedence as MLflow's client: a name wins (created if missing) and must agree
    with an id given as well; else the id, which must exist; else "0" (Default). The
    lookup doubles as the reachability check.
    """
    where = server.describe()
    by_id = setting(experiment_id, "experiment_id", MLFLOW_EXPERIMENT_ID)
    by_name = setting(experiment_name, "experiment_name", MLFLOW_EXPERIMENT_NAME)
    if by_id is not None and not by_id.value.isdigit():
        hint = f"; to use an experiment by name set {MLFLOW_EXPERIMENT_NAME}" if not by_name else ""
        raise ExporterConfigurationError(
            f"{by_id.source.rstrip('=')} must be a numeric MLflow experiment id, got "
            f"{by_id.value!r}{hint}."
        )
    if by_name is not None:
        resolved = _experiment_by_name(client, by_name, where)
        if by_id is not None and by_id.value != resolved:
            raise ExporterConfigurationError(
                f"{by_id.label()} does not match experiment {by_name.label()}, whose id is "
                f"{resolved}; set only one of them."
            )
        return resolved
    return _experiment_by_id(client, by_id or Setting(DEFAULT_EXPERIMENT_ID, "default"), where)
