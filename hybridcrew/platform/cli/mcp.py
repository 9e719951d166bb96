"""``hybridcrew mcp``: the MCP server over stdio, for a client that starts it (Claude Desktop)."""

from __future__ import annotations

import logging

import anyio
import typer

from hybridcrew.errors import ConfigError
from hybridcrew.graphs.ports import DEFAULT_TENANT
from hybridcrew.platform.api.mcp import build_mcp_server
from hybridcrew.platform.cli.app import friendly_errors, settings_and_config
from hybridcrew.platform.keys import Caller, authenticate, has_active_keys
from hybridcrew.platform.service import RunService
from hybridcrew.platform.store import Store
from hybridcrew.settings import Settings


@friendly_errors
def mcp() -> None:
    """Serve MCP on stdin/stdout: runs, decisions, artifacts and memory as tools.

    Runs execute in this process, on the configuration and data dir a gateway would use;
    they survive it as any run does (a later process takes them over).
    """
    settings, config = settings_and_config()
    # stdout carries the protocol: log lines go to stderr (logging's default stream).
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    service = RunService(config, settings)
    caller = _caller(settings, service.store)
    server = build_mcp_server(service, lambda _: caller)

    async def serve() -> None:
        service.start()
        try:
            await server.run_stdio_async()
        finally:
            await service.aclose()

    anyio.run(serve)


def _caller(settings: Settings, store: Store) -> Caller:
    """Who the stdio server acts as: ``HYBRIDCREW_MCP_KEY``'s owner, or (no keys) the admin."""
    if settings.mcp_key is not None:
        return authenticate(store, settings.mcp_key.get_secret_value())
    if has_active_keys(store):
        raise ConfigError.single(
            "environment", "HYBRIDCREW_MCP_KEY", "API keys exist, so the MCP server needs one",
            "set HYBRIDCREW_MCP_KEY to a key from `hybridcrew keys create` (its tenant and "
            "role apply)")
    return Caller(DEFAULT_TENANT, "admin")


def register(app: typer.Typer) -> None:
    """Add ``mcp`` to the root app."""
    app.command()(mcp)
