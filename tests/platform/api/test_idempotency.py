"""``Idempotency-Key`` on ``POST /v1/runs``: a retried submission starts one run, not two.

Through real gateways: one in this process, and gateway processes SIGKILLed after accepting.
"""

from __future__ import annotations

import json
import signal
import threading
from collections import Counter
from pathlib import Path

import httpx
import pytest
import redis

from hybridcrew.platform.keys import create_key
from hybridcrew.platform.store import SqliteStore
from tests.graphs.test_crash_resume import STEP_MODEL
from tests.graphs.test_crash_resume import _config as crew_with_call_log
from tests.support.crew import crew_config
from tests.support.gateway import gateway, wait_status
from tests.support.ports import free_port
from tests.support.processes import kill, serve, until

TASK = "Add rate limiting to the orders API"
KEY = "0b6f2a52-5f0e-4a53-9e57-1f3c0e3a9d41"


def _submit(http: httpx.Client, body: dict[str, object], key: str = KEY) -> httpx.Response:
    return http.post("/v1/runs", json=body, headers={"Idempotency-Key": key})


def _run_ids(http: httpx.Client) -> list[str]:
    return [r["id"] for r in http.get("/v1/runs").json()["items"]]


def test_a_retry_gets_the_run_the_first_request_started(client: httpx.Client) -> None:
    first = _submit(client, {"task": TASK, "budget_usd": 0.5})
    assert first.status_code == 202
    assert first.headers["Idempotent-Replayed"] == "false"
    run_id = first.json()["id"]
    wait_status(client, run_id, {"finished"})
    # The same request again, its fields in another order: the same run, as it is now.
    again = _submit(client, {"budget_usd": 0.5, "task": TASK})
    assert again.status_code == 202
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == {"id": run_id, "status": "finished",
                            "events": f"/v1/runs/{run_id}/events"}
    assert _run_ids(client) == [run_id]
    # Without a key, or with another, the same request is a new run.
    other = _submit(client, {"task": TASK, "budget_usd": 0.5}, key=KEY + "-2").json()["id"]
    plain = client.post("/v1/runs", json={"task": TASK, "budget_usd": 0.5})
    assert "Idempotent-Replayed" not in plain.headers
    assert len({run_id, other, plain.json()["id"]}) == 3


def test_the_key_with_another_request_is_refused_and_nothing_is_echoed(
        client: httpx.Client) -> None:
    run_id = _submit(client, {"task": TASK}).json()["id"]
    changed = _submit(client, {"task": TASK + " and pagination"})
    assert changed.status_code == 422
    body = changed.json()
    assert body["error"] == "invalid"
    assert body["detail"]["problems"][0]["path"] == "Idempotency-Key"
    assert "new Idempotency-Key" in body["detail"]["problems"][0]["fix"]
    assert KEY not in changed.text
    assert "pagination" not in changed.text
    assert _run_ids(client) == [run_id], "the first run is kept, no second one starts"
    assert client.get(f"/v1/runs/{run_id}").json()["task"] == TASK


@pytest.mark.parametrize("key", ["has space", "x" * 256, "", "tab\tin"])
def test_a_malformed_key_is_refused_by_name(client: httpx.Client, key: str) -> None:
    answer = _submit(client, {"task": TASK}, key=key)
    assert answer.status_code == 422
    assert answer.json()["detail"] == [{"field": "header.Idempotency-Key",
                                        "problem": r"must match the pattern ^[\x21-\x7e]{1,255}$"}]
    if key:
        assert key not in answer.text
    assert _run_ids(client) == []


