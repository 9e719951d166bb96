"""Chaos: real gateways and workers SIGKILLed at random points while runs are in every state.

After the last restart nobody intervenes (no `runs resume`): every run must reach its final
state by itself, each step's model call happen once (once more per kill it was in flight at),
the tenant's daily spend equal the sum of the runs' step costs, and every run's events be
gapless with exactly one terminal event.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from hybridcrew.graphs.lifecycle import FINAL_STATUSES
from hybridcrew.graphs.ports import daily_scope
from hybridcrew.platform.store import SqliteStore, Store
from hybridcrew.platform.store.redis import RedisStore
from tests.graphs.test_crash_resume import STEP_MODEL, TASK
from tests.graphs.test_crash_resume import _config as crew_with_call_log
from tests.support.metrics import samples, total
from tests.support.ports import free_port
from tests.support.processes import hybridcrew, kill, serve, until

RUNS = 8
APPROVAL_EVERY = 4  # every fourth run waits for a human before its report
LATENCY = 0.4
GATEWAY_WORKERS = 3


class Cluster:
    """A gateway (and workers) on one data dir or Redis, restartable, with one log."""

    def __init__(self, config: Path, log: Path, env: dict[str, str], workers: int) -> None:
        self.config, self.log, self.env = config, log, env
        self.port = free_port()
        self.kills = 0
        self.gateway = serve(config, self.port, env=env, log=log)
        self.workers = [self._worker(i) for i in range(workers)]

    def _worker(self, i: int) -> subprocess.Popen[str]:
        return hybridcrew(self.config, "worker", "--name", f"w{i}-{self.kills}", env=self.env,
                          log=self.log)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill_one(self, rng: random.Random) -> None:
        """SIGKILL a random process of the cluster and start it again."""
        victim = rng.randrange(1 + len(self.workers))
        self.kills += 1
        if victim == 0:
            kill(self.gateway)
            self.gateway = serve(self.config, self.port, env=self.env, log=self.log)
        else:
            kill(self.workers[victim - 1])
            self.workers[victim - 1] = self._worker(victim - 1)

    def stop(self) -> None:
        for process in (self.gateway, *self.workers):
            if process.poll() is None:
                kill(process, signal.SIGTERM)


@contextmanager
def cluster(config: Path, log: Path, env: dict[str, str], workers: int = 0
            ) -> Iterator[Cluster]:
    running = Cluster(config, log, env, workers)
    try:
        yield running
    finally:
        running.stop()


def _statuses(http: httpx.Client, ids: list[str]) -> dict[str, str]:
    try:
        return {run_id: http.get(f"/v1/runs/{run_id}").json()["status"] for run_id in ids}
    except (httpx.HTTPError, KeyError):  # the gateway is restarting
        return {}


def _settled(http: httpx.Client, ids: list[str], allowed: set[str]) -> Callable[[], bool]:
    def check() -> bool:
        statuses = _statuses(http, ids)
        return len(statuses) == len(ids) and set(statuses.values()) <= allowed
    return check


def _chaos(config: Path, tmp_path: Path, env: dict[str, str], open_store: Callable[[], Store],
           seed: int, workers: int = 0) -> None:
    rng = random.Random(seed)
    log = tmp_path / "processes.log"
    with cluster(config, log, env, workers) as crew, httpx.Client(base_url=crew.url,
                                                                 timeout=30) as http:
        ids = []
        for i in range(RUNS):
            body = {"task": f"{TASK} #{i}", "approval": i % APPROVAL_EVERY == APPROVAL_EVERY - 1}
            answer = http.post("/v1/runs", json=body)
            assert answer.status_code == 202, answer.text
            ids.append(answer.json()["id"])
        for _ in range(2):
            time.sleep(rng.uniform(0.2, 2.5))
            crew.kill_one(rng)
        # From here on nobody intervenes but the humans whose runs ask them.
        until(_settled(http, ids, {*FINAL_STATUSES, "waiting"}), "runs to settle", timeout=120)
        for run_id, status in _statuses(http, ids).items():
            if status == "waiting":
                assert http.post(f"/v1/runs/{run_id}/resume",
                                 json={"choice": "approve"}).status_code == 202
        until(_settled(http, ids, set(FINAL_STATUSES)), "runs to finish", timeout=120)
        details = [http.get(f"/v1/runs/{run_id}").json() for run_id in ids]
        recovered = total(samples(http.get("/metrics").text), "hybridcrew_runs_recovered_total")
    _check(details, tmp_path / "calls.jsonl", open_store(), crew.kills, log)
    if workers == 0:  # the restarted gateway took over what the killed one left
        assert recovered >= 1, log.read_text()[-3000:]


def _check(details: list[dict[str, Any]], call_log: Path, store: Store, kills: int,
           log: Path) -> None:
    assert [d["status"] for d in details] == ["finished"] * RUNS, log.read_text()[-3000:]
    for run in details:
        assert sorted(s["key"] for s in run["steps"]) == [
            "backend@0", "frontend@0", "plan@0", "qa@0"], "each step once in the run's record"
        events = store.events(run["id"])
        assert [e.seq for e in events] == list(range(1, len(events) + 1)), "gapless"
        terminal = [e.kind for e in events if e.kind.startswith("run_") and e.kind not in {
            "run_started", "run_resumed"}]
        assert terminal == ["run_finished"], terminal
    calls = Counter((c["model"], c["prompt"]) for c in map(json.loads,
                                                           call_log.read_text().splitlines()))
    assert len(calls) == RUNS * len(STEP_MODEL), "one distinct call per step"
    # A call is made again only for a step in flight at a kill (at most once per kill), and
    # a kill interrupts no more steps than the killed process could run at once.
    assert max(calls.values()) <= 1 + kills, calls
    assert sum(n - 1 for n in calls.values()) <= kills * GATEWAY_WORKERS * 2, calls
    spent = store.spent(daily_scope("default"))
    assert spent == pytest.approx(sum(s["cost_usd"] for d in details for s in d["steps"]),
                                  rel=1e-9)
    store.close()


@pytest.mark.parametrize("seed", [11, 22, 33])
def test_a_gateway_killed_at_random_recovers_every_run(seed: int, tmp_path: Path,
                                                       isolated_env: Path) -> None:
    config = crew_with_call_log(tmp_path, latency=LATENCY)
    env = {"HYBRIDCREW_GATEWAY_WORKERS": str(GATEWAY_WORKERS)}
    _chaos(config, tmp_path, env, lambda: SqliteStore(isolated_env / "data" / "store.sqlite"),
           seed)


@pytest.mark.parametrize("seed", [44, 55])
def test_workers_and_gateway_on_redis_killed_at_random(seed: int, tmp_path: Path,
                                                       isolated_env: Path, redis_url: str) -> None:
    redis.Redis.from_url(redis_url).flushdb()
    config = crew_with_call_log(tmp_path, latency=LATENCY)
    env = {"HYBRIDCREW_REDIS_URL": redis_url}
    _chaos(config, tmp_path, env, lambda: RedisStore(redis_url), seed, workers=2)


def test_sigterm_stops_within_the_grace_period_and_leaves_runs_recoverable(
        tmp_path: Path, isolated_env: Path) -> None:
    config = crew_with_call_log(tmp_path, latency=1.0)
    env = {"HYBRIDCREW_GATEWAY_WORKERS": "2", "HYBRIDCREW_SHUTDOWN_GRACE_S": "2"}
    log = tmp_path / "processes.log"
    port = free_port()
    gateway = serve(config, port, env=env, log=log)
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base, timeout=30) as http:
        ids = [http.post("/v1/runs", json={"task": f"{TASK} #{i}"}).json()["id"]
               for i in range(4)]
        until(lambda: "running" in _statuses(http, ids).values(), "a run to start")
    started = time.monotonic()
    # uvicorn shuts down gracefully, then ends with the signal it handled.
    assert kill(gateway, signal.SIGTERM) in {0, -signal.SIGTERM}
    # Streams get a few seconds, steps in flight the grace period: bounded, not a model call's
    # full timeout.
    assert time.monotonic() - started < 15
    assert "Application shutdown complete" in log.read_text()
    gateway = serve(config, port, env=env, log=log)
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            until(_settled(http, ids, {"finished"}), "every run to finish after the restart",
                  timeout=120)
            metrics = samples(http.get("/metrics").text)
            assert total(metrics, "hybridcrew_runs_recovered_total") >= 1
            assert total(metrics, "hybridcrew_runs_orphaned") == 0
    finally:
        kill(gateway, signal.SIGTERM)
