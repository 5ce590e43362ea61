"""Static checks of collector/: the OpenTelemetry Collector config, the docker-compose file
that runs it with MLflow, Jaeger and Zipkin, the MLflow Dockerfile and the README.

Nothing here starts a container: the files are parsed and checked against each other and
against what the collector and the backends are known to require."""

from __future__ import annotations

import fnmatch
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COLLECTOR = ROOT / "collector"

CONFIG_FILE = "otel-collector-config.yaml"
COMPOSE_FILE = "docker-compose.yaml"
README_FILE = "README.md"

COLLECTOR_IMAGE = "otel/opentelemetry-collector-contrib"
MLFLOW_HEADER = "x-mlflow-experiment-id"
MLFLOW_DEFAULT_PORT = 5000  # `mlflow server` without --port

# Ports the backend images listen on, per exporter type that talks to them.
BACKEND_PORTS = {
    "jaegertracing/all-in-one": {"otlp": 4317, "otlphttp": 4318},
    "jaegertracing/jaeger": {"otlp": 4317, "otlphttp": 4318},
    "openzipkin/zipkin": {"zipkin": 9411},
}

ENV_REF = re.compile(r"^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}$")
KINDS = ("receivers", "processors", "exporters")


# --- loading -------------------------------------------------------------------------------


def _path(name: str) -> Path:
    path = COLLECTOR / name
    if not path.is_file():
        pytest.fail(f"{path} is missing")
    return path


def _load_yaml(name: str) -> dict[str, Any]:
    path = _path(name)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        pytest.fail(f"{path} is not a YAML mapping")
    return data


@pytest.fixture
def config() -> dict[str, Any]:
    return _load_yaml(CONFIG_FILE)


@pytest.fixture
def compose() -> dict[str, Any]:
    return _load_yaml(COMPOSE_FILE)


@pytest.fixture
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services = compose.get("services")
    assert isinstance(services, dict) and services, "docker-compose.yaml defines no services"
    return services


@pytest.fixture
def readme() -> str:
    return _path(README_FILE).read_text(encoding="utf-8")


# --- helpers -------------------------------------------------------------------------------


def _type(component_id: str) -> str:
    """`otlphttp/mlflow` -> `otlphttp`."""
    return component_id.split("/", 1)[0]


def _section(config: dict[str, Any], kind: str) -> dict[str, Any]:
    return config.get(kind) or {}


