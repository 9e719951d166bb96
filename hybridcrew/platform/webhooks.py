"""Webhooks: run events delivered to a tenant's receivers, signed, at least once.

Subscribing: ``POST /v1/webhooks`` or ``hybridcrew webhooks add`` (a URL, the event kinds, a
secret). When a run event of a subscribed kind is written, a delivery is queued in the store in
the same transaction (SQLite), so neither a crash nor a restart loses it. Every gateway sends
what is due: each delivery is claimed for a while (another gateway takes it only when the claim
lapses), POSTed as JSON, and retried with exponential backoff (first after
``HYBRIDCREW_WEBHOOK_FIRST_RETRY_S``, 5 s, then doubling, at most 10 min apart) until the
receiver answers 2xx or ``HYBRIDCREW_WEBHOOK_RETRY_HOURS`` have passed. A receiver that hangs
is cut off after ``HYBRIDCREW_WEBHOOK_TIMEOUT_S``; sending runs beside the runs and never holds
one up. Every attempt is logged: ``GET /v1/webhooks/{id}/deliveries``.

Signed as Standard Webhooks does it (standardwebhooks.com): headers ``webhook-id`` (the
delivery's idempotency id, the same on every retry), ``webhook-timestamp`` (Unix seconds) and
``webhook-signature: v1,<base64 HMAC-SHA256>`` over ``{id}.{timestamp}.{body}``, keyed with the
base64 part of the subscription's ``whsec_`` secret.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import secrets
import socket
import time
import urllib.parse
from collections.abc import Callable
from contextlib import suppress

import httpx

from hybridcrew.graphs.lifecycle import Event
from hybridcrew.platform.store import RunNotFound, Store
from hybridcrew.platform.store.webhooks import Attempt, Delivery, Webhook

log = logging.getLogger(__name__)
MAX_RETRY_S = 600.0
CLAIM_S = 120.0
BATCH = 16
IDLE_S = 1.0
MIN_SECRET_BYTES = 16
TENANTS_KEPT = 10_000
SUBSCRIPTIONS_FRESH_S = 2.0
"""A new or removed subscription applies to events within this many seconds."""


def check_url(url: str) -> None:
    """A receiver's URL must be http(s) with a host (ValueError names the rule, not the URL)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("the URL must start with http:// or https:// and name a host")


def check_secret(secret: str) -> None:
    """A signing secret must be ``whsec_`` and base64 of at least 16 bytes."""
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (ValueError, binascii.Error):
        key = b""
    if not secret.startswith("whsec_") or len(key) < MIN_SECRET_BYTES:
        raise ValueError("the secret must be whsec_ followed by base64 of at least 16 bytes "
                         "(leave it out and one is generated)")