def test_concurrent_retries_start_one_run(client: httpx.Client) -> None:
    answers: list[httpx.Response] = []
    barrier = threading.Barrier(8)

    def retry() -> None:
        with httpx.Client(base_url=str(client.base_url), timeout=30) as own:
            barrier.wait()
            answers.append(_submit(own, {"task": TASK}))

    threads = [threading.Thread(target=retry) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [202] * 8
    assert len({a.json()["id"] for a in answers}) == 1
    assert sorted(a.headers["Idempotent-Replayed"] for a in answers) == ["false"] + ["true"] * 7
    run_id = answers[0].json()["id"]
    assert _run_ids(client) == [run_id]
    wait_status(client, run_id, {"finished"})


def test_keys_belong_to_a_tenant(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "keys.sqlite")
    tokens = [create_key(store, tenant, "operator")[1] for tenant in ("acme", "beta")]
    with gateway(crew_config(), store=store) as base:
        ids = []
        for token in tokens:
            with httpx.Client(base_url=base, timeout=30,
                              headers={"Authorization": f"Bearer {token}"}) as http:
                answer = _submit(http, {"task": TASK})
                assert answer.headers["Idempotent-Replayed"] == "false"
                ids.append(answer.json()["id"])
    assert ids[0] != ids[1], "the same key in two tenants is two runs"


def test_a_retry_finds_its_run_after_the_configuration_changed(tmp_path: Path) -> None:
    """The label the first request named is gone from the next gateway's configuration: a
    new request naming it is refused, the retry still gets the run it started."""
    store = SqliteStore(tmp_path / "runs.sqlite")
    labelled = crew_config(routing={"privacy": {"labels": {"customer-data": "confidential"}}})
    body = {"task": TASK, "labels": ["customer-data"]}
    with gateway(labelled, store=store) as base, httpx.Client(base_url=base, timeout=30) as http:
        run_id = _submit(http, body).json()["id"]
        wait_status(http, run_id, {"finished"})
    with gateway(crew_config(), store=store) as base, httpx.Client(base_url=base,
                                                                    timeout=30) as http:
        again = _submit(http, body)
        assert (again.status_code, again.json()["id"]) == (202, run_id)
        assert again.headers["Idempotent-Replayed"] == "true"
        assert _submit(http, body, key=KEY + "-2").status_code == 422
        assert _run_ids(http) == [run_id]


def test_keyed_runs_on_redis_are_registered_once(redis_url: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    redis.Redis.from_url(redis_url).flushdb()
    monkeypatch.setenv("HYBRIDCREW_REDIS_URL", redis_url)  # the store, checkpoints and queue
    with gateway(crew_config()) as base, httpx.Client(base_url=base, timeout=30) as http:
        first, again = (_submit(http, {"task": TASK}) for _ in range(2))
        assert first.json()["id"] == again.json()["id"]
        assert again.headers["Idempotent-Replayed"] == "true"
        assert _submit(http, {"task": TASK + "!"}).status_code == 422
        assert _run_ids(http) == [first.json()["id"]]


def test_a_retry_after_the_gateway_died_reaches_the_same_run(tmp_path: Path) -> None:
    """The client never saw the answer (the gateway was killed): it retries on the restarted
    gateway, which runs the one run to its end, each step's model call made once."""
    config = crew_with_call_log(tmp_path, latency=0.4)
    env = {"HYBRIDCREW_LEASE_S": "1.5"}
    log, port = tmp_path / "gateway.log", free_port()
    base = f"http://127.0.0.1:{port}"
    first = serve(config, port, env=env, log=log)
    with httpx.Client(base_url=base, timeout=30) as http:
        run_id = _submit(http, {"task": TASK}).json()["id"]
        until(lambda: http.get(f"/v1/runs/{run_id}").json()["status"] == "running",
              "the run to start")
    kill(first, signal.SIGKILL)
    second = serve(config, port, env=env, log=log)
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            again = _submit(http, {"task": TASK})
            assert (again.status_code, again.json()["id"]) == (202, run_id)
            assert again.headers["Idempotent-Replayed"] == "true"
            run = wait_status(http, run_id, {"finished"}, timeout=60)
            assert _run_ids(http) == [run_id]
    finally:
        kill(second, signal.SIGTERM)
    assert sorted(s["key"] for s in run["steps"]) == ["backend@0", "frontend@0", "plan@0", "qa@0"]
    calls = Counter(json.loads(line)["model"]
                    for line in (tmp_path / "calls.jsonl").read_text().splitlines())
    assert set(calls) == set(STEP_MODEL.values())
    assert max(calls.values()) <= 2, f"a step is called again only if the kill caught it: {calls}"
