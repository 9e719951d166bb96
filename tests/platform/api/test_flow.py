"""The HTTP flow through a real uvicorn server: submit, stream, reconnect, artifacts, approve,
cancel."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from hybridcrew.graphs.lifecycle import TERMINAL_EVENTS
from tests.support.crew import crew_config
from tests.support.gateway import gateway, wait_status

TASK = "Add rate limiting to the orders API"


def _stream(client: httpx.Client, run_id: str, last_event_id: int | None = None,
            stop_after: int | None = None) -> list[dict[str, Any]]:
    headers = {} if last_event_id is None else {"Last-Event-ID": str(last_event_id)}
    seen: list[dict[str, Any]] = []
    with connect_sse(client, "GET", f"/v1/runs/{run_id}/events", headers=headers) as source:
        for sse in source.iter_sse():
            seen.append({"id": int(sse.id), "event": sse.event, **json.loads(sse.data)})
            if stop_after is not None and len(seen) == stop_after:
                break
    return seen


def test_submit_stream_reconnect_and_fetch_artifacts(client: httpx.Client) -> None:
    accepted = client.post("/v1/runs", json={"task": TASK})
    assert accepted.status_code == 202
    run_id = accepted.json()["id"]
    assert accepted.json()["events"] == f"/v1/runs/{run_id}/events"

    first = _stream(client, run_id, stop_after=3)  # the client drops after three events
    rest = _stream(client, run_id, last_event_id=first[-1]["id"])
    events = first + rest
    assert [e["id"] for e in events] == list(range(1, len(events) + 1)), "none lost or repeated"
    assert events[0]["event"] == "run_started"
    assert events[-1]["event"] == "run_finished"
    started = [e["node"] for e in events if e["event"] == "step_started"]
    assert started[0] == "plan"
    assert sorted(started) == ["backend", "frontend", "plan", "qa"]

    run = client.get(f"/v1/runs/{run_id}").json()
    assert run["status"] == "finished"
    assert {s["node"] for s in run["steps"]} == {"plan", "frontend", "backend", "qa"}
    for step in run["steps"]:
        assert step["decision"]["model"] == step["model"]
        assert step["decision"]["reasons"]
    assert run["cost_usd"] == pytest.approx(sum(s["cost_usd"] for s in run["steps"]))
    assert "app/limiter.py" in run["artifacts"]
    code = client.get(f"/v1/runs/{run_id}/artifacts/app/limiter.py")
    assert (code.status_code, code.text) == (200, "class Limiter:\n    pass\n")
    assert client.get(f"/v1/runs/{run_id}/artifacts/plan.md").text.startswith("# Plan")

    # The stream of a finished run replays everything, and after its end it ends at once.
    assert [e["id"] for e in _stream(client, run_id)] == [e["id"] for e in events]
    assert _stream(client, run_id, last_event_id=events[-1]["id"]) == []


def test_an_approval_gate_waits_for_an_answer_over_http(client: httpx.Client) -> None:
    run_id = client.post("/v1/runs", json={"task": TASK, "approval": True}).json()["id"]
    waiting = wait_status(client, run_id, {"waiting"})
    assert waiting["pending"]["kind"] == "approval"
    answered = client.post(f"/v1/runs/{run_id}/resume",
                           json={"choice": "approve", "comment": "ship it"})
    assert answered.status_code == 202
    events = _stream(client, run_id)
    kinds = [e["event"] for e in events]
    assert kinds.index("waiting") < kinds.index("run_resumed") < kinds.index("run_finished")
    assert events[kinds.index("run_resumed")]["reply"]["comment"] == "ship it"
    run = client.get(f"/v1/runs/{run_id}").json()
    assert (run["status"], run["report"]["approved"]) == ("finished", True)
    again = client.post(f"/v1/runs/{run_id}/resume", json={"choice": "approve"})
    assert again.status_code == 409
    assert "only a waiting run" in again.json()["detail"]


def test_cancel_a_waiting_run(client: httpx.Client) -> None:
    run_id = client.post("/v1/runs", json={"task": TASK, "approval": True}).json()["id"]
    wait_status(client, run_id, {"waiting"})
    cancelled = client.post(f"/v1/runs/{run_id}/cancel")
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    assert _stream(client, run_id)[-1]["event"] == "run_cancelled"
    assert client.post(f"/v1/runs/{run_id}/cancel").status_code == 409
    assert client.post(f"/v1/runs/{run_id}/resume", json={"choice": "approve"}
                       ).status_code == 409


def test_a_cancel_racing_the_last_step_wins() -> None:
    data = crew_config()
    data["models"]["reviewer"]["options"]["latency_s"] = 1.0  # the last step is slow
    with gateway(data) as base, httpx.Client(base_url=base, timeout=30) as client:
        run_id = client.post("/v1/runs", json={"task": TASK}).json()["id"]
        seen = _stream(client, run_id, stop_after=1)
        while not any(e["event"] == "step_started" and e["node"] == "qa" for e in seen):
            seen += _stream(client, run_id, last_event_id=seen[-1]["id"], stop_after=1)
        cancelled = client.post(f"/v1/runs/{run_id}/cancel")  # while QA's call is in flight
        assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
        time.sleep(1.5)  # the QA step's call ends; the run must not become finished
        run = client.get(f"/v1/runs/{run_id}").json()
        assert run["status"] == "cancelled"
        kinds = [e["event"] for e in _stream(client, run_id)]
        assert kinds[-1] == "run_cancelled"
        assert [k for k in kinds if k in TERMINAL_EVENTS] == ["run_cancelled"]


def test_listing_pages_and_filters(client: httpx.Client) -> None:
    ids = [client.post("/v1/runs", json={"task": f"{TASK} #{i}"}).json()["id"]
           for i in range(3)]
    for run_id in ids:
        wait_status(client, run_id, {"finished"})
    page = client.get("/v1/runs", params={"limit": 2}).json()
    assert [r["id"] for r in page["items"]] == ids[::-1][:2]
    assert page["next_offset"] == 2
    last = client.get("/v1/runs", params={"limit": 2, "offset": 2}).json()
    assert [r["id"] for r in last["items"]] == ids[:1]
    assert last["next_offset"] is None
    assert client.get("/v1/runs", params={"status": "waiting"}).json()["items"] == []
