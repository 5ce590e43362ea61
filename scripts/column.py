"""The requirements of one litellm column of the CI version matrix (docs/development.md).

    python scripts/column.py requirements LITELLM_VERSION [--otel oldest|newest]

prints what a column's venv gets before `pip freeze` pins it into constraints/litellm-X.txt:
this package's dependencies and test extras (read from pyproject.toml), `litellm==X`, and
the requirements of litellm's own `proxy` extra, read from that release's wheel METADATA.
Recent litellm `[proxy]` extras name companion distributions this package index does not
serve (1.110's `litellm-proxy`) or serve only unpinned (`litellm-proxy-extras`,
`litellm-enterprise` post-releases): `litellm-proxy` is left out and the two companions
go unpinned; the proxy imports and serves without the first.

`--otel oldest` pins the OpenTelemetry API/SDK/instrumentation family to the oldest
releases pyproject.toml claims (`~= 1.43` -> 1.43.0, `>= 0.64b0` -> 0.64b0); `newest`
(the default) leaves them to the resolver, which takes the newest.

    python scripts/column.py newest-litellm

prints the newest litellm release on the index (what `bash scripts/dev.sh newest-column` moves
the newest column to). Standard library only: this runs before any venv exists.
"""

from __future__ import annotations

import argparse
import email.parser
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "otel-genai-litellm"
# The companions litellm's [proxy] pins to exact (post-)releases: taken unpinned.
COMPANIONS = ("litellm-proxy-extras", "litellm-enterprise")
# A distribution the index does not serve; the proxy runs without it.
ABSENT = ("litellm-proxy",)
# The OpenTelemetry releases of the oldest column: the lower ends pyproject.toml claims.
OLDEST_OTEL = {
    "opentelemetry-api": "1.43.0",
    "opentelemetry-sdk": "1.43.0",
    "opentelemetry-exporter-otlp-proto-http": "1.43.0",
    "opentelemetry-exporter-otlp-proto-grpc": "1.43.0",
    "opentelemetry-exporter-otlp-proto-common": "1.43.0",
    "opentelemetry-proto": "1.43.0",
    "opentelemetry-exporter-zipkin-json": "1.43.0",
    "opentelemetry-instrumentation": "0.64b0",
    "opentelemetry-semantic-conventions": "0.64b0",
    "opentelemetry-instrumentation-fastapi": "0.64b0",
    "opentelemetry-instrumentation-asgi": "0.64b0",
    "opentelemetry-util-http": "0.64b0",
    "opentelemetry-distro": "0.64b0",
    "opentelemetry-util-genai": "1.3b0",
}


def _name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else ""


def _package_requirements() -> list[str]:
    """This package's dependencies and its test extra, self-references expanded, without
    the litellm requirements (the column names its own)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    out: list[str] = list(project["dependencies"])
    pending, seen = ["test"], set()
    while pending:
        extra = pending.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for requirement in extras[extra]:
            if _name(requirement) == PACKAGE:
                pending.extend(re.search(r"\[(.*)\]", requirement).group(1).split(","))
            elif _name(requirement) != "litellm":
                out.append(requirement)
    return out


def _litellm_proxy_requirements(version: str) -> list[str]:
    """The `proxy` extra of litellm VERSION, from its wheel's METADATA."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                f"litellm=={version}",
                "-d",
                tmp,
            ],
            check=True,
        )
        (wheel,) = Path(tmp).glob("litellm-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
            message = email.parser.Parser().parsestr(archive.read(metadata).decode())
    out = []
    for requirement in message.get_all("Requires-Dist") or []:
        spec, _, marker = requirement.partition(";")
        if not re.search(r"""extra\s*==\s*['"]proxy['"]""", marker):
            continue
        # Keep the other parts of the marker (python version, platform).
        rest = re.sub(
            r"""\s*(and\s+)?\(?\s*extra\s*==\s*['"]proxy['"]\s*\)?\s*(and\s+)?""", " ", marker
        ).strip()
        rest = rest.strip("() ").strip()
        name = _name(spec)
        if name in ABSENT:
            continue
        if name in COMPANIONS and not _served(spec):
            spec = name
        out.append(f"{spec.strip()}; {rest}" if rest else spec.strip())
    return out


def requirements(version: str, otel: str) -> list[str]:
    out = [f"litellm=={version}", *_litellm_proxy_requirements(version), *_package_requirements()]
    if otel == "oldest":
        out += [f"{name}=={pin}" for name, pin in OLDEST_OTEL.items()]
    return out


def _versions(name: str) -> tuple[str, list[str]]:
    """The newest release of NAME on the index and every release it serves."""
    listing = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", name],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    newest = re.search(rf"^{re.escape(name)} \(([^)]+)\)", listing, re.M).group(1)
    served = re.search(r"^Available versions: (.*)$", listing, re.M).group(1).split(", ")
    return newest, served


def _served(spec: str) -> bool:
    """Whether the exact release an `==` requirement names is on the index."""
    pin = re.search(r"==\s*([^,;)\s]+)", spec)
    return bool(pin) and pin.group(1) in _versions(_name(spec))[1]


def newest_litellm() -> str:
    return _versions("litellm")[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    req = sub.add_parser("requirements")
    req.add_argument("litellm")
    req.add_argument("--otel", choices=("oldest", "newest"), default="newest")
    sub.add_parser("newest-litellm")
    args = parser.parse_args()
    if args.command == "requirements":
        print("\n".join(requirements(args.litellm, args.otel)))
    else:
        print(newest_litellm())


if __name__ == "__main__":
    main()
