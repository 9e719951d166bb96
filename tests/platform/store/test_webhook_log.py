"""The webhook part of the store contract, against every backend (SQLite and a real Redis 8)."""

from __future__ import annotations

from collections.abc import Callable

from hybridcrew.platform.store import Store
from hybridcrew.platform.store.webhooks import Attempt, Delivery, Webhook


def _hook(hook_id: str, tenant: str = "acme", at: float = 1.0) -> Webhook:
    return Webhook(hook_id, tenant, "http://127.0.0.1:9/hook", ("run_finished",), "whsec_x", at)


def _delivery(delivery_id: str, hook: str = "w1", at: float = 10.0) -> Delivery:
    return Delivery(delivery_id, hook, "acme", "run_finished", '{"type": "run_finished"}',
                    created_at=at, next_at=at)


def test_subscriptions_are_kept_per_tenant_and_removed_by_their_tenant(store: Store) -> None:
    store.add_webhook(_hook("w1"))
    store.add_webhook(_hook("w2", tenant="beta", at=2.0))
    assert [h.id for h in store.webhooks()] == ["w1", "w2"]
    assert store.webhooks("acme") == [_hook("w1")]
    assert not store.remove_webhook("beta", "w1"), "another tenant's subscription stays"
    assert store.remove_webhook("acme", "w1")
    assert [h.id for h in store.webhooks()] == ["w2"]


def test_a_due_delivery_is_claimed_once_until_its_claim_lapses(
        open_store: Callable[[], Store]) -> None:
    one, two = open_store(), open_store()
    one.enqueue_deliveries([_delivery("d1"), _delivery("d2", at=50.0)])
    assert [d.id for d in one.claim_deliveries(20.0, "a", 30.0, 10)] == ["d1"]
    assert two.claim_deliveries(21.0, "b", 30.0, 10) == [], "claimed, and d2 is not due"
    # The first sender died: once its claim lapses another takes the delivery over.
    assert sorted(d.id for d in two.claim_deliveries(51.0, "b", 30.0, 10)) == ["d1", "d2"]


def test_attempts_are_logged_and_a_retry_is_due_again(store: Store) -> None:
    store.enqueue_deliveries([_delivery("d1")])
    store.claim_deliveries(10.0, "a", 30.0, 10)
    store.record_attempt("d1", Attempt(1, 10.0, 500, "HTTP 500", 0.01), "pending", 15.0)
    assert store.claim_deliveries(14.0, "a", 30.0, 10) == []
    (again,) = store.claim_deliveries(15.0, "a", 30.0, 10)
    assert again.attempts == (Attempt(1, 10.0, 500, "HTTP 500", 0.01),)
    store.record_attempt("d1", Attempt(2, 15.0, 204, "", 0.01), "delivered", 15.0)
    assert store.claim_deliveries(100.0, "a", 30.0, 10) == []
    (done,) = store.deliveries("w1")
    assert (done.status, [a.status_code for a in done.attempts]) == ("delivered", [500, 204])


def test_a_delivery_is_queued_once_per_id(store: Store) -> None:
    store.enqueue_deliveries([_delivery("d1")])
    store.enqueue_deliveries([_delivery("d1")])
    assert [d.id for d in store.claim_deliveries(10.0, "a", 30.0, 10)] == ["d1"]
    assert [d.id for d in store.deliveries("w1")] == ["d1"]
