"""The slot gate: per process, and shared across processes through the store (real Redis)."""

from __future__ import annotations

import threading
import time

import redis

from hybridcrew.platform.store.redis import RedisStore
from hybridcrew.routing.gate import SlotGate


def _hold(gate: SlotGate, started: threading.Event, release: threading.Event) -> threading.Thread:
    def work() -> None:
        with gate.slot("gpu"):
            started.set()
            release.wait(10)

    thread = threading.Thread(target=work)
    thread.start()
    assert started.wait(10)
    return thread


def _queued_call(gate: SlotGate, queued: threading.Event, done: threading.Event
                 ) -> threading.Thread:
    def work() -> None:
        with gate.slot("gpu", queued.set):
            done.set()

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def test_a_call_beyond_the_slots_waits_queued() -> None:
    gate = SlotGate({"gpu": 1})
    release, queued, done = threading.Event(), threading.Event(), threading.Event()
    holder = _hold(gate, threading.Event(), release)
    waiter = _queued_call(gate, queued, done)
    assert queued.wait(5)
    assert (gate.waiting["gpu"], gate.in_use["gpu"], done.is_set()) == (1, 1, False)
    release.set()
    for thread in (holder, waiter):
        thread.join(10)
    assert (gate.waiting["gpu"], gate.in_use["gpu"], done.is_set()) == (0, 0, True)
    with gate.slot("ungated"):  # endpoints without slots pass straight through
        pass


def test_slots_are_shared_by_processes_through_the_store(redis_url: str) -> None:
    redis.Redis.from_url(redis_url).flushdb()
    store = RedisStore(redis_url)
    # Two workers on one GPU box: each has its own gate, both share the store's slots.
    first = SlotGate({"gpu": 1}, RedisStore(redis_url), poll_s=0.01)
    second = SlotGate({"gpu": 1}, RedisStore(redis_url), poll_s=0.01)
    release, queued, done = threading.Event(), threading.Event(), threading.Event()
    holder = _hold(first, threading.Event(), release)
    assert store.slots_in_use("gpu") == 1
    waiter = _queued_call(second, queued, done)
    assert queued.wait(5), "the other worker's call waits for the shared slot"
    time.sleep(0.1)
    assert (second.waiting["gpu"], done.is_set()) == (1, False)
    release.set()
    for thread in (holder, waiter):
        thread.join(10)
    assert (second.waiting["gpu"], done.is_set()) == (0, True)
    assert store.slots_in_use("gpu") == 0
