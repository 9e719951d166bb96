"""Bad requests get a 4xx with a JSON body that names what is wrong."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.support.crew import crew_config
from tests.support.gateway import gateway


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    # Module-scoped: set up before the per-test environment, so every setting is explicit.
    with gateway(crew_config(), max_request_bytes=10_000, memory=False,
                 data_dir=tmp_path_factory.mktemp("bad-input")) as base, httpx.Client(
            base_url=base, timeout=30) as client:
        yield client


def _fields(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "invalid_request"
    return [f["field"] for f in answer.json()["detail"]]


def test_malformed_bodies_name_the_field(http: httpx.Client) -> None:
    assert _fields(http.post("/v1/runs", json={})) == ["body.task"]
    # An unknown field's name is client input too: named by position, never echoed.
    assert _fields(http.post("/v1/runs", json={"task": "x", "colour": "red"})) == [
        "body.<unknown>"]
    assert _fields(http.post("/v1/runs", json={"task": "x", "budget_usd": -1})) == [
        "body.budget_usd"]
    assert _fields(http.post("/v1/runs", json={"task": "x", "privacy": "topsecret"})) == [
        "body.privacy"]
    assert _fields(http.post("/v1/runs", content=b"{not json",
                             headers={"content-type": "application/json"}))
    assert _fields(http.get("/v1/runs", params={"status": "sleeping"})) == ["query.status"]
    assert _fields(http.get("/v1/runs", params={"limit": 0})) == ["query.limit"]
    assert _fields(http.post("/v1/runs", content=b'{"task": "\xff"}',
                             headers={"content-type": "application/json"})) == ["body"]


def test_booleans_are_strict_and_sizes_bounded(http: httpx.Client) -> None:
    for approval in ("yes", 1, "true"):
        assert _fields(http.post("/v1/runs", json={"task": "x", "approval": approval})) == [
            "body.approval"]
    many = {f"a{i}": {"model": "x"} for i in range(200)}
    assert _fields(http.post("/v1/runs", json={"task": "x", "assignments": many})) == [
        "body.assignments"]
    long_list = {"backend": {"model": "auto", "candidates": ["author"] * 500}}
    assert _fields(http.post("/v1/runs", json={"task": "x", "assignments": long_list})) == [
        "body.assignments.backend.candidates"]
    assert _fields(http.post("/v1/runs", json={"task": "x", "labels": ["l" * 500]})) == [
        "body.labels.0"]


def test_assignments_for_unknown_agents_are_refused(http: httpx.Client) -> None:
    answer = http.post("/v1/runs", json={"task": "x", "assignments": {
        "intruder": {"model": "author"}}})
    assert (answer.status_code, answer.json()["error"]) == (422, "invalid")
    (problem,) = answer.json()["detail"]["problems"]
    assert problem["path"] == "assignments"
    assert "intruder" not in answer.text
    assert "backend" in problem["fix"]


def test_out_of_range_event_ids_are_422(http: httpx.Client) -> None:
    run_id = http.post("/v1/runs", json={"task": "Add rate limiting"}).json()["id"]
    for header in (str(2**63), str(2**64 + 5), "-1", "nine"):
        answer = http.get(f"/v1/runs/{run_id}/events", headers={"Last-Event-ID": header})
        assert _fields(answer) == ["header.last-event-id"], header
    assert _fields(http.get(f"/v1/runs/{run_id}/events", params={"after": 2**63})) == [
        "query.after"]


def test_control_characters_in_artifact_paths_are_404(http: httpx.Client) -> None:
    run_id = http.post("/v1/runs", json={"task": "Add rate limiting"}).json()["id"]
    for path in ("plan%00.md", "%00", "a%0Ab", "x" * 2000):
        answer = http.get(f"/v1/runs/{run_id}/artifacts/{path}")
        assert (answer.status_code, answer.json()["error"]) == (404, "not_found"), path
        assert "%00" not in answer.text
        assert "\u0000" not in answer.text


SECRET = "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"


@pytest.mark.parametrize(("method", "path", "body"), [
    ("post", "/v1/runs", {"task": "x", "labels": [SECRET]}),
    ("post", "/v1/runs", {"task": "x", SECRET: 1}),
    ("post", "/v1/runs", {"task": "x", "workflow": SECRET}),
    ("post", "/v1/runs", {"task": "x", "privacy": SECRET}),
    ("post", "/v1/runs", {"task": "x", "assignments": {SECRET: {"model": "author"}}}),
    ("post", "/v1/runs", {"task": "x", "assignments": {"backend": {"model": SECRET}}}),
    ("post", "/v1/runs", {"task": "x", "assignments": {"backend": {SECRET: "x"}}}),
    ("put", "/v1/agents/backend", {"model": SECRET}),
    ("put", "/v1/agents/backend", {"model": "auto", "candidates": [SECRET]}),
    ("put", f"/v1/agents/{SECRET}", {"model": "author"}),
    ("post", "/v1/route/explain", {"agent": SECRET, "prompt": "hello"}),
    ("post", "/v1/route/explain", {"agent": "backend", "prompt": "x", "labels": [SECRET]}),
    ("post", "/v1/route/explain", {"agent": "backend", "prompt": "x", "signals": [SECRET]}),
    ("post", "/v1/route/explain", {"agent": "backend", "prompt": "x",
                                   "signals": [f"author={SECRET}"]}),
    ("get", f"/v1/runs/{SECRET}", None),
    ("get", f"/v1/runs?status={SECRET}", None),
])
def test_no_error_body_echoes_a_submitted_value(http: httpx.Client, method: str, path: str,
                                                body: object) -> None:
    answer = http.request(method.upper(), path, json=body)
    assert 400 <= answer.status_code < 500, answer.text
    assert SECRET not in answer.text
    assert SECRET[4:20] not in answer.text


def test_configuration_mistakes_get_the_loaders_message(http: httpx.Client) -> None:
    unknown_workflow = http.post("/v1/runs", json={"task": "x", "workflow": "nope"})
    assert (unknown_workflow.status_code, unknown_workflow.json()["error"]) == (422, "invalid")
    assert "secure-delivery" in unknown_workflow.json()["detail"]["problems"][0]["fix"]
    label = http.post("/v1/runs", json={"task": "x", "labels": ["hush"]})
    assert label.json()["detail"]["problems"][0]["problem"] == "unknown label '<value>'"
    bad = http.put("/v1/agents/backend", json={"model": "nope"})
    assert bad.status_code == 422
    (problem,) = bad.json()["detail"]["problems"]
    assert problem["path"] == "agents.backend.model"
    assert problem["problem"] == "model '<value>' does not exist"
    assert "author" in problem["fix"]
    for answer in (unknown_workflow, label, bad):  # the configuration file's path stays home
        assert not re.search(r"/(tmp|root|home|work|etc)/", answer.text), answer.text
    assert http.put("/v1/agents/nobody", json={"model": "author"}).status_code == 404
    assert http.put("/v1/agents/backend", json={"model": "auto"}).json()["detail"][
        "problems"][0]["problem"] == "model: auto needs at least one candidate"


def test_unknown_things_are_404(http: httpx.Client) -> None:
    for path in ("/v1/runs/nope", "/v1/runs/nope/events", "/v1/runs/nope/artifacts/plan.md",
                 "/v1/nothing-here"):
        answer = http.get(path)
        assert (answer.status_code, answer.json()["error"]) == (404, "not_found"), path
    assert http.post("/v1/runs/nope/cancel").status_code == 404


def test_artifacts_stay_inside_the_run_folder(http: httpx.Client) -> None:
    run_id = http.post("/v1/runs", json={"task": "Add rate limiting"}).json()["id"]
    for path in ("../../store.sqlite", "..%2F..%2Fstore.sqlite", "/etc/passwd"):
        assert http.get(f"/v1/runs/{run_id}/artifacts/{path}").status_code == 404


def test_oversized_requests_get_413(http: httpx.Client) -> None:
    big = {"task": "x" * 20_000}
    answer = http.post("/v1/runs", json=big)
    assert (answer.status_code, answer.json()["error"]) == (413, "too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"task": "'
        for _ in range(20):
            yield b"x" * 1000
        yield b'"}'

    chunked = http.post("/v1/runs", content=chunks(),
                        headers={"content-type": "application/json"})
    assert chunked.status_code == 413


def test_memory_that_is_off_answers_503(http: httpx.Client) -> None:
    answer = http.post("/v1/memory", json={"text": "a note"})
    assert (answer.status_code, answer.json()["error"]) == (503, "unavailable")
    assert "HYBRIDCREW_MEMORY" in answer.json()["detail"]


def test_wrong_method_is_405(http: httpx.Client) -> None:
    answer = http.delete("/v1/runs")
    assert (answer.status_code, answer.json()["error"]) == (405, "method_not_allowed")


def test_the_access_log_keeps_no_query_strings_or_secrets(
        http: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    access = logging.getLogger("uvicorn.access")
    level = access.level
    access.setLevel(logging.INFO)
    access.addHandler(caplog.handler)
    try:
        http.get("/v1/runs", params={"status": "queued", "token": SECRET})
        http.get(f"/v1/runs/{SECRET}/events")
        http.get("/v1/runs/run%2Fwith%20mail%20jane.doe@acme-corp.com")
    finally:
        access.removeHandler(caplog.handler)
        access.setLevel(level)
    lines = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert len(lines) == 3, lines
    text = "\n".join(lines)
    assert SECRET not in text
    assert "token=" not in text
    assert "jane.doe" not in text
    assert "[REDACTED:github_token]" in text
    assert '"GET /v1/runs HTTP/1.1" 200' in text


def test_explain_takes_what_if_signals_and_names_a_bad_one_by_position(http: httpx.Client
                                                                        ) -> None:
    ask = {"agent": "backend", "prompt": "Add a limiter"}
    live = http.post("/v1/route/explain", json=ask).json()
    down = http.post("/v1/route/explain", json={**ask, "signals": ["author=down"]}).json()
    assert live["model"] == "author"
    assert {r["model"]: r["why"] for r in down["rejected"]} == {"author": "provider_down"}
    bad = http.post("/v1/route/explain", json={**ask, "signals": ["author=down", "gpu=lots"]})
    assert bad.status_code == 422
    assert bad.json()["detail"]["problems"][0]["path"] == "signals[1]"
