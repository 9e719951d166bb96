"""``/mcp``: hybridcrew's MCP server over streamable HTTP, behind the gateway's API keys.

The endpoint is an ordinary route, so a request is authenticated by the same dependency as
every other (401 without a valid key, the loopback no-key mode likewise) before the MCP SDK
sees it; the caller rides in the request's state to the tools. Stateless: any replica of the
gateway can answer any request, and progress streams in the response of the call it belongs to.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request, Response
from mcp.server.mcpserver import Context, MCPServer

from hybridcrew.platform.api.deps import Viewer
from hybridcrew.platform.api.mcp import build_mcp_server
from hybridcrew.platform.keys import Caller

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.types import ASGIApp, Receive, Scope, Send

    from hybridcrew.platform.service import RunService

router = APIRouter(tags=["mcp"])
PATH = "/mcp"


class _Handover(Response):
    """A response that hands the request, unread, to an ASGI app (the MCP SDK's)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


@router.api_route(PATH, methods=["GET", "POST", "DELETE"], include_in_schema=False)
async def mcp_endpoint(request: Request, caller: Viewer) -> Response:
    """MCP over streamable HTTP (tools act as the key's tenant and role)."""
    request.state.caller = caller
    return _Handover(request.app.state.mcp_app)


def _caller(ctx: Context) -> Caller:
    caller: Caller = ctx.request_context.request.state.caller  # type: ignore[union-attr]
    return caller


def mcp_over_http(service: RunService, host: str) -> tuple[ASGIApp, MCPServer]:
    """The MCP server's ASGI app for ``service``, and the server (its lifespan runs sessions)."""
    server = build_mcp_server(service, _caller)
    # On loopback the SDK checks Host and Origin against DNS rebinding; elsewhere keys guard.
    return server.streamable_http_app(streamable_http_path=PATH, stateless_http=True,
                                      host=host), server


@asynccontextmanager
async def running(server: MCPServer) -> AsyncIterator[None]:
    """Serve MCP sessions while the gateway runs."""
    async with server.session_manager.run():
        yield
