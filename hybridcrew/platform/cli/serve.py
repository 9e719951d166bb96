"""``hybridcrew serve`` (the gateway), ``hybridcrew worker`` and ``hybridcrew keys``."""

from __future__ import annotations

import gc
import json
import logging
import signal
import time
from typing import Annotated

import typer
import uvicorn
from rich.table import Table

from hybridcrew.errors import ConfigError
from hybridcrew.platform.api import create_app
from hybridcrew.platform.cli.app import console, friendly_errors, settings_and_config
from hybridcrew.platform.keys import (
    create_key,
    ensure_admin_token,
    has_active_keys,
    is_loopback,
)
from hybridcrew.platform.store import ROLES, open_store
from hybridcrew.platform.worker import Worker

STREAMS_GRACE_S = 3
keys_app = typer.Typer(help="API keys of the gateway (each bound to a tenant and a role).",
                       no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable output")]


@friendly_errors
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on [HYBRIDCREW_API_HOST]")
                    ] = None,
    port: Annotated[int | None, typer.Option(help="port [HYBRIDCREW_API_PORT]")] = None,
) -> None:
    """Run the HTTP gateway (REST API, SSE event streams, /metrics)."""
    settings, config = settings_and_config()
    host = host or settings.api_host
    port = port or settings.api_port
    store = open_store(settings)
    if settings.admin_token is not None:
        ensure_admin_token(store, settings.admin_token.get_secret_value())
    if not is_loopback(host) and not has_active_keys(store):
        raise ConfigError.single(
            "serve", "--host", f"refusing to listen on {host}: no API key exists, so anyone "
            "who can reach it could run the crew",
            "create a key first (`hybridcrew keys create --tenant NAME --role admin`, or set "
            "HYBRIDCREW_ADMIN_TOKEN), or listen on 127.0.0.1")
    app = create_app(settings, config, store)
    # Long-lived objects (modules, configuration, graphs) leave the collector's reach, and young
    # collections run less often: full collections otherwise pause every request for 50-150 ms.
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)
    console.print(f"hybridcrew gateway on http://{host}:{port} (API docs at /docs)")
    # On SIGTERM, open event streams get a few seconds (clients resume with Last-Event-ID
    # elsewhere), then the run pool gets HYBRIDCREW_SHUTDOWN_GRACE_S (see RunService.close).
    uvicorn.run(app, host=host, port=port, log_level="info",
                timeout_graceful_shutdown=STREAMS_GRACE_S)


@friendly_errors
def worker(
    name: Annotated[str | None, typer.Option(help="consumer name (default: host-pid)")] = None,
) -> None:
    """Take runs from the Redis queue and drive them (start as many as you like, anywhere)."""
    settings, config = settings_and_config()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    consumer = Worker(config, settings, name)
    signal.signal(signal.SIGTERM, lambda *_: consumer.stopping.set())
    console.print(f"worker {consumer.name} waiting for runs")
    try:
        consumer.run()
    except KeyboardInterrupt:
        consumer.stopping.set()


@keys_app.command("create")
@friendly_errors
def create(
    tenant: Annotated[str, typer.Option(help="tenant the key acts for")],
    role: Annotated[str, typer.Option(help=" | ".join(ROLES))] = "operator",
    name: Annotated[str, typer.Option(help="what the key is for")] = "",
    as_json: JsonOption = False,
) -> None:
    """Create a key; its token is printed once and never stored."""
    settings, _ = settings_and_config()
    key, token = create_key(open_store(settings), tenant, role, name)
    if as_json:
        typer.echo(json.dumps({"id": key.id, "tenant": key.tenant, "role": key.role,
                               "token": token}))
        return
    console.print(f"key {key.id} for tenant {key.tenant} ({key.role}):\n{token}\n"
                  "Store it now: it cannot be shown again.")


@keys_app.command("list")
@friendly_errors
def list_keys(tenant: Annotated[str | None, typer.Option(help="one tenant's keys")] = None,
              as_json: JsonOption = False) -> None:
    """Keys (never their tokens)."""
    settings, _ = settings_and_config()
    keys = open_store(settings).list_keys(tenant)
    if as_json:
        typer.echo(json.dumps([{"id": k.id, "tenant": k.tenant, "role": k.role, "name": k.name,
                                "created_at": k.created_at, "revoked": k.revoked_at is not None}
                               for k in keys]))
        return
    table = Table("id", "tenant", "role", "name", "created", "state", title="API keys")
    for k in keys:
        table.add_row(k.id, k.tenant, k.role, k.name,
                      time.strftime("%Y-%m-%d %H:%M", time.localtime(k.created_at)),
                      "revoked" if k.revoked_at else "active")
    console.print(table)


@keys_app.command("revoke")
@friendly_errors
def revoke(key_id: str) -> None:
    """Revoke a key: requests with it are refused from now on."""
    settings, _ = settings_and_config()
    if not open_store(settings).revoke_key(key_id, time.time()):
        raise ConfigError.single("keys", key_id, f"no key '{key_id}'",
                                 "see `hybridcrew keys list`")
    console.print(f"key {key_id} revoked")


def register(app: typer.Typer) -> None:
    """Add ``serve`` and ``keys`` to the root app."""
    app.command()(serve)
    app.command()(worker)
    app.add_typer(keys_app, name="keys")
