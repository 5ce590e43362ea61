"""What tracing costs the LiteLLM Proxy per MCP request, in instructions (callgrind).

    python benchmarks/proxy_mcp.py [--requests 100] [--method tools/call|tools/list]
        [--variant name=ENV=VALUE[,ENV=VALUE...]] [--callgrind-dir DIR]

Like ``benchmarks/proxy.py --instructions``: real proxies one after the other (one worker,
no database), each under valgrind's callgrind with instrumentation switched on only for
``--requests`` sequential MCP requests and the span export that follows. The proxy's
config.yaml registers one MCP server (tests/fake_mcp_server.py, FastMCP over streamable HTTP,
a separate process whose instructions are not counted); each request is one JSON-RPC POST to
the proxy's ``/mcp`` without a session (the gateway serves it statelessly): ``tools/call`` of
``calc-add``, or ``tools/list``. Proxies: untraced, traced (``callbacks`` in config.yaml,
OTLP/HTTP to a local receiver), and one per ``--variant`` (the traced one with extra
environment, e.g. ``--variant phase-spans=OTEL_INSTRUMENTATION_LITELLM_PROXY_PHASE_SPANS=true``:
the MCP methods as spans instead of server span attributes). ``--noop-callback`` adds an
untraced proxy whose config.yaml names a ``CustomLogger`` that does nothing: what litellm's
own per-call logging costs once any callback is configured, as ours is.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mcp_fixtures import start_mcp_server
from otlp_receiver import OTLPReceiver
from proxy import Client, instructions, parse_variant
from proxy_fixtures import CALLBACK, MASTER_KEY, proxy_env

PROTOCOL_VERSION = "2025-11-25"
HEADERS = {
    "Authorization": f"Bearer {MASTER_KEY}",
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
    "mcp-protocol-version": PROTOCOL_VERSION,
}
PARAMS = {
    "tools/call": {"name": "calc-add", "arguments": {"a": 1, "b": 2}},
    "tools/list": {},
}


NOOP_CALLBACK = (
    "from litellm.integrations.custom_logger import CustomLogger\n\nnoop = CustomLogger()\n"
)


def config(mcp_url: str, callback: str | None) -> dict[str, object]:
    return {
        "model_list": [],
        "mcp_servers": {"calc": {"url": mcp_url, "transport": "http", "allow_all_keys": True}},
        "litellm_settings": {"callbacks": [callback]} if callback else {},
        "general_settings": {"master_key": MASTER_KEY},
    }


def mcp_client(method: str) -> type[Client]:
    ids = itertools.count(1)

    class MCPClient(Client):
        """One keep-alive connection; ``chat()`` sends one MCP request."""

        def chat(self) -> float:
            body = {"jsonrpc": "2.0", "id": next(ids), "method": method, "params": PARAMS[method]}
            self.connection.request("POST", "/mcp", json.dumps(body), HEADERS)
            answer = self.connection.getresponse()
            data = answer.read()
            if answer.status != 200 or b'"result"' not in data or b'"isError":true' in data:
                raise RuntimeError(f"{answer.status}: {data[:300]!r}")
            return 0.0

    return MCPClient


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--method", choices=sorted(PARAMS), default="tools/call")
    parser.add_argument("--variant", action="append", default=[], type=parse_variant)
    parser.add_argument("--callgrind-dir", type=Path, help="keep the callgrind dumps here")
    parser.add_argument("--noop-callback", action="store_true")
    parser.add_argument("--only", action="append", help="measure just these proxies")
    args = parser.parse_args()

    receiver = OTLPReceiver().start()
    server = start_mcp_server()
    setups = [("untraced", False, {}), ("traced", True, {})]
    setups += [(name, True, env) for name, env in args.variant]
    if args.noop_callback:
        setups.append(("noop-callback", False, {}))
    if args.only:
        setups = [setup for setup in setups if setup[0] in args.only]
    counts: dict[str, float] = {}
    try:
        with tempfile.TemporaryDirectory() as directory:
            for name, traced, extra in setups:
                env = proxy_env(**(receiver.exporter_env() | extra if traced else {}))
                callback = CALLBACK if traced else None
                if name == "noop-callback":
                    Path(directory, name).mkdir()
                    Path(directory, name, "noop_callback.py").write_text(NOOP_CALLBACK)
                    callback = "noop_callback.noop"
                counts[name], collections, dump = instructions(
                    Path(directory, name),
                    config(server.url, callback),
                    env,
                    args.requests,
                    mcp_client(args.method),
                )
                print(f"{name:<14}{counts[name] / 1e6:>8.2f} M instructions/request", end="")
                ratio = counts[name] / counts.get("untraced", counts[name])
                print(f"{ratio:>8.3f}   {collections}", flush=True)
                if args.callgrind_dir:
                    args.callgrind_dir.mkdir(parents=True, exist_ok=True)
                    shutil.copy(dump, args.callgrind_dir / f"{name}.out")
    finally:
        server.stop()
        receiver.stop()


if __name__ == "__main__":
    main()
