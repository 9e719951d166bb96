"""A real gateway for tests: uvicorn serving ``create_app`` on a free loopback port."""

from __future__ import annotations

import threading
import time
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


@contextmanager
def gateway(config: dict[str, Any], store: Store | None = None,
            on_app: Callable[[FastAPI], None] | None = None, **settings: Any) -> Iterator[str]:
    """Serve a gateway for ``config`` (a hybridcrew.yaml as a dict); yield its base URL.

    ``on_app`` receives the app, for tests that look at the service's state.
    """
    app = create_app(load_settings(**settings), config_from(config), store)
    if on_app is not None:
        on_app(app)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the gateway did not start")
        time.sleep(0.02)
    app.state.service.crew.runtime.signals.refresh()  # probe once: scripted models are up
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def wait_status(client: httpx.Client, run_id: str, statuses: set[str], timeout: float = 30
                ) -> dict[str, Any]:
    """Poll a run until it has one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(f"/v1/runs/{run_id}").json()
        if body.get("status") in statuses:
            return body
        assert time.monotonic() < deadline, f"run {run_id} stayed {body.get('status')}"
        time.sleep(0.05)
