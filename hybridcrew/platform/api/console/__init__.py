"""The web console: server-rendered pages under ``/ui`` over the gateway's own service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from hybridcrew.platform.api.console import crew, runs
from hybridcrew.platform.api.console.session import PREFIX, ConsoleHeaders

__all__ = ["install_console"]


def install_console(app: FastAPI) -> None:
    """Serve the console's pages and its static files (no CDN: everything from here)."""
    app.include_router(runs.router)
    app.include_router(crew.router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=Path(__file__).parent / "static"),
              name="console-static")
    app.add_middleware(ConsoleHeaders)
