"""Bad requests get a 4xx with a JSON body that names what is wrong."""

from __future__ import annotations

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
    assert _fields(http.post("/v1/runs", json={"task": "x", "colour": "red"})) == ["body.colour"]
    assert _fields(http.post("/v1/runs", json={"task": "x", "budget_usd": -1})) == [
        "body.budget_usd"]
    assert _fields(http.post("/v1/runs", json={"task": "x", "privacy": "topsecret"})) == [
        "body.privacy"]
    assert _fields(http.post("/v1/runs", content=b"{not json",
                             headers={"content-type": "application/json"}))
    assert _fields(http.get("/v1/runs", params={"status": "sleeping"})) == ["query.status"]
    assert _fields(http.get("/v1/runs", params={"limit": 0})) == ["query.limit"]


def test_configuration_mistakes_get_the_loaders_message(http: httpx.Client) -> None:
    unknown_workflow = http.post("/v1/runs", json={"task": "x", "workflow": "nope"})
    assert (unknown_workflow.status_code, unknown_workflow.json()["error"]) == (422, "invalid")
    assert "nope" in unknown_workflow.json()["detail"]["message"]
    label = http.post("/v1/runs", json={"task": "x", "labels": ["hush"]})
    assert label.json()["detail"]["problems"][0]["problem"] == "unknown label 'hush'"
    bad = http.put("/v1/agents/backend", json={"model": "nope"})
    assert bad.status_code == 422
    (problem,) = bad.json()["detail"]["problems"]
    assert problem["path"] == "agents.backend.model"
    assert problem["problem"] == "model 'nope' does not exist"
    assert "author" in problem["fix"]
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
