"""The webhook sender in-process: no HTTP client until a delivery is due."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from hybridcrew.graphs.lifecycle import Event, EventKind
from hybridcrew.platform.store import SqliteStore
from hybridcrew.platform.store.webhooks import Webhook
from hybridcrew.platform.webhooks import Webhooks, new_secret
from tests.support.replay import ReplayServer, Reply


def test_no_http_client_is_made_until_a_delivery_is_due(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # Making one loads a TLS context (~0.1 s of CPU on the run loop): a gateway that has no
    # subscriptions never pays it, and one that has pays it once, not at start.
    made: list[httpx.AsyncClient] = []

    class Counted(httpx.AsyncClient):
        def __init__(self, **options: float) -> None:
            super().__init__(**options)
            made.append(self)

    monkeypatch.setattr(httpx, "AsyncClient", Counted)
    store = SqliteStore(tmp_path / "store.sqlite")
    sender = Webhooks(store, timeout_s=5, first_retry_s=1, retry_hours=1)

    async def scenario(receiver: ReplayServer) -> int:
        task = asyncio.create_task(sender.run())
        await asyncio.sleep(0.2)
        idle = len(made)
        store.add_webhook(Webhook("wh_1", "", f"{receiver.url}/hook", ("run_started",),
                                  new_secret(), time.time()))
        sender.forget_subscriptions()
        for seq in (1, 2):
            sender.record(Event("r1", seq, time.time(), EventKind.RUN_STARTED, None, {}))
            deadline = time.monotonic() + 10
            while len(receiver.calls("POST", "/hook")) < seq:
                assert time.monotonic() < deadline, "the delivery was not sent"
                await asyncio.sleep(0.05)
        task.cancel()
        return idle

    with ReplayServer() as receiver:
        receiver.route("POST", "/hook", Reply(200, {}))
        idle = asyncio.run(scenario(receiver))
    assert idle == 0
    assert len(made) == 1, "one client for every delivery after the first"
