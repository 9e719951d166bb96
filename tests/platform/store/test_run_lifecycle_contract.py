"""The store contract for run lifecycles: final states, one executor, charges counted once.

Run against every backend (SQLite and a real Redis 8), like the rest of the conformance suite.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from hybridcrew.platform.store import RunRow, Store


def _run(run_id: str, status: str = "queued", at: float | None = None) -> RunRow:
    at = time.time() if at is None else at
    return RunRow(run_id, "task", "delivery", status, at, at, f"/runs/{run_id}", {}, {}, "acme")


def test_a_run_ends_once_and_the_first_ending_wins(store: Store) -> None:
    store.create_run(_run("r1"))
    store.set_status("r1", "running")
    cancelled = store.end_run("r1", "cancelled", {"error": "cancelled"}, "run_cancelled", {})
    assert cancelled is not None
    assert cancelled.kind == "run_cancelled"
    # The last step finishing after the cancel changes nothing: no second terminal event.
    assert store.end_run("r1", "finished", {"approved": True}, "run_finished", {}) is None
    assert not store.set_status("r1", "running")
    assert not store.set_status("r1", "waiting", {"pending": {}})
    row = store.get_run("r1")
    assert (row.status, row.summary) == ("cancelled", {"error": "cancelled"})
    assert [e.kind for e in store.events("r1")] == ["run_cancelled"]


def test_failed_and_blocked_runs_reopen_only_to_running(store: Store) -> None:
    for run_id, status in (("f", "failed"), ("b", "blocked")):
        store.create_run(_run(run_id))
        assert store.end_run(run_id, status, {"error": "x"}, f"run_{status}", {}) is not None
        assert not store.set_status(run_id, "finished")
        assert store.set_status(run_id, "running")  # an explicit resume after a fix
        assert store.get_run(run_id).status == "running"
    store.create_run(_run("done"))
    store.end_run("done", "finished", {}, "run_finished", {})
    assert not store.set_status("done", "running")


def test_concurrent_endings_leave_exactly_one_terminal_event(open_store: Callable[[], Store]
                                                             ) -> None:
    store = open_store()
    store.create_run(_run("r1", status="running"))
    results: list[bool] = []

    def end(i: int) -> None:
        kind = ("run_finished", "run_cancelled")[i % 2]
        results.append(open_store().end_run("r1", kind[4:], {}, kind, {}) is not None)

    threads = [threading.Thread(target=end, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 1
    assert len(store.events("r1")) == 1


def test_one_lease_holder_at_a_time(store: Store) -> None:
    assert store.take_lease("r1", "gateway-1", 30)
    assert store.take_lease("r1", "gateway-1", 30)  # renewing one's own lease
    assert not store.take_lease("r1", "cli-2", 30)
    assert store.leased("r1")
    store.drop_lease("r1", "cli-2")  # not the holder: nothing happens
    assert not store.take_lease("r1", "cli-2", 30)
    store.drop_lease("r1", "gateway-1")
    assert not store.leased("r1")
    assert store.take_lease("r1", "cli-2", 30)


def test_an_expired_lease_can_be_taken_over(store: Store) -> None:
    assert store.take_lease("r1", "dead-worker", 0.2)
    assert not store.take_lease("r1", "other", 30)
    time.sleep(0.3)
    assert not store.leased("r1")
    assert store.take_lease("r1", "other", 30)


def test_orphans_are_unleased_runs_that_need_an_executor(store: Store) -> None:
    old = time.time() - 120
    store.create_run(_run("running-dead", "running", at=old))
    store.create_run(_run("running-live", "running", at=old))
    store.create_run(_run("queued-old", at=old))
    store.create_run(_run("queued-new"))
    store.create_run(_run("waiting", "waiting", at=old))
    store.create_run(_run("done", "finished", at=old))
    for run_id in ("running-dead", "running-live"):
        store.set_status(run_id, "running")
    assert store.take_lease("running-live", "worker-1", 30)
    orphans = [r.id for r in store.orphaned_runs(stale_after_s=60)]
    assert sorted(orphans) == ["queued-old", "running-dead"]


def test_a_charge_is_counted_once(store: Store) -> None:
    assert store.spend("daily:acme", 0.25, charge_id="r1/plan@0")
    assert store.spend("daily:acme", 0.25, charge_id="r1/plan@0")  # a replayed step
    assert store.spend("daily:acme", 0.5, charge_id="r1/qa@0")
    assert abs(store.spent("daily:acme") - 0.75) < 1e-9
    # A charge refused by the cap is not remembered: it may be made once there is room.
    assert not store.spend("daily:acme", 1.0, cap_usd=1.0, charge_id="r2/plan@0")
    assert store.spend("daily:acme", 0.25, cap_usd=1.0, charge_id="r2/plan@0")
    assert abs(store.spent("daily:acme") - 1.0) < 1e-9


def test_leases_are_renewed_together_and_a_lapsed_one_is_lost(store: Store) -> None:
    assert store.take_lease("mine", "gw", 30)
    assert store.take_lease("short", "gw", 0.2)
    assert store.take_lease("theirs", "other", 30)
    time.sleep(0.3)
    kept = store.renew_leases(["mine", "short", "theirs", "never"], "gw", 30)
    assert kept == {"mine"}
    assert store.renew_leases([], "gw", 30) == set()
    assert not store.take_lease("mine", "other", 30)  # still held after the renewal
