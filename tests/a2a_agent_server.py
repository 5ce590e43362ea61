"""A small A2A agent for the tests, built on the ``a2a-sdk`` server framework (JSON-RPC binding,
protocol 1.0 with 0.3 compatibility), served by uvicorn on 127.0.0.1.

Run as ``python tests/a2a_agent_server.py --port N [--name NAME]``; it prints
``READY <port>`` once its socket listens. The agent answers each
message with one text message: ``echo: <the text it got>``; a message whose text contains
``fail`` makes the agent raise (the framework turns that into a failed task or an error).
No model, no network beyond the port.
"""

from __future__ import annotations

import argparse
import socket

import uvicorn
from a2a.helpers.proto_helpers import get_message_text, new_text_message
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandlerV2
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore
from a2a.types import AgentCapabilities, AgentCard, AgentInterface, AgentSkill
from starlette.applications import Starlette

ECHO_PREFIX = "echo: "
FAIL_WORD = "fail"


class EchoAgent(AgentExecutor):
    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        text = get_message_text(context.message) if context.message is not None else ""
        if FAIL_WORD in text:
            raise RuntimeError("the agent failed on purpose")
        await event_queue.enqueue_event(
            new_text_message(ECHO_PREFIX + text, context_id=context.context_id)
        )

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        raise NotImplementedError


def card(name: str, url: str) -> AgentCard:
    return AgentCard(
        name=name,
        description="Echoes what it is told (test agent)",
        version="1.0.0",
        supported_interfaces=[
            AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="1.0")
        ],
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["text"],
        default_output_modes=["text"],
        skills=[AgentSkill(id="echo", name="echo", description="echoes", tags=["test"])],
    )


def app(name: str, url: str) -> Starlette:
    agent_card = card(name, url)
    handler = DefaultRequestHandlerV2(
        agent_executor=EchoAgent(), task_store=InMemoryTaskStore(), agent_card=agent_card
    )
    routes = [
        *create_agent_card_routes(agent_card),
        *create_jsonrpc_routes(handler, "/", enable_v0_3_compat=True),
    ]
    return Starlette(routes=routes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", default="echo-agent")
    args = parser.parse_args()
    url = f"http://127.0.0.1:{args.port}/"
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(128)  # a client connecting before uvicorn runs waits in the backlog
    print("READY", args.port, flush=True)
    server = uvicorn.Server(uvicorn.Config(app(args.name, url), log_level="warning"))
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
