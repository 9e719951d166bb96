"""Event streams at scale: many readers of one run share one feed; each key has a cap."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import aconnect_sse

from hybridcrew.graphs.lifecycle import Event
from hybridcrew.platform.api.routes import events as events_route
from hybridcrew.platform.store.sqlite import SqliteStore
from hybridcrew.settings import load_settings
from tests.support.crew import crew_config
from tests.support.gateway import gateway, wait_status
from tests.support.processes import until

READERS = 60
CAP = 50


async def _follow(http: httpx.AsyncClient, run_id: str, opened: asyncio.Event | None = None
                  ) -> list[str]:
    kinds: list[str] = []
    async with aconnect_sse(http, "GET", f"/v1/runs/{run_id}/events") as source:
        if opened is not None:
            opened.set()
        async for sse in source.aiter_sse():
            kinds.append(sse.event)
            json.loads(sse.data)
    return kinds


def test_many_readers_share_one_feed_and_all_see_the_end() -> None:
    apps: list[Any] = []
    with gateway(crew_config(), max_streams_per_key=1000, on_app=apps.append) as base:
        service = apps[0].state.service

        async def scenario() -> tuple[list[list[str]], int]:
            limits = httpx.Limits(max_connections=READERS + 10)
            async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
                run_id = (await http.post("/v1/runs", json={"task": "Add rate limiting",
                                                            "approval": True})).json()["id"]
                while (await http.get(f"/v1/runs/{run_id}")).json()["status"] != "waiting":
                    await asyncio.sleep(0.05)
                tasks = [asyncio.create_task(_follow(http, run_id)) for _ in range(READERS)]
                while service.stream_slots.open_streams() < READERS:
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.5)
                feeds_while_idle = service.feeds.active()
                await http.post(f"/v1/runs/{run_id}/resume", json={"choice": "approve"})
                return list(await asyncio.gather(*tasks)), feeds_while_idle

        streams, feeds = asyncio.run(scenario())
        assert feeds == 1, "one feed for one run, whatever the number of readers"
        for kinds in streams:
            assert kinds[0] == "run_started"
            assert kinds[-1] == "run_finished"
            assert kinds.count("run_finished") == 1
        assert service.feeds.active() == 0, "the feed goes with its last reader"
        assert service.stream_slots.open_streams() == 0


def test_a_key_beyond_its_stream_cap_gets_429() -> None:
    with gateway(crew_config(), max_streams_per_key=CAP) as base, httpx.Client(
            base_url=base, timeout=30) as http:
        run_id = http.post("/v1/runs", json={"task": "x", "approval": True}).json()["id"]
        wait_status(http, run_id, {"waiting"})

        async def scenario() -> httpx.Response:
            async with httpx.AsyncClient(base_url=base, timeout=30,
                                         limits=httpx.Limits(max_connections=CAP + 5)) as client:
                opened = [asyncio.Event() for _ in range(CAP)]
                tasks = [asyncio.create_task(_follow(client, run_id, o)) for o in opened]
                await asyncio.gather(*(o.wait() for o in opened))
                refused = await client.get(f"/v1/runs/{run_id}/events")
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                return refused

        refused = asyncio.run(scenario())
        assert refused.status_code == 429
        assert refused.json()["error"] == "too_many_streams"
        assert "HYBRIDCREW_MAX_STREAMS_PER_KEY" in refused.json()["detail"]
        # Closed streams give their slots back, once the server has seen them close.
        def stream_opens() -> bool:
            with http.stream("GET", f"/v1/runs/{run_id}/events") as again:
                return again.status_code == 200

        until(stream_opens, "a closed stream's slot to come back", timeout=10)


def test_a_quiet_stream_gets_keepalive_comments_and_its_events_after_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events_route, "KEEPALIVE_S", 0.2)
    with gateway(crew_config()) as base, httpx.Client(base_url=base, timeout=30) as http:
        run_id = http.post("/v1/runs", json={"task": "x", "approval": True}).json()["id"]
        wait_status(http, run_id, {"waiting"})
        lines: list[str] = []
        with http.stream("GET", f"/v1/runs/{run_id}/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            assert stream.headers["cache-control"] == "no-cache"
            for line in stream.iter_lines():
                lines.append(line)
                if lines.count(": ping") == 2:  # the run waits: only keep-alives come
                    http.post(f"/v1/runs/{run_id}/resume", json={"choice": "approve"})
        frames = "\n".join(lines).split("\n\n")
        kinds = [f.split("event: ")[1].split("\n")[0] for f in frames if "event: " in f]
        assert (kinds[0], kinds[-1]) == ("run_started", "run_finished")
        ids = [int(f.split("id: ")[1].split("\n")[0]) for f in frames if "id: " in f]
        assert ids == list(range(1, len(ids) + 1)), "every event once, in order"
        assert all(json.loads(f.split("data: ")[1])["seq"] == i
                   for f, i in zip([f for f in frames if "data: " in f], ids, strict=True))




class _CountingStore(SqliteStore):
    """The SQLite store, counting the reads of events (to see where streams get theirs)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.event_reads = 0

    def events(self, run_id: str, after: int = 0, limit: int | None = None) -> list[Event]:
        self.event_reads += 1
        return super().events(run_id, after, limit)


def test_events_of_a_run_this_gateway_executes_reach_its_readers_from_memory() -> None:
    store = _CountingStore(load_settings().data_dir / "counting.sqlite")
    with gateway(crew_config(latency=0.2), store=store) as base:

        async def scenario() -> tuple[list[str], int]:
            async with httpx.AsyncClient(base_url=base, timeout=60) as http:
                reads_before = store.event_reads
                run_id = (await http.post("/v1/runs", json={"task": "Add rate limiting"})
                          ).json()["id"]
                kinds = await _follow(http, run_id)
                return kinds, store.event_reads - reads_before

        kinds, reads = asyncio.run(scenario())
        assert kinds[0] == "run_started"
        assert kinds[-1] == "run_finished"
        assert len(kinds) >= 10
        # The store is read when the feed starts (what came before) and for a gap (two
        # branches publishing out of order); every other event comes from memory.
        assert reads <= len(kinds) // 3, (reads, kinds)