def new_secret() -> str:
    """A signing secret in Standard Webhooks' form."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, delivery_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` header value for one delivery attempt."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{delivery_id}.{timestamp}.{body}".encode(), hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def retry_delay(attempts: int, first_s: float) -> float:
    """Seconds before attempt ``attempts + 1``: ``first_s``, twice that, … at most 10 minutes."""
    return float(min(first_s * 2 ** max(0, attempts - 1), MAX_RETRY_S))


class Webhooks:
    """Queues deliveries as events are written, and sends what is due."""

    def __init__(self, store: Store, *, timeout_s: float, first_retry_s: float,
                 retry_hours: float, clock: Callable[[], float] = time.time) -> None:
        self.store, self.timeout_s, self.clock = store, timeout_s, clock
        self.first_retry_s = first_retry_s
        self.retry_s = retry_hours * 3600
        self.holder = f"{socket.gethostname()}-{os.getpid()}"
        self._hooks: tuple[float, list[Webhook]] = (-1e9, [])
        self._tenants: dict[str, str] = {}
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None  # the sender's, once it runs

    # -- queueing (inside the event's transaction) ----------------------------------------------

    def active(self) -> bool:
        """Whether any subscription exists (read from the store every few seconds)."""
        return bool(self._subscriptions())

    def record(self, event: Event) -> None:
        """An event recorder: queue a delivery per subscription of the run's tenant."""
        hooks = self._subscriptions()
        if not hooks or event.run_id.startswith("proxy:"):
            return
        tenant = self._tenant(event.run_id)
        wanted = [h for h in hooks if h.tenant == tenant and (event.kind in h.events
                                                              or "*" in h.events)]
        if not wanted:
            return
        body = json.dumps({"type": event.kind, "run_id": event.run_id, "seq": event.seq,
                           "ts": event.ts, "node": event.node, "tenant": tenant,
                           "data": event.data})
        now = self.clock()
        self.store.enqueue_deliveries([
            Delivery(f"{event.run_id}.{event.seq}.{h.id}", h.id, tenant, event.kind, body,
                     created_at=now, next_at=now) for h in wanted])
        if self._loop is not None:  # (events are written on other threads too)
            self._loop.call_soon_threadsafe(self._wake.set)

    def forget_subscriptions(self) -> None:
        """Read subscriptions again at the next event (one was added or removed here)."""
        self._hooks = (-1e9, [])

    def _subscriptions(self) -> list[Webhook]:
        read_at, hooks = self._hooks
        if self.clock() - read_at > SUBSCRIPTIONS_FRESH_S:
            hooks = self.store.webhooks()
            self._hooks = (self.clock(), hooks)
        return hooks

    def _tenant(self, run_id: str) -> str:
        if run_id not in self._tenants:
            if len(self._tenants) > TENANTS_KEPT:  # bounded: runs come and go
                self._tenants.clear()
            try:
                self._tenants[run_id] = self.store.get_run(run_id).tenant
            except RunNotFound:
                return ""
        return self._tenants[run_id]

    # -- sending ---------------------------------------------------------------------------------

    async def run(self) -> None:
        """Send what is due, forever (a task on the gateway's event loop).

        The HTTP client is made when the first delivery is due: loading its TLS context takes
        ~0.1 s of CPU, which held the interpreter lock while a just-started gateway served its
        first requests (and a gateway without webhooks never needs it).
        """
        self._loop = asyncio.get_running_loop()
        http: httpx.AsyncClient | None = None
        try:
            while True:
                try:  # (a claim is a write: none while nobody subscribes)
                    due = self.store.claim_deliveries(self.clock(), self.holder, CLAIM_S,
                                                      BATCH) if self.active() else []
                    if due:  # the client is made for the first delivery (see above)
                        http = http or httpx.AsyncClient(timeout=self.timeout_s)
                        await asyncio.gather(*(self._send(http, d) for d in due))
                except Exception:  # the store may recover; the next round tries again
                    log.exception("webhook deliveries failed this round")
                    due = []
                if len(due) < BATCH:
                    self._wake.clear()
                    with suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), IDLE_S)
        finally:
            if http is not None:
                await http.aclose()

    async def _send(self, http: httpx.AsyncClient, delivery: Delivery) -> None:
        hook = next((h for h in self._subscriptions() if h.id == delivery.webhook_id), None)
        number = len(delivery.attempts) + 1
        started = self.clock()
        if hook is None:  # removed meanwhile
            attempt = Attempt(number, started, None, "subscription removed", 0.0)
            self.store.record_attempt(delivery.id, attempt, "failed", started)
            return
        stamp = int(started)
        headers = {"content-type": "application/json", "user-agent": "hybridcrew-webhooks",
                   "webhook-id": delivery.id, "webhook-timestamp": str(stamp),
                   "webhook-signature": sign(hook.secret, delivery.id, stamp, delivery.body)}
        code: int | None = None
        try:
            answer = await http.post(hook.url, content=delivery.body, headers=headers)
            code, error = answer.status_code, "" if answer.is_success else (
                f"HTTP {answer.status_code}")
        except httpx.TimeoutException:
            error = f"no answer within {self.timeout_s:g} s"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        elapsed = round(self.clock() - started, 3)
        attempt = Attempt(number, started, code, error, elapsed)
        if not error:
            self.store.record_attempt(delivery.id, attempt, "delivered", started)
            return
        again = started + retry_delay(number, self.first_retry_s)
        if again - delivery.created_at > self.retry_s:
            self.store.record_attempt(delivery.id, attempt, "failed", started)
        else:
            self.store.record_attempt(delivery.id, attempt, "pending", again)
