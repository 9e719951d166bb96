"""The HTTP gateway: ``create_app(settings)`` builds it, ``hybridcrew serve`` runs it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from hybridcrew import __version__
from hybridcrew.platform.api.access_log import install_access_log_filter
from hybridcrew.platform.api.console import install_console
from hybridcrew.platform.api.errors import install_error_handlers
from hybridcrew.platform.api.limits import BodyLimit
from hybridcrew.platform.api.routes import (
    agents,
    anthropic,
    decisions,
    events,
    health,
    mcp,
    memory,
    models,
    openai,
    runs,
    webhooks,
)
from hybridcrew.platform.service import RunService
from hybridcrew.platform.store import Store
from hybridcrew.routing.config import LoadedConfig, load_config
from hybridcrew.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings, config: LoadedConfig | None = None,
               store: Store | None = None) -> FastAPI:
    """The gateway for ``settings`` (and the configuration it names, unless given)."""
    service = RunService(config or load_config(settings.config), settings, store)
    mcp_app, mcp_server = mcp.mcp_over_http(service, settings.api_host)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        service.start()
        async with mcp.running(mcp_server):
            yield
        await service.aclose()

    app = FastAPI(title="hybridcrew", version=__version__, lifespan=lifespan,
                  description="A crew of software agents, routed per step between Claude and "
                              "local models. Authenticate with `Authorization: Bearer <key>`.")
    app.state.service = service
    app.state.mcp_app = mcp_app
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    for module in (runs, events, agents, models, decisions, openai, anthropic, webhooks,
                   memory, mcp, health):
        app.include_router(module.router)
    install_console(app)
    install_error_handlers(app, service.known_names())
    install_access_log_filter()
    return app
