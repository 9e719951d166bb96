"""``hybridcrew keys``: API keys of the gateway, each bound to a tenant, a role and its limits."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer
from rich.table import Table

from hybridcrew.errors import ConfigError
from hybridcrew.platform.cli.app import console, friendly_errors, settings_and_config
from hybridcrew.platform.keys import create_key
from hybridcrew.platform.store import ROLES, ApiKey, KeyLimits, open_store

keys_app = typer.Typer(help="API keys of the gateway (each bound to a tenant and a role).",
                       no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable output")]
Requests = Annotated[int | None, typer.Option(
    min=0, help="this key's calls per minute on the compatible endpoints (0: no limit; "
                "absent: the gateway's HYBRIDCREW_PROXY_REQUESTS_PER_MINUTE)")]
Tokens = Annotated[int | None, typer.Option(
    min=0, help="this key's tokens (in and out) per minute (0: no limit; absent: the "
                "gateway's HYBRIDCREW_PROXY_TOKENS_PER_MINUTE)")]


@keys_app.command("create")
@friendly_errors
def create(
    tenant: Annotated[str, typer.Option(help="tenant the key acts for")],
    role: Annotated[str, typer.Option(help=" | ".join(ROLES))] = "operator",
    name: Annotated[str, typer.Option(help="what the key is for")] = "",
    requests_per_minute: Requests = None,
    tokens_per_minute: Tokens = None,
    as_json: JsonOption = False,
) -> None:
    """Create a key; its token is printed once and never stored."""
    settings, _ = settings_and_config()
    key, token = create_key(open_store(settings), tenant, role, name,
                            KeyLimits(requests_per_minute, tokens_per_minute))
    if as_json:
        typer.echo(json.dumps({"id": key.id, "tenant": key.tenant, "role": key.role,
                               "token": token}))
        return
    console.print(f"key {key.id} for tenant {key.tenant} ({key.role}):\n{token}\n"
                  "Store it now: it cannot be shown again.")


@keys_app.command("limit")
@friendly_errors
def limit(key_id: str, requests_per_minute: Requests = None, tokens_per_minute: Tokens = None,
          ) -> None:
    """Set a key's own rate limits (an option left out: the gateway's limit applies)."""
    settings, _ = settings_and_config()
    limits = KeyLimits(requests_per_minute, tokens_per_minute)
    if not open_store(settings).set_key_limits(key_id, limits):
        raise ConfigError.single("keys", "KEY_ID", "no such key", "see `hybridcrew keys list`")
    console.print(f"key {key_id}: {_limits(limits)}")


@keys_app.command("list")
@friendly_errors
def list_keys(tenant: Annotated[str | None, typer.Option(help="one tenant's keys")] = None,
              as_json: JsonOption = False) -> None:
    """Keys (never their tokens)."""
    settings, _ = settings_and_config()
    keys = open_store(settings).list_keys(tenant)
    if as_json:
        typer.echo(json.dumps([_as_json(k) for k in keys]))
        return
    table = Table("id", "tenant", "role", "name", "created", "limits", "state", title="API keys")
    for k in keys:
        table.add_row(k.id, k.tenant, k.role, k.name,
                      time.strftime("%Y-%m-%d %H:%M", time.localtime(k.created_at)),
                      _limits(k.limits), "revoked" if k.revoked_at else "active")
    console.print(table)


@keys_app.command("revoke")
@friendly_errors
def revoke(key_id: str) -> None:
    """Revoke a key: requests with it are refused from now on."""
    settings, _ = settings_and_config()
    if not open_store(settings).revoke_key(key_id, time.time()):
        raise ConfigError.single("keys", "KEY_ID", "no such key", "see `hybridcrew keys list`")
    console.print(f"key {key_id} revoked")


def _as_json(key: ApiKey) -> dict[str, object]:
    return {"id": key.id, "tenant": key.tenant, "role": key.role, "name": key.name,
            "created_at": key.created_at, "revoked": key.revoked_at is not None,
            "requests_per_minute": key.limits.requests_per_minute,
            "tokens_per_minute": key.limits.tokens_per_minute}


def _limits(limits: KeyLimits) -> str:
    def one(value: int | None, unit: str) -> str:
        if value is None:
            return f"gateway's {unit}/min"
        return f"{value} {unit}/min" if value else f"no {unit} limit"

    return (f"{one(limits.requests_per_minute, 'requests')}, "
            f"{one(limits.tokens_per_minute, 'tokens')}")


def register(app: typer.Typer) -> None:
    """Add ``keys`` to the root app."""
    app.add_typer(keys_app, name="keys")
