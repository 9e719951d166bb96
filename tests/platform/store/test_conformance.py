"""The store contract, run against every backend (SQLite and a real Redis 8)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest

from hybridcrew.graphs.ports import OUTCOME_CHARS, StepText
from hybridcrew.platform.store import ApiKey, KeyLimits, RunExists, RunNotFound, RunRow, Store


def _run(run_id: str, *, tenant: str = "acme", status: str = "queued", at: float = 1.0
         ) -> RunRow:
    return RunRow(run_id, f"task {run_id}", "delivery", status, at, at, f"/runs/{run_id}",
                  {"labels": ["internal"]}, {}, tenant)


def _parallel(workers: int, work: Callable[[int], None]) -> None:
    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_a_run_round_trips_and_is_tenant_scoped(store: Store) -> None:
    store.create_run(_run("r1"))
    assert store.get_run("r1") == _run("r1")
    assert store.get_run("r1", tenant="acme").task == "task r1"
    with pytest.raises(RunNotFound):
        store.get_run("r1", tenant="other")
    with pytest.raises(RunNotFound, match="no run 'nope'"):
        store.get_run("nope")


def test_a_taken_run_id_is_refused_and_the_stored_run_stays(store: Store) -> None:
    store.create_run(_run("r1"))
    store.set_status("r1", "running")
    with pytest.raises(RunExists, match="'r1' exists already"):
        store.create_run(_run("r1", tenant="beta"))
    assert store.get_run("r1", tenant="acme").status == "running"
    assert [run.id for run in store.list_runs()] == ["r1"]


def test_status_and_summary_change_together(store: Store) -> None:
    store.create_run(_run("r1"))
    store.set_status("r1", "running")
    assert store.get_run("r1").summary == {}
    store.set_status("r1", "finished", {"approved": True, "totals": {"cost_usd": 0.5}})
    row = store.get_run("r1")
    assert (row.status, row.summary["totals"]["cost_usd"]) == ("finished", 0.5)
    assert row.updated_at > row.created_at


def test_listing_filters_orders_and_pages(store: Store) -> None:
    for i in range(7):
        store.create_run(_run(f"r{i}", tenant="acme" if i % 2 else "beta", at=100.0 + i))
    store.set_status("r5", "finished")
    store.set_status("r3", "finished")
    assert [r.id for r in store.list_runs()] == ["r6", "r5", "r4", "r3", "r2", "r1", "r0"]
    assert [r.id for r in store.list_runs(tenant="acme")] == ["r5", "r3", "r1"]
    assert [r.id for r in store.list_runs(status="finished")] == ["r5", "r3"]
    assert [r.id for r in store.list_runs(tenant="acme", status="queued")] == ["r1"]
    assert [r.id for r in store.list_runs(limit=2, offset=2)] == ["r4", "r3"]
    assert store.list_runs(tenant="nobody") == []


def test_events_are_numbered_without_gaps_under_concurrency(open_store: Callable[[], Store]
                                                             ) -> None:
    first, second = open_store(), open_store()  # two clients: two processes or hosts

    def append(i: int) -> None:
        client = first if i % 2 else second
        for n in range(25):
            client.append_event("r1", "step_finished", f"node{i}", {"i": i, "n": n})

    _parallel(6, append)
    events = first.events("r1")
    assert [e.seq for e in events] == list(range(1, 151))
    for i in range(6):  # each writer's own events stay in its order
        assert [e.data["n"] for e in events if e.node == f"node{i}"] == list(range(25))
    assert [e.seq for e in second.events("r1", after=148)] == [149, 150]
    assert [e.seq for e in first.events("r1", after=10, limit=3)] == [11, 12, 13]
    assert first.events("other") == []


def test_an_event_keeps_its_fields(store: Store) -> None:
    sent = store.append_event("r1", "step_started", "backend", {"model": "m", "tokens": 3})
    (got,) = store.events("r1")
    assert got == sent
    assert (got.kind, got.node, got.data) == ("step_started", "backend", {"model": "m",
                                                                          "tokens": 3})


def test_first_recorded_decision_wins(store: Store) -> None:
    assert store.decision("r1", "plan@0") is None
    store.append_event("r1", "step_started", "plan", {}, ("plan@0", {"model": "first"}))
    store.append_event("r1", "step_started", "plan", {}, ("plan@0", {"model": "replayed"}))
    assert store.decision("r1", "plan@0") == {"model": "first"}
    assert store.decision("r2", "plan@0") is None


def test_writes_in_a_transaction_are_all_there_after_it(store: Store) -> None:
    with store.transaction():
        store.record_step_text("r1", "plan@0", StepText("m", "cto", "plan", "plan it"))
        with store.transaction():  # nested: part of the outer one
            assert store.spend("daily:x", 0.5, charge_id="r1/plan@0")
        first = store.append_event("r1", "step_finished", "plan", {"cost": 0.5})
        second = store.append_event("r1", "verdict", "qa", {}, ("qa@0", {"model": "m"}))
    assert [e.seq for e in store.events("r1")] == [first.seq, second.seq] == [1, 2]
    assert store.spent("daily:x") == 0.5
    assert store.decision("r1", "qa@0") == {"model": "m"}
    store.record_outcome("r1", "plan@0", True)
    assert store.judged_total() == 1


def test_writes_from_an_event_loop_land_once_as_one_transaction(store: Store) -> None:
    def register(run_id: str) -> int:
        store.create_run(_run(run_id))
        return store.append_event(run_id, "run_started", None, {}).seq

    async def from_a_loop() -> list[int]:
        return [await store.awrite(register, "r1"), await store.awrite(register, "r2")]

    assert asyncio.run(from_a_loop()) == [1, 1]
    assert [store.get_run(r).status for r in ("r1", "r2")] == ["queued", "queued"]
    assert [len(store.events(r)) for r in ("r1", "r2")] == [1, 1]


def test_a_decision_kept_without_an_event_is_found_and_first_wins(store: Store) -> None:
    store.record_decision("proxy:acme", "d1", {"model": "first"})
    store.record_decision("proxy:acme", "d1", {"model": "second"})
    assert store.decision("proxy:acme", "d1") == {"model": "first"}
    assert store.decision("proxy:other", "d1") is None


def test_a_conversation_taint_only_goes_up_and_is_per_tenant(store: Store) -> None:
    assert store.conversation_taint("acme", "c1") == 0
    store.taint_conversation("acme", "c1", 3)
    store.taint_conversation("acme", "c1", 1)
    assert store.conversation_taint("acme", "c1") == 3
    assert store.conversation_taint("other", "c1") == 0


def test_rate_windows_count_per_name_and_window(open_store: Callable[[], Store]) -> None:
    clients = [open_store(), open_store()]
    totals: list[int] = []
    _parallel(4, lambda i: totals.extend(clients[i % 2].add_to_window("rpm:k1", 100, 1)
                                         for _ in range(5)))
    assert sorted(totals) == list(range(1, 21)), "every addition sees its own total"
    assert clients[0].add_to_window("rpm:k1", 101, 7) == 7, "a new window starts at zero"
    assert clients[1].add_to_window("rpm:k2", 101, 3) == 3


def test_concurrent_spenders_never_pass_the_cap(open_store: Callable[[], Store]) -> None:
    clients = [open_store(), open_store()]
    accepted: list[bool] = []

    def spend(i: int) -> None:
        for _ in range(5):
            accepted.append(clients[i % 2].spend("daily:2026-11-23", 0.25, cap_usd=3.0))

    _parallel(4, spend)
    assert accepted.count(True) == 12
    assert clients[0].spent("daily:2026-11-23") == pytest.approx(3.0)
    assert clients[0].spend("daily:2026-11-23", 0.0, cap_usd=3.0)
    assert clients[1].spend("other", 0.1)
    assert clients[1].spend("other", 0.2)
    assert clients[1].spent("other") == pytest.approx(0.3)
    assert clients[1].spent("never") == 0.0


def test_verdicts_are_counted_per_model_and_agent(store: Store) -> None:
    for approved in (True, False, True):
        store.record_verdict("gemma", "backend", approved)
    store.record_verdict("claude", "backend", False)
    assert store.verdicts() == {("gemma", "backend"): (2, 3), ("claude", "backend"): (0, 1)}


def test_judged_steps_are_kept_for_learning_and_judged_once(store: Store) -> None:
    store.record_step_text("r1", "backend@0", StepText("gemma", "backend", "implement",
                                                       "x" * (OUTCOME_CHARS + 10)))
    store.record_step_text("r1", "qa@0", StepText("claude", "qa", "review", "check it"))
    assert store.judged_steps() == []
    store.record_outcome("r1", "backend@0", False, weight=3)
    store.record_outcome("r1", "backend@0", True)
    store.record_outcome("r1", "never@0", True)
    [judged] = store.judged_steps()
    assert (judged.step.model, judged.step.agent, judged.step.step) == (
        "gemma", "backend", "implement")
    assert (judged.success, judged.weight) == (False, 3), "judged once: the first judgement"
    assert len(judged.step.text) == OUTCOME_CHARS
    assert store.judged_total() == 1
    # Run again after a crash: the step is kept anew, then judged.
    store.record_step_text("r1", "qa@0", StepText("claude", "qa", "review", "check it again"))
    store.record_outcome("r1", "qa@0", True)
    assert [(j.step.text[:14], j.success) for j in store.judged_steps()] == [
        ("x" * 14, False), ("check it again", True)]
    assert store.judged_total() == 2


def test_assignments_replace_earlier_ones(store: Store) -> None:
    store.set_assignment("backend", {"model": "auto", "candidates": ["a", "b"]})
    store.set_assignment("backend", {"model": "b"})
    store.set_assignment("qa", {"model": "a"})
    assert store.assignments() == {"backend": {"model": "b"}, "qa": {"model": "a"}}


def test_keys_are_listed_by_tenant_and_revoked_once(store: Store) -> None:
    store.add_key(ApiKey("k1", "d1", "acme", "admin", "ci bot", 10.0))
    store.add_key(ApiKey("k2", "d2", "beta", "viewer", "grafana", 20.0))
    assert [k.id for k in store.list_keys()] == ["k1", "k2"]
    assert [k.id for k in store.list_keys("beta")] == ["k2"]
    assert store.get_key("k1") == ApiKey("k1", "d1", "acme", "admin", "ci bot", 10.0)
    assert store.revoke_key("k1", at=30.0)
    assert store.revoke_key("k1", at=40.0)
    assert store.get_key("k1").revoked_at == 30.0  # type: ignore[union-attr]
    assert not store.revoke_key("nope", at=1.0)
    assert store.get_key("nope") is None


def test_a_key_keeps_its_own_rate_limits(store: Store) -> None:
    store.add_key(ApiKey("k1", "d1", "acme", "operator", "aider", 10.0, limits=KeyLimits(60)))
    assert store.get_key("k1").limits == KeyLimits(60, None)  # type: ignore[union-attr]
    assert store.set_key_limits("k1", KeyLimits(None, 0))
    assert store.list_keys()[0].limits == KeyLimits(None, 0)
    assert not store.set_key_limits("nope", KeyLimits(1, 1))


def test_slots_are_limited_released_and_expire(open_store: Callable[[], Store]) -> None:
    first, second = open_store(), open_store()
    assert first.acquire_slot("ollama", "w1", limit=2, ttl_s=30)
    assert second.acquire_slot("ollama", "w2", limit=2, ttl_s=30)
    assert not first.acquire_slot("ollama", "w3", limit=2, ttl_s=30)
    assert first.acquire_slot("ollama", "w1", limit=2, ttl_s=30)  # a holder refreshes
    assert second.slots_in_use("ollama") == 2
    second.release_slot("ollama", "w2")
    assert first.acquire_slot("ollama", "w3", limit=2, ttl_s=0.2)
    time.sleep(0.35)  # w3 died without releasing: its slot frees itself
    assert first.slots_in_use("ollama") == 1
    assert second.acquire_slot("ollama", "w4", limit=2, ttl_s=30)
    second.release_slot("ollama", "nobody")


def test_a_store_answers_ping(store: Store) -> None:
    store.ping()
