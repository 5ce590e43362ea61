"""A small MCP server for tests, built on the ``mcp`` package's own server framework (FastMCP),
served over streamable HTTP at ``/mcp``.

Run it as ``python tests/fake_mcp_server.py --port PORT``: it binds 127.0.0.1:PORT, prints one
line ``LISTENING <port>`` to stdout once it accepts connections and serves until SIGTERM.

Tools:

* ``add(a, b)``       -> ``a + b``
* ``refuse(reason)``  -> a tool error: the result has ``isError: true``
* ``authorized()``    -> ``yes`` when the request carried ``Authorization: Bearer $MCP_TOKEN``
  (the environment variable ``MCP_TOKEN``), else ``no``: the gateway sent the upstream
  credential, which the telemetry must not record

A prompt ``greet(name)`` and a resource ``config://version`` for the other MCP methods.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time

import uvicorn
from mcp.server.fastmcp import Context, FastMCP
from mcp.server.fastmcp.exceptions import ToolError

server = FastMCP("calc", log_level="WARNING")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


@server.tool()
def refuse(reason: str) -> str:
    """Fails with the reason given: the result is an error."""
    raise ToolError(f"refused: {reason}")


@server.tool()
def authorized(ctx: Context) -> str:
    """Whether the caller sent the upstream token this server expects."""
    request = ctx.request_context.request
    header = request.headers.get("authorization") if request is not None else None
    return "yes" if header == f"Bearer {os.environ.get('MCP_TOKEN', '')}" else "no"


@server.prompt()
def greet(name: str) -> str:
    """A greeting."""
    return f"Say hello to {name}"


@server.resource("config://version")
def version() -> str:
    """The server's version."""
    return "1.0"


def _announce(port: int) -> None:
    """Print ``LISTENING <port>`` once the port accepts connections."""
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.05)
    print(f"LISTENING {port}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args(argv).port
    threading.Thread(target=_announce, args=(port,), daemon=True).start()
    config = uvicorn.Config(
        server.streamable_http_app(), host="127.0.0.1", port=port, log_level="warning"
    )
    uvicorn.Server(config).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