def _pipelines(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    pipelines = (config.get("service") or {}).get("pipelines")
    assert isinstance(pipelines, dict) and pipelines, "service.pipelines is empty"
    return pipelines


def _traces_pipeline(config: dict[str, Any]) -> dict[str, Any]:
    pipelines = _pipelines(config)
    assert "traces" in pipelines, f"no `traces` pipeline in {sorted(pipelines)}"
    return pipelines["traces"]


def _host_port(address: str) -> tuple[str, int]:
    """`0.0.0.0:4317`, `jaeger:4317` or `http://zipkin:9411/...` -> (host, port)."""
    if "://" in address:
        url = urlsplit(address)
        assert url.hostname and url.port, f"no explicit host and port in {address!r}"
        return url.hostname, url.port
    host, sep, port = address.rpartition(":")
    assert sep and host and port.isdigit(), f"not host:port: {address!r}"
    return host, int(port)


def _image_repo(service: dict[str, Any]) -> str:
    return str(service.get("image", "")).rsplit(":", 1)[0]


def _service_by_image(services: dict[str, dict[str, Any]], repo: str) -> tuple[str, dict]:
    found = [(name, svc) for name, svc in services.items() if _image_repo(svc) == repo]
    assert len(found) == 1, f"expected one service running {repo}, found {len(found)}"
    return found[0]


def _collector_service(services: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    return _service_by_image(services, COLLECTOR_IMAGE)


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command")
    if command is None:
        return []
    if isinstance(command, str):
        return shlex.split(command)
    return [str(part) for part in command]


def _option(command: list[str], *names: str) -> str | None:
    """Value of `--name value` or `--name=value` in an argv list."""
    for i, arg in enumerate(command):
        for name in names:
            if arg == name:
                assert i + 1 < len(command), f"{name} has no value in {command}"
                return command[i + 1]
            if arg.startswith(name + "="):
                return arg[len(name) + 1 :]
    return None


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, dict):
        return {str(k): "" if v is None else str(v) for k, v in env.items()}
    out = {}
    for item in env:
        key, _, value = str(item).partition("=")
        out[key] = value
    return out


def _depends_on(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {str(name): {} for name in deps}
    return {str(name): (spec or {}) for name, spec in deps.items()}


def _ports(service: dict[str, Any]) -> list[tuple[int | None, int]]:
    """Published ports as (host port or None when Docker picks one, container port)."""
    out = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            published = entry.get("published")
            out.append((int(published) if published is not None else None, int(entry["target"])))
            continue
        text = str(entry).split("/", 1)[0]
        parts = text.split(":")
        assert all(p.isdigit() for p in parts[-2:]), f"cannot parse port mapping {entry!r}"
        if len(parts) == 1:
            out.append((None, int(parts[0])))
        else:  # HOST:CONTAINER or IP:HOST:CONTAINER
            out.append((int(parts[-2]), int(parts[-1])))
    return out


def _host_port_for(service: dict[str, Any], container_port: int) -> int:
    host_ports = [h for h, c in _ports(service) if c == container_port and h is not None]
    assert host_ports, f"container port {container_port} is not published on the host"
    return host_ports[0]


def _exporters_to(config: dict[str, Any], host: str) -> list[tuple[str, dict[str, Any]]]:
    """Exporters whose endpoint points at `host`."""
    out = []
    for exporter_id, exporter in _section(config, "exporters").items():
        exporter = exporter or {}
        address = exporter.get("traces_endpoint") or exporter.get("endpoint")
        if address and _host_port(str(address))[0] == host:
            out.append((exporter_id, exporter))
    return out


def _mlflow_exporter(config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    found = _exporters_to(config, "mlflow")
    assert len(found) == 1, f"expected one exporter to the mlflow service, found {found}"
    return found[0]


def _mlflow_service(services: dict[str, dict[str, Any]]) -> dict[str, Any]:
    assert "mlflow" in services, "no `mlflow` service in docker-compose.yaml"
    return services["mlflow"]


def _mlflow_port(mlflow: dict[str, Any]) -> int:
    command = _command(mlflow)
    assert command[:2] == ["mlflow", "server"], f"mlflow command is {command}"
    port = _option(command, "--port", "-p")
    return int(port) if port is not None else MLFLOW_DEFAULT_PORT


def _header(exporter: dict[str, Any], name: str) -> str | None:
    headers = exporter.get("headers") or {}
    matches = [str(v) for k, v in headers.items() if str(k).lower() == name.lower()]
    return matches[0] if matches else None


def _readme_port_table(readme: str) -> dict[int, str]:
    """Port -> service from the README table whose header has `port` and `service` columns."""
    lines = readme.splitlines()
    for i, line in enumerate(lines):
        cells = [c.strip().strip("`").lower() for c in line.strip().strip("|").split("|")]
        if line.lstrip().startswith("|") and "port" in cells and "service" in cells:
            port_col, service_col = cells.index("port"), cells.index("service")
            table: dict[int, str] = {}
            for row in lines[i + 2 :]:
                if not row.lstrip().startswith("|"):
                    break
                values = [c.strip().strip("`") for c in row.strip().strip("|").split("|")]
                assert values[port_col].isdigit(), f"README port table row without a port: {row}"
                port = int(values[port_col])
                assert port not in table, f"README lists port {port} twice"
                table[port] = values[service_col]
            assert table, "README port table has no rows"
            return table
    pytest.fail("README.md has no table with `port` and `service` columns")


# --- (a) pipelines reference defined components, defined components are used --------------


def test_pipelines_reference_only_defined_components(config):
    for name, pipeline in _pipelines(config).items():
        assert pipeline.get("receivers"), f"pipeline {name} has no receivers"
        assert pipeline.get("exporters"), f"pipeline {name} has no exporters"
        for kind in KINDS:
            defined = _section(config, kind)
            for component in pipeline.get(kind) or []:
                assert component in defined, f"pipeline {name}: {kind[:-1]} {component} undefined"
            used = pipeline.get(kind) or []
            assert len(used) == len(set(used)), f"pipeline {name} lists a {kind[:-1]} twice"


def test_every_defined_component_is_used(config):
    for kind in KINDS:
        used = {c for p in _pipelines(config).values() for c in p.get(kind) or []}
        unused = set(_section(config, kind)) - used
        assert not unused, f"{kind} defined but in no pipeline: {sorted(unused)}"


# --- (b) processors ------------------------------------------------------------------------


def test_memory_limiter_first_and_batch_in_traces(config):
    for name, pipeline in _pipelines(config).items():
        processors = pipeline.get("processors") or []
        assert processors, f"pipeline {name} has no processors"
        assert _type(processors[0]) == "memory_limiter", (
            f"pipeline {name}: memory_limiter must be the first processor, got {processors}"
        )
    processors = _traces_pipeline(config).get("processors") or []
    assert any(_type(p) == "batch" for p in processors), "traces pipeline has no batch processor"


def test_memory_limiter_is_configured(config):
    for proc_id, proc in _section(config, "processors").items():
        if _type(proc_id) != "memory_limiter":
            continue
        proc = proc or {}
        assert proc.get("check_interval"), f"{proc_id} needs check_interval"
        assert proc.get("limit_mib") or proc.get("limit_percentage"), f"{proc_id} has no limit"


# --- (c) extensions ------------------------------------------------------------------------


def test_service_extensions_are_defined_and_health_check_enabled(config, services):
    enabled = (config.get("service") or {}).get("extensions") or []
    defined = _section(config, "extensions")
    for ext in enabled:
        assert ext in defined, f"service.extensions lists undefined extension {ext}"
    unused = set(defined) - set(enabled)
    assert not unused, f"extensions defined but never enabled: {sorted(unused)}"
    health = [e for e in enabled if _type(e) == "health_check"]
    assert health, "health_check is not in service.extensions"
    # It must listen on all interfaces, on the port the collector publishes.
    host, port = _host_port(str((defined[health[0]] or {}).get("endpoint", "")))
    assert host == "0.0.0.0", f"health_check listens on {host}, unreachable from the host"
    _, collector = _collector_service(services)
    assert _host_port_for(collector, port) == port


# --- (d) OTLP receiver ---------------------------------------------------------------------


def test_otlp_receiver_listens_on_4317_grpc_and_4318_http(config):
    otlp = _section(config, "receivers").get("otlp")
    assert otlp, "no otlp receiver"
    protocols = otlp.get("protocols") or {}
    for protocol, expected in (("grpc", 4317), ("http", 4318)):
        assert protocol in protocols, f"otlp receiver has no {protocol} protocol"
        host, port = _host_port(str((protocols[protocol] or {}).get("endpoint", "")))
        assert port == expected, f"otlp {protocol} listens on {port}, expected {expected}"
        assert host == "0.0.0.0", f"otlp {protocol} binds {host}: unreachable from outside"
    assert "otlp" in _traces_pipeline(config)["receivers"]


def test_collector_publishes_every_port_it_listens_on(config, services):
    _, collector = _collector_service(services)
    listening = [
        _host_port(str(p["endpoint"]))[1]
        for p in (_section(config, "receivers")["otlp"].get("protocols") or {}).values()
    ]
    listening += [
        _host_port(str(e["endpoint"]))[1]
        for e in _section(config, "extensions").values()
        if e and e.get("endpoint")
    ]
    published = {c for _, c in _ports(collector)}
    assert set(listening) == published, f"listens on {listening}, publishes {sorted(published)}"


# --- (e) MLflow exporter -------------------------------------------------------------------


def test_mlflow_exporter_is_otlphttp_to_v1_traces(config, services):
    exporter_id, exporter = _mlflow_exporter(config)
    assert _type(exporter_id) == "otlphttp", "MLflow ingests OTLP over HTTP only, not gRPC"
    if exporter.get("traces_endpoint"):
        url = urlsplit(str(exporter["traces_endpoint"]))
    else:  # otlphttp appends the signal path to `endpoint`
        url = urlsplit(str(exporter["endpoint"]).rstrip("/") + "/v1/traces")
    assert url.scheme == "http", url
    assert url.path == "/v1/traces", f"MLflow ingests at /v1/traces, not {url.path}"
    assert url.port == _mlflow_port(_mlflow_service(services)), (
        f"exporter targets port {url.port}, mlflow serves on {_mlflow_port(services['mlflow'])}"
    )
    assert exporter_id in _traces_pipeline(config)["exporters"]


def test_mlflow_experiment_header_comes_from_env_with_numeric_default(config, services):
    _, exporter = _mlflow_exporter(config)
    value = _header(exporter, MLFLOW_HEADER)
    assert value is not None, f"MLflow answers 422 without the {MLFLOW_HEADER} header"
    match = ENV_REF.match(value)
    assert match, f"{MLFLOW_HEADER} should be ${{env:NAME}}, got {value!r}"
    var = match.group(1)
    _, collector = _collector_service(services)
    env = _environment(collector)
    assert var in env, f"docker-compose does not pass {var} to the collector"
    default = re.fullmatch(r"\$\{" + var + r":-(\d+)\}", env[var])
    assert default, f"{var} needs a numeric default, e.g. ${{{var}:-0}}; got {env[var]!r}"


def test_mlflow_server_is_reachable_and_can_ingest(config, services):
    mlflow = _mlflow_service(services)
    command = _command(mlflow)
    assert _option(command, "--host", "-h") == "0.0.0.0", "mlflow must bind 0.0.0.0"
    store = _option(command, "--backend-store-uri")
    assert store, "mlflow needs --backend-store-uri"
    scheme = store.split(":", 1)[0].split("+", 1)[0]
    assert scheme in ("sqlite", "postgresql"), f"a {scheme} store cannot ingest OTLP traces"
    if scheme == "postgresql":
        db_host = urlsplit(store).hostname
        assert db_host in services, f"backend store host {db_host} is not a compose service"
        assert db_host in _depends_on(mlflow), f"mlflow does not depend on {db_host}"
    # MLflow answers 403 to a Host header outside --allowed-hosts (default: localhost and
    # private IPs), and the collector sends the service name as Host.
    _, exporter = _mlflow_exporter(config)
    url = urlsplit(str(exporter.get("traces_endpoint") or exporter.get("endpoint")))
    allowed = (_option(command, "--allowed-hosts") or "").split(",")
    host_header = f"{url.hostname}:{url.port}"
    assert any(
        a == "*" or (fnmatch.fnmatch(host_header, a) if "*" in a else host_header == a)
        for a in allowed
    ), f"Host {host_header} is not in mlflow --allowed-hosts {allowed}"
    assert any(a == "localhost:*" or a.startswith("localhost:") for a in allowed), (
        "the MLflow UI on localhost would be refused"
    )


def test_mlflow_dockerfile_installs_postgres_driver(services):
    build = _mlflow_service(services).get("build")
    assert isinstance(build, dict), "mlflow should be built from a Dockerfile"
    context = (COLLECTOR / build.get("context", ".")).resolve()
    assert context.is_dir(), f"build context {context} does not exist"
    dockerfile = context / build.get("dockerfile", "Dockerfile")
    assert dockerfile.is_file(), f"{dockerfile} does not exist"
    text = dockerfile.read_text(encoding="utf-8")
    base = re.search(r"^FROM\s+(\S+)", text, re.MULTILINE)
    assert base, f"{dockerfile} has no FROM"
    repo, _, tag = base.group(1).rpartition(":")
    assert repo == "ghcr.io/mlflow/mlflow" and re.fullmatch(r"v\d+\.\d+\.\d+", tag), base.group(1)
    store = _option(_command(services["mlflow"]), "--backend-store-uri") or ""
    if store.startswith("postgresql"):
        assert re.search(r"pip install .*psycopg2-binary", text), "no PostgreSQL driver installed"


# --- (f) Jaeger and Zipkin exporters -------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "exporter_types"),
    [("jaegertracing/all-in-one", {"otlp"}), ("openzipkin/zipkin", {"zipkin"})],
)
def test_backend_exporter_targets_service_and_port(config, services, image, exporter_types):
    service_name, _ = _service_by_image(services, image)
    found = _exporters_to(config, service_name)
    assert len(found) == 1, f"expected one exporter to {service_name}, found {found}"
    exporter_id, exporter = found[0]
    assert _type(exporter_id) in exporter_types, f"{exporter_id} cannot talk to {image}"
    _, port = _host_port(str(exporter.get("traces_endpoint") or exporter["endpoint"]))
    expected = BACKEND_PORTS[image][_type(exporter_id)]
    assert port == expected, f"{exporter_id} sends to port {port}, {image} listens on {expected}"
    assert exporter_id in _traces_pipeline(config)["exporters"]


def test_jaeger_exporter_is_plaintext_grpc(config, services):
    service_name, jaeger = _service_by_image(services, "jaegertracing/all-in-one")
    [(_, exporter)] = _exporters_to(config, service_name)
    endpoint = str(exporter["endpoint"])
    assert "://" not in endpoint or endpoint.startswith("http://"), f"TLS scheme in {endpoint}"
    assert (exporter.get("tls") or {}).get("insecure") is True, "jaeger has no TLS: insecure"
    assert _environment(jaeger).get("COLLECTOR_OTLP_ENABLED") == "true"


def test_zipkin_exporter_uses_v2_spans_api(config, services):
    service_name, _ = _service_by_image(services, "openzipkin/zipkin")
    [(_, exporter)] = _exporters_to(config, service_name)
    assert urlsplit(str(exporter["endpoint"])).path == "/api/v2/spans"


# --- (g) docker-compose --------------------------------------------------------------------


def test_depends_on_names_defined_services(services):
    for name, service in services.items():
        for dep, spec in _depends_on(service).items():
            assert dep in services, f"{name} depends on undefined service {dep}"
            assert dep != name, f"{name} depends on itself"
            if spec.get("condition") == "service_healthy":
                assert services[dep].get("healthcheck"), f"{dep} has no healthcheck for {name}"


def test_collector_depends_on_every_backend_it_exports_to(config, services):
    collector_name, collector = _collector_service(services)
    targets = set()
    for exporter in _section(config, "exporters").values():
        address = (exporter or {}).get("traces_endpoint") or (exporter or {}).get("endpoint")
        if address:
            targets.add(_host_port(str(address))[0])
    assert targets, "no exporter has an endpoint"
    assert targets <= set(services), f"exporters target unknown hosts {targets - set(services)}"
    assert targets <= set(_depends_on(collector)), f"{collector_name} must depend on {targets}"


def test_collector_image_is_pinned_and_mounts_the_config(services):
    _, collector = _collector_service(services)
    tag = str(collector["image"]).rpartition(":")[2]
    assert re.fullmatch(r"\d+\.\d+\.\d+", tag), f"pin the collector image, not {tag!r}"
    config_path = _option(_command(collector), "--config")
    assert config_path, "the collector command has no --config"
    config_path = config_path.removeprefix("file:")
    mounts = {}
    for volume in collector.get("volumes") or []:
        if isinstance(volume, dict):
            mounts[str(volume["target"])] = str(volume["source"])
        else:
            source, _, rest = str(volume).partition(":")
            mounts[rest.split(":", 1)[0]] = source
    assert config_path in mounts, f"{config_path} is not mounted; mounts: {mounts}"
    source = (COLLECTOR / mounts[config_path]).resolve()
    assert source.is_file(), f"mounted config {source} does not exist"
    assert source == _path(CONFIG_FILE).resolve(), f"mounts {source}, not {CONFIG_FILE}"


def test_no_two_services_publish_the_same_host_port(services):
    seen: dict[int, str] = {}
    for name, service in services.items():
        for host_port, _ in _ports(service):
            if host_port is None:
                continue
            assert host_port not in seen, f"{name} and {seen[host_port]} both publish {host_port}"
            seen[host_port] = name


def test_named_volumes_are_declared(compose, services):
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for volume in service.get("volumes") or []:
            source = volume["source"] if isinstance(volume, dict) else str(volume).split(":")[0]
            if not source.startswith((".", "/", "~")):
                assert source in declared, f"{name} uses undeclared volume {source}"


def test_readme_port_table_matches_published_ports(services, readme):
    table = _readme_port_table(readme)
    published = {
        host: name
        for name, service in services.items()
        for host, _ in _ports(service)
        if host is not None
    }
    assert set(table) == set(published), (
        f"README lists {sorted(table)}, compose publishes {sorted(published)}"
    )
    for port, service in table.items():
        assert service == published[port], (
            f"README: {port} is {service}, compose: {published[port]}"
        )


# --- (h) README ----------------------------------------------------------------------------


def test_readme_names_the_experiment_header_and_variable(config, services, readme):
    _, exporter = _mlflow_exporter(config)
    header = next(k for k in exporter["headers"] if str(k).lower() == MLFLOW_HEADER)
    assert header in readme, f"README does not mention the {header} header"
    var = ENV_REF.match(_header(exporter, MLFLOW_HEADER)).group(1)
    assert re.search(rf"\b{var}=\d+ docker compose\b", readme), f"README: no `{var}=<id>` example"


def test_readme_commands_use_existing_compose_file(readme):
    files = re.findall(r"docker compose -f (\S+)", readme)
    assert files, "README has no `docker compose -f ...` command"
    for file in files:
        assert (COLLECTOR.parent / file).resolve() == _path(COMPOSE_FILE).resolve(), file


def test_readme_app_endpoints_hit_the_collector_receivers(config, services, readme):
    _, collector = _collector_service(services)
    protocols = _section(config, "receivers")["otlp"]["protocols"]
    http_port = _host_port_for(collector, _host_port(protocols["http"]["endpoint"])[1])
    grpc_port = _host_port_for(collector, _host_port(protocols["grpc"]["endpoint"])[1])
    traces = re.findall(r"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=(\S+)", readme)
    assert traces, "README does not show OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    for value in traces:
        url = urlsplit(value)
        assert (url.port, url.path) == (http_port, "/v1/traces"), value
    assert "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/protobuf" in readme
    grpc = re.findall(r"OTEL_EXPORTER_OTLP_ENDPOINT=(\S+)", readme)
    assert grpc, "README does not show the gRPC OTEL_EXPORTER_OTLP_ENDPOINT"
    for value in grpc:
        assert urlsplit(value).port == grpc_port, value
    assert re.search(r"OTEL_EXPORTER_OTLP(_TRACES)?_PROTOCOL=grpc\b", readme)
