"""A real gateway for tests: uvicorn serving ``create_app`` on a free loopback port."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from hybridcrew.platform.api import create_app
from hybridcrew.platform.store import Store
from hybridcrew.settings import load_settings
from tests.support.configs import config_from
from tests.support.ports import free_port
from tests.support.processes import until


@contextmanager
def gateway(config: dict[str, Any], store: Store | None = None,
            on_app: Callable[[FastAPI], None] | None = None, **settings: Any) -> Iterator[str]:
    """Serve a gateway for ``config`` (a hybridcrew.yaml as a dict); yield its base URL.

    ``on_app`` receives the app, for tests that look at the service's state.
    """
    app = create_app(load_settings(**settings), config_from(config), store)
    if on_app is not None:
        on_app(app)
    with served(app) as base:
        app.state.service.crew.runtime.signals.refresh()  # probe once: scripted models are up
        yield base


@contextmanager
def served(app: Any) -> Iterator[str]:
    """Serve any ASGI app (its lifespan included) on a free loopback port; yield its URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    until(lambda: server.started or not thread.is_alive(), "the server to start", timeout=20)
    if not server.started:
        raise RuntimeError("the server did not start (its thread ended)")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def wait_status(client: httpx.Client, run_id: str, statuses: set[str], timeout: float = 30
                ) -> dict[str, Any]:
    """Poll a run until it has one of ``statuses``."""
    body: dict[str, Any] = {}

    def reached() -> bool:
        body.update(client.get(f"/v1/runs/{run_id}").json())
        return body.get("status") in statuses

    until(reached, f"run {run_id} to become one of {sorted(statuses)}", timeout=timeout)
    return body
