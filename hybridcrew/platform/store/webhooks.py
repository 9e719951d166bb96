"""What the store keeps for webhooks: subscriptions, and deliveries queued until they land.

A delivery is written in the same transaction as the event it reports (where the backend has
transactions), so it is never lost to a crash between the two; it stays queued in the store
until the receiver accepts it or its retry window ends, whichever process sends it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Literal

DeliveryStatus = Literal["pending", "delivered", "failed"]


@dataclass(frozen=True)
class Webhook:
    """A tenant's subscription: where to send which run events, and the secret that signs them."""

    id: str
    tenant: str
    url: str
    events: tuple[str, ...]
    secret: str
    created_at: float


@dataclass(frozen=True)
class Attempt:
    """One try to deliver: when, the receiver's HTTP status (None: no answer), why it failed."""

    number: int
    at: float
    status_code: int | None
    error: str
    seconds: float


@dataclass(frozen=True)
class Delivery:
    """One event for one subscription. Its id is the idempotency id every attempt carries."""

    id: str
    webhook_id: str
    tenant: str
    event: str
    body: str
    created_at: float
    status: DeliveryStatus = "pending"
    next_at: float = 0.0
    attempts: tuple[Attempt, ...] = field(default=())


KEPT_DELIVERIES = 1000
"""Deliveries a store keeps per subscription once sent or given up (the newest)."""


class WebhookLog(ABC):
    """The webhook part of the store contract (the conformance suite checks it)."""

    @abstractmethod
    def add_webhook(self, hook: Webhook) -> None:
        """Register a subscription."""

    @abstractmethod
    def webhooks(self, tenant: str | None = None) -> list[Webhook]:
        """Subscriptions, oldest first (one tenant's, or every tenant's)."""

    @abstractmethod
    def remove_webhook(self, tenant: str, webhook_id: str) -> bool:
        """Delete a tenant's subscription; False if it has none with that id."""

    @abstractmethod
    def enqueue_deliveries(self, deliveries: list[Delivery]) -> None:
        """Queue deliveries (due at their ``next_at``)."""

    @abstractmethod
    def claim_deliveries(self, now: float, holder: str, lease_s: float, limit: int
                         ) -> list[Delivery]:
        """Up to ``limit`` pending deliveries due by ``now`` that no live claim holds.

        Claimed for ``lease_s``: another sender takes them only once the claim lapses (its
        process died mid-delivery), so a delivery is sent at least once and normally once.
        """

    @abstractmethod
    def record_attempt(self, delivery_id: str, attempt: Attempt, status: DeliveryStatus,
                       next_at: float) -> None:
        """Log an attempt, set the delivery's status (pending: due again at ``next_at``)."""

    @abstractmethod
    def deliveries(self, webhook_id: str, limit: int = 50) -> list[Delivery]:
        """A subscription's deliveries with their attempts, newest first."""
