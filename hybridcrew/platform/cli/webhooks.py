"""``hybridcrew webhooks``: subscribe receivers to run events, and see every delivery attempt."""

from __future__ import annotations

import json
import secrets
import time
from typing import Annotated

import typer
from rich.table import Table

from hybridcrew.errors import ConfigError
from hybridcrew.graphs.lifecycle import EventKind
from hybridcrew.graphs.ports import DEFAULT_TENANT
from hybridcrew.platform.cli.app import console, friendly_errors, settings_and_config
from hybridcrew.platform.store import open_store
from hybridcrew.platform.store.webhooks import Webhook
from hybridcrew.platform.webhooks import check_secret, check_url, new_secret

webhooks_app = typer.Typer(help="Webhooks: run events POSTed to your receivers, signed.",
                           no_args_is_help=True)
Tenant = Annotated[str, typer.Option(help="the tenant whose runs are reported")]
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


@webhooks_app.command("add")
@friendly_errors
def add(url: str,
        event: Annotated[list[str], typer.Option(help="an event kind, or * for every kind "
                                                 "(repeat the option)")],
        tenant: Tenant = DEFAULT_TENANT,
        secret: Annotated[str | None, typer.Option(help="whsec_<base64>; generated when "
                                                   "absent")] = None) -> None:
    """Subscribe URL to run events; prints the id and the signing secret."""
    problems = []
    for check, value, where in ((check_url, url, "url"), (check_secret, secret, "secret")):
        try:
            if value is not None:
                check(value)
        except ValueError as exc:
            problems.append((where, str(exc)))
    kinds = [k for k in event if k != "*" and k not in set(EventKind)]
    if kinds:
        problems.append(("event", "unknown event kind; use * or one of: "
                         + ", ".join(EventKind)))
    if problems:
        where, problem = problems[0]
        raise ConfigError.single("webhooks add", where, problem,
                                 "see `hybridcrew webhooks add --help`")
    hook = Webhook("wh_" + secrets.token_hex(8), tenant, url, tuple(dict.fromkeys(event)),
                   secret or new_secret(), time.time())
    settings, _ = settings_and_config()
    open_store(settings).add_webhook(hook)
    console.print(f"webhook {hook.id}: {', '.join(hook.events)} of tenant {tenant}")
    console.print(f"signing secret (shown once): {hook.secret}")


@webhooks_app.command("list")
@friendly_errors
def list_webhooks(tenant: Annotated[str | None, typer.Option(help="one tenant's")] = None,
                  as_json: JsonOption = False) -> None:
    """Subscriptions (never their secrets)."""
    settings, _ = settings_and_config()
    hooks = open_store(settings).webhooks(tenant)
    if as_json:
        typer.echo(json.dumps([{"id": h.id, "tenant": h.tenant, "url": h.url,
                                "events": list(h.events), "created_at": h.created_at}
                               for h in hooks]))
        return
    table = Table("id", "tenant", "url", "events", "created", title="webhooks")
    for h in hooks:
        table.add_row(h.id, h.tenant, h.url, ", ".join(h.events), _when(h.created_at))
    console.print(table)


@webhooks_app.command("remove")
@friendly_errors
def remove(webhook_id: str, tenant: Tenant = DEFAULT_TENANT) -> None:
    """Unsubscribe; pending deliveries are given up."""
    settings, _ = settings_and_config()
    if not open_store(settings).remove_webhook(tenant, webhook_id):
        raise ConfigError.single("webhooks", "webhook_id", "no webhook with that id for the "
                                 "tenant", "see `hybridcrew webhooks list`")
    console.print(f"webhook {webhook_id} removed")


@webhooks_app.command("deliveries")
@friendly_errors
def deliveries(webhook_id: str, as_json: JsonOption = False) -> None:
    """A subscription's deliveries, newest first, with every attempt."""
    settings, _ = settings_and_config()
    found = open_store(settings).deliveries(webhook_id)
    if as_json:
        typer.echo(json.dumps([{"id": d.id, "event": d.event, "status": d.status,
                                "attempts": [vars(a) for a in d.attempts]} for d in found]))
        return
    table = Table("delivery", "event", "status", "attempts", "last", title=webhook_id)
    for d in found:
        last = d.attempts[-1] if d.attempts else None
        table.add_row(d.id, d.event, d.status, str(len(d.attempts)),
                      "" if last is None else f"{_when(last.at)} "
                      f"{last.status_code or ''} {last.error}".strip())
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``webhooks`` to the root app."""
    app.add_typer(webhooks_app, name="webhooks")
