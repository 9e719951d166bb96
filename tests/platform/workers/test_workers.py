"""Workers on a real Redis 8: queue, take-over after SIGKILL, gateway hand-off, cancellation."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import redis

from hybridcrew.platform.crew import Crew
from hybridcrew.platform.queue import RunQueue
from hybridcrew.platform.store.redis import RedisStore
from hybridcrew.routing.config import load_config
from hybridcrew.settings import load_settings
from tests.graphs.test_crash_resume import STEP_MODEL, TASK
from tests.graphs.test_crash_resume import _config as crash_config
from tests.support.crew import crew_config, write_config
from tests.support.gateway import gateway, wait_status
from tests.support.metrics import samples, total
from tests.support.ports import free_port
from tests.support.processes import hybridcrew, until

VISIBILITY_S = 1.5


@pytest.fixture
def shared(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A clean Redis for store, checkpoints and queue; short take-over time."""
    redis.Redis.from_url(redis_url).flushdb()
    monkeypatch.setenv("HYBRIDCREW_REDIS_URL", redis_url)
    monkeypatch.setenv("HYBRIDCREW_LEASE_S", str(VISIBILITY_S))
    return redis_url


def _worker(config: Path, name: str, metrics_port: int | None = None
            ) -> subprocess.Popen[str]:
    """A worker whose output goes to a log beside the config (a pipe nobody reads could fill)."""
    env = {} if metrics_port is None else {"HYBRIDCREW_METRICS_PORT": str(metrics_port)}
    return hybridcrew(config, "worker", "--name", name, env=env,
                      log=config.with_name(f"worker-{name}.log"))


def _total(url: str, name: str) -> float:
    return total(samples(httpx.get(url, timeout=10).text), name)


def test_a_killed_worker_s_run_is_finished_by_another(shared: str, tmp_path: Path) -> None:
    config = crash_config(tmp_path)
    crew = Crew(load_config(config), load_settings())
    run_id = crew.submit(TASK).id
    RunQueue(shared, VISIBILITY_S).enqueue(run_id)
    store = RedisStore(shared)

    def started(*nodes: str) -> Callable[[], bool]:
        return lambda: all(("step_started", n) in [(e.kind, e.node) for e in
                                                   store.events(run_id)] for n in nodes)

    first = _worker(config, "first")
    until(started("frontend", "backend"), "the parallel branches to start")
    time.sleep(0.2)  # inside their model calls
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    second = _worker(config, "second")
    try:
        until(lambda: store.get_run(run_id).status == "finished", "the run to finish")
    finally:
        second.terminate()
        second.wait(timeout=30)
    steps = Crew(load_config(config), load_settings()).state(run_id)["steps"]
    assert sorted(s["key"] for s in steps) == ["backend@0", "frontend@0", "plan@0", "qa@0"]
    calls = Counter(json.loads(line)["model"]
                    for line in (tmp_path / "calls.jsonl").read_text().splitlines())
    in_flight = {"frontend", "backend"}
    for step, model in STEP_MODEL.items():  # the plan, done before the kill, never re-ran
        assert calls[model] == (2 if step in in_flight else 1), (step, calls)
    kinds = [e.kind for e in store.events(run_id)]
    assert kinds.count("run_started") == 1
    assert kinds.count("run_resumed") == 1
    assert kinds[-1] == "run_finished"
    assert second.returncode == 0, (tmp_path / "worker-second.log").read_text()


def test_the_gateway_hands_runs_to_workers(shared: str, tmp_path: Path) -> None:
    data = crew_config(latency=0.2)
    config = write_config(tmp_path / "crew.yaml", data)
    ports = [free_port() for _ in range(2)]
    workers = [_worker(config, f"w{i}", port) for i, port in enumerate(ports)]
    try:
        with gateway(data) as base, httpx.Client(base_url=base, timeout=30) as http:
            ids = [http.post("/v1/runs", json={"task": f"{TASK} #{i}"}).json()["id"]
                   for i in range(3)]
            for run_id in ids:
                assert wait_status(http, run_id, {"finished"}, timeout=60)["cost_usd"] >= 0
            slow = http.post("/v1/runs", json={"task": TASK, "approval": True}).json()["id"]
            wait_status(http, slow, {"waiting"}, timeout=60)
            http.post(f"/v1/runs/{slow}/resume", json={"choice": "approve"})
            assert wait_status(http, slow, {"finished"}, timeout=60)["report"]["approved"]
            # Each worker serves the runs it drove; across targets they add up to every run.
            # The gateway drove none, and its queue is empty.
            targets = [f"http://127.0.0.1:{port}/metrics" for port in ports]
            assert sum(_total(url, "hybridcrew_runs_total") for url in targets) == 4
            assert sum(_total(url, "hybridcrew_runs_in_progress") for url in targets) == 0
            assert _total(f"{base}/metrics", "hybridcrew_runs_total") == 0
            assert "hybridcrew_run_queue_depth 0.0" in http.get("/metrics").text
        assert RunQueue(shared, VISIBILITY_S).depth() == 0
    finally:
        for process in workers:
            process.terminate()
        for process in workers:
            process.wait(timeout=30)


def test_the_queue_tells_waiting_runs_from_runs_being_worked_on(shared: str) -> None:
    queue = RunQueue(shared, VISIBILITY_S)
    for i in range(3):
        queue.enqueue(f"run-{i}")
    assert (queue.waiting(), queue.depth()) == (3, 3)
    job = queue.claim("w0", block_s=1)
    assert job is not None
    assert (queue.waiting(), queue.depth()) == (2, 3)  # taken, not yet done
    queue.ack(job)
    assert (queue.waiting(), queue.depth()) == (2, 2)


def test_a_worker_without_redis_says_what_to_set(tmp_path: Path) -> None:
    config = write_config(tmp_path / "crew.yaml", crew_config())
    done = subprocess.run([sys.executable, "-m", "hybridcrew", "--config", str(config),
                           "worker"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "HYBRIDCREW_REDIS_URL" in done.stdout + done.stderr
