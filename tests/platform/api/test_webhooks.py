"""Webhooks over a real gateway: subscribed run events reach a loopback receiver, signed, at
least once, retried, cut off when the receiver hangs, and resumed after a gateway restart."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.crew import crew_config
from tests.support.gateway import gateway, wait_status
from tests.support.processes import until
from tests.support.replay import ReplayServer, Reply, Seen

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123").decode()


def _verify(seen: Seen) -> dict[str, Any]:
    """What a receiver does (Standard Webhooks): recompute the signature over the raw body."""
    msg_id, stamp = seen.headers["webhook-id"], seen.headers["webhook-timestamp"]
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + seen.raw,
                                         hashlib.sha256).digest()).decode()
    assert f"v1,{expected}" in seen.headers["webhook-signature"].split(" ")
    assert abs(time.time() - int(stamp)) < 60
    body: dict[str, Any] = json.loads(seen.raw)
    return body


def _subscribe(http: httpx.Client, url: str, events: list[str]) -> str:
    answer = http.post("/v1/webhooks", json={"url": url, "events": events, "secret": SECRET})
    assert answer.status_code == 201, answer.text
    assert answer.json()["secret"] == SECRET
    hook_id: str = answer.json()["id"]
    return hook_id


def _deliveries(http: httpx.Client, hook: str) -> list[dict[str, Any]]:
    answer: list[dict[str, Any]] = http.get(f"/v1/webhooks/{hook}/deliveries").json()
    return answer


@pytest.fixture
def receiver() -> Iterator[ReplayServer]:
    with ReplayServer() as server:
        yield server


def test_subscribed_events_are_delivered_signed_once_and_logged(receiver: ReplayServer) -> None:
    receiver.route("POST", "/hook", Reply(200))
    with gateway(crew_config()) as base, httpx.Client(base_url=base, timeout=30) as http:
        hook = _subscribe(http, f"{receiver.url}/hook", ["run_started", "run_finished"])
        assert http.get("/v1/webhooks").json()[0] == {
            "id": hook, "url": f"{receiver.url}/hook", "events": ["run_started",
                                                                "run_finished"],
            "created_at": pytest.approx(time.time(), abs=60), "secret": None}
        run_id = http.post("/v1/runs", json={"task": "Add rate limiting"}).json()["id"]
        wait_status(http, run_id, {"finished"})
        until(lambda: [d["status"] for d in _deliveries(http, hook)] == ["delivered"] * 2,
              "two deliveries")
        time.sleep(0.5)  # nothing more comes
        bodies = [_verify(s) for s in receiver.calls("POST", "/hook")]
        assert [b["type"] for b in bodies] == ["run_started", "run_finished"]
        assert {b["run_id"] for b in bodies} == {run_id}
        ids = [s.headers["webhook-id"] for s in receiver.calls("POST", "/hook")]
        assert len(set(ids)) == 2
        logged = _deliveries(http, hook)
    assert {d["id"] for d in logged} == set(ids)
    assert all(d["status"] == "delivered" and len(d["attempts"]) == 1 for d in logged), logged
    assert logged[0]["attempts"][0]["status_code"] == 200


def test_failures_are_retried_with_backoff_and_a_hanging_receiver_is_cut_off(
        receiver: ReplayServer) -> None:
    receiver.route("POST", "/hook", Reply(500), Reply(503, delay_s=3.0), Reply(200))
    with gateway(crew_config(), webhook_first_retry_s=0.2, webhook_timeout_s=0.5) as base, \
            httpx.Client(base_url=base, timeout=30) as http:
        hook = _subscribe(http, f"{receiver.url}/hook", ["run_finished"])
        started = time.monotonic()
        run_id = http.post("/v1/runs", json={"task": "Add rate limiting"}).json()["id"]
        wait_status(http, run_id, {"finished"})
        assert time.monotonic() - started < 3, "a hanging receiver never holds a run up"
        until(lambda: _deliveries(http, hook)[0]["status"] == "delivered", "the delivery",
              timeout=20)
        (delivery,) = _deliveries(http, hook)
    attempts = delivery["attempts"]
    assert [a["status_code"] for a in attempts] == [500, None, 200]
    assert attempts[1]["error"] == "no answer within 0.5 s"
    assert attempts[1]["seconds"] < 2
    waits = [b["at"] - a["at"] for a, b in itertools.pairwise(attempts)]
    assert waits[0] >= 0.2
    assert waits[1] >= 0.4 + 0.5, "the second retry waited twice as long (after the timeout)"
    ids = {s.headers["webhook-id"] for s in receiver.calls("POST", "/hook")}
    assert ids == {delivery["id"]}, "every attempt carries the same idempotency id"


def test_deliveries_queued_in_the_store_resume_after_a_restart(receiver: ReplayServer) -> None:
    receiver.route("POST", "/hook", Reply(500), Reply(202))
    with gateway(crew_config(), webhook_first_retry_s=3) as base, \
            httpx.Client(base_url=base, timeout=30) as http:
        hook = _subscribe(http, f"{receiver.url}/hook", ["run_finished"])
        run_id = http.post("/v1/runs", json={"task": "Add rate limiting"}).json()["id"]
        wait_status(http, run_id, {"finished"})
        until(lambda: bool(_deliveries(http, hook)[0]["attempts"]), "a failed attempt")
        (pending,) = _deliveries(http, hook)
    # Stopped with its retry still queued; another gateway on the same store sends it.
    assert (pending["status"], len(pending["attempts"])) == ("pending", 1)
    with gateway(crew_config(), webhook_first_retry_s=3) as base, \
            httpx.Client(base_url=base, timeout=30) as http:
        until(lambda: _deliveries(http, hook)[0]["status"] == "delivered", "the retry",
              timeout=20)
        (delivered,) = _deliveries(http, hook)
    assert [a["status_code"] for a in delivered["attempts"]] == [500, 202]
    ids = [s.headers["webhook-id"] for s in receiver.calls("POST", "/hook")]
    assert ids == [pending["id"], pending["id"]], "the retry is the same delivery"


def test_subscriptions_are_checked_without_echoing_what_was_sent() -> None:
    with gateway(crew_config()) as base, httpx.Client(base_url=base, timeout=30) as http:
        bad_url = http.post("/v1/webhooks", json={"url": "ftp://secret-host/x",
                                                  "events": ["run_finished"]})
        bad_kind = http.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/x",
                                                   "events": ["run_exploded"]})
        bad_secret = http.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/x",
                                                     "events": ["*"], "secret": "hunter2"})
        missing = http.get("/v1/webhooks/wh_nope/deliveries")
    assert [a.status_code for a in (bad_url, bad_kind, bad_secret, missing)] == [
        422, 422, 422, 404]
    assert "http://" in bad_url.text
    assert "secret-host" not in bad_url.text
    assert "hunter2" not in bad_secret.text
    assert "whsec_" in bad_secret.text
