"""Webhook subscriptions and deliveries in Redis.

A subscription is a hash, indexed in a set. A delivery is a JSON string; the pending ones sit in
a sorted set scored by when they are due, the claimed ones in another scored by when their
claim lapses (a script moves due ones from the first to the second, atomically); each
subscription's recent deliveries are listed in a sorted set by creation time.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from dataclasses import asdict, replace
from typing import Any, cast

import redis

from hybridcrew.platform.store.base import KEPT_S
from hybridcrew.platform.store.webhooks import (
    KEPT_DELIVERIES,
    Attempt,
    Delivery,
    DeliveryStatus,
    Webhook,
    WebhookLog,
)

_CLAIM = """
local now, limit = tonumber(ARGV[1]), tonumber(ARGV[3])
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, id in ipairs(lapsed) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[1], now, id)
end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), id)
end
return due
"""


class RedisWebhookLog(WebhookLog):
    """The webhook part of :class:`RedisStore`."""

    r: redis.Redis
    p: str

    @abstractmethod
    def _script(self, name: str, source: str) -> Any:
        """A registered Lua script (provided by the store)."""

    def add_webhook(self, hook: Webhook) -> None:
        """Register a subscription."""
        pipe = self.r.pipeline()
        pipe.hset(f"{self.p}webhook:{hook.id}", mapping={
            "id": hook.id, "tenant": hook.tenant, "url": hook.url,
            "events": json.dumps(hook.events), "secret": hook.secret,
            "created_at": repr(hook.created_at)})
        pipe.sadd(f"{self.p}webhooks", hook.id)
        pipe.execute()

    def webhooks(self, tenant: str | None = None) -> list[Webhook]:
        """Subscriptions, oldest first."""
        ids = sorted(cast(set[str], self.r.smembers(f"{self.p}webhooks")))
        pipe = self.r.pipeline()
        for hook_id in ids:
            pipe.hgetall(f"{self.p}webhook:{hook_id}")
        hooks = [Webhook(f["id"], f["tenant"], f["url"], tuple(json.loads(f["events"])),
                         f["secret"], float(f["created_at"])) for f in pipe.execute() if f]
        return sorted((h for h in hooks if tenant is None or h.tenant == tenant),
                      key=lambda h: (h.created_at, h.id))

    def remove_webhook(self, tenant: str, webhook_id: str) -> bool:
        """Delete a subscription (its pending deliveries are given up)."""
        key = f"{self.p}webhook:{webhook_id}"
        if self.r.hget(key, "tenant") != tenant:
            return False
        pipe = self.r.pipeline()
        pipe.delete(key)
        pipe.srem(f"{self.p}webhooks", webhook_id)
        pipe.execute()
        for delivery in self.deliveries(webhook_id, KEPT_DELIVERIES):
            if delivery.status == "pending":
                self._save(replace(delivery, status="failed"))
        return True

    def enqueue_deliveries(self, deliveries: list[Delivery]) -> None:
        """Queue deliveries (one transaction)."""
        pipe = self.r.pipeline()
        for d in deliveries:
            pipe.set(self._key(d.id), _dumps(d), ex=KEPT_S, nx=True)
            pipe.zadd(f"{self.p}deliveries:due", {d.id: d.next_at})
            pipe.zadd(f"{self.p}deliveries:of:{d.webhook_id}", {d.id: d.created_at})
            pipe.zremrangebyrank(f"{self.p}deliveries:of:{d.webhook_id}", 0,
                                 -KEPT_DELIVERIES - 1)
        pipe.execute()

    def claim_deliveries(self, now: float, holder: str, lease_s: float, limit: int
                         ) -> list[Delivery]:
        """Move due deliveries to the claimed set, atomically."""
        ids = self._script("claim", _CLAIM)(
            keys=[f"{self.p}deliveries:due", f"{self.p}deliveries:claimed"],
            args=[now, lease_s, limit])
        return [d for d in self._load(ids) if d.status == "pending"]

    def record_attempt(self, delivery_id: str, attempt: Attempt, status: DeliveryStatus,
                       next_at: float) -> None:
        """Log the attempt; a pending delivery is due again at ``next_at``."""
        found = self._load([delivery_id])
        if not found:
            return
        delivery = found[0]
        self._save(replace(delivery, status=status, next_at=next_at,
                           attempts=(*delivery.attempts, attempt)))
        pipe = self.r.pipeline()
        pipe.zrem(f"{self.p}deliveries:claimed", delivery_id)
        if status == "pending":
            pipe.zadd(f"{self.p}deliveries:due", {delivery_id: next_at})
        pipe.execute()

    def deliveries(self, webhook_id: str, limit: int = 50) -> list[Delivery]:
        """Newest first."""
        ids = self.r.zrevrange(f"{self.p}deliveries:of:{webhook_id}", 0, limit - 1)
        return self._load(cast(list[str], ids))

    def _key(self, delivery_id: str) -> str:
        return f"{self.p}delivery:{delivery_id}"

    def _save(self, delivery: Delivery) -> None:
        self.r.set(self._key(delivery.id), _dumps(delivery), ex=KEPT_S)

    def _load(self, ids: list[str]) -> list[Delivery]:
        if not ids:
            return []
        raw = cast(list[str | None], self.r.mget([self._key(i) for i in ids]))
        return [_loads(r) for r in raw if r]


def _dumps(delivery: Delivery) -> str:
    return json.dumps(asdict(delivery))


def _loads(raw: str) -> Delivery:
    data = json.loads(raw)
    data["attempts"] = tuple(Attempt(**a) for a in data["attempts"])
    return Delivery(**data)
