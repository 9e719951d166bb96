"""Keys, tenants and roles over every endpoint of a real gateway."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from hybridcrew.platform.keys import create_key
from hybridcrew.platform.store import Role, SqliteStore
from tests.support.crew import crew_config
from tests.support.gateway import gateway, wait_status

RUN = "{run}"
DECISION = "{decision}"
HOOK = "{hook}"
CHAT = {"model": "author", "messages": [{"role": "user", "content": "hi"}]}
# Every endpoint under /v1 and /openai/v1, the least role it needs, and a request that role
# may make.
MATRIX: list[tuple[str, str, Role, dict[str, object] | None]] = [
    ("GET", "/v1/runs", "viewer", None),
    ("POST", "/v1/runs", "operator", {"task": "Add a health endpoint"}),
    ("GET", f"/v1/runs/{RUN}", "viewer", None),
    ("GET", f"/v1/runs/{RUN}/events", "viewer", None),
    ("GET", f"/v1/runs/{RUN}/artifacts/plan.md", "viewer", None),
    ("POST", f"/v1/runs/{RUN}/resume", "operator", {"choice": "approve"}),
    ("POST", f"/v1/runs/{RUN}/cancel", "operator", None),
    ("POST", f"/v1/runs/{RUN}/feedback", "operator", {"good": True}),
    ("GET", "/v1/agents", "viewer", None),
    ("PUT", "/v1/agents/backend", "admin", {"model": "author"}),
    ("GET", "/v1/models", "viewer", None),
    ("POST", "/v1/route/explain", "viewer", {"agent": "backend", "prompt": "hello"}),
    ("POST", "/v1/memory", "operator", {"text": "Rate limits are per API key."}),
    ("POST", "/v1/memory/search", "viewer", {"query": "rate limits"}),
    ("GET", f"/v1/decisions/{DECISION}", "viewer", None),
    ("POST", "/v1/webhooks", "admin", {"url": "http://127.0.0.1:9/x", "events": ["*"]}),
    ("GET", "/v1/webhooks", "admin", None),
    ("DELETE", f"/v1/webhooks/{HOOK}", "admin", None),
    ("GET", f"/v1/webhooks/{HOOK}/deliveries", "admin", None),
    ("POST", "/v1/messages", "operator", {**CHAT, "max_tokens": 16}),
    ("POST", "/v1/messages/count_tokens", "operator", CHAT),
    ("GET", "/openai/v1/models", "operator", None),
    ("POST", "/openai/v1/chat/completions", "operator", CHAT),
]
RANK = {"viewer": 0, "operator": 1, "admin": 2}


@dataclass
class Setup:
    base: str
    tokens: dict[str, str]
    store: SqliteStore


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    store = SqliteStore(tmp_path / "keys.sqlite")
    tokens = {f"acme-{role}": create_key(store, "acme", role)[1]
              for role in ("viewer", "operator", "admin")}
    tokens["beta-admin"] = create_key(store, "beta", "admin")[1]
    with gateway(crew_config(), store=store, memory=True) as base:
        yield Setup(base, tokens, store)


def _client(setup: Setup, who: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {setup.tokens[who]}"} if who else {}
    return httpx.Client(base_url=setup.base, headers=headers, timeout=30)


def _call(http: httpx.Client, method: str, path: str, body: dict[str, object] | None
          ) -> tuple[int, dict[str, object]]:
    """Status and JSON body; an event stream of a waiting run stays open, so only its head is
    read."""
    with http.stream(method, path, json=body) as answer:
        if answer.headers.get("content-type") != "application/json":
            return answer.status_code, {}
        answer.read()
        return answer.status_code, answer.json()


def _acme_hook(setup: Setup) -> str:
    with _client(setup, "acme-admin") as http:
        answer = http.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/x",
                                                 "events": ["run_finished"]})
    hook_id: str = answer.json()["id"]
    return hook_id


def _acme_decision(setup: Setup) -> str:
    with _client(setup, "acme-operator") as http:
        answer = http.post("/openai/v1/chat/completions", json=CHAT)
    return answer.headers["x-hybridcrew-decision-id"]


def _acme_run(setup: Setup, approval: bool) -> str:
    with _client(setup, "acme-operator") as http:
        run_id: str = http.post("/v1/runs", json={"task": "Add rate limiting",
                                                  "approval": approval}).json()["id"]
        wait_status(http, run_id, {"waiting", "finished"})
    return run_id


def test_the_matrix_covers_every_endpoint(setup: Setup) -> None:
    spec = httpx.get(f"{setup.base}/openapi.json").json()
    served = {(method.upper(), path) for path, item in spec["paths"].items()
              for method in item if path.startswith(("/v1/", "/openai/v1/"))}
    listed = {(m, p.replace("{run}", "{run_id}").replace("/backend", "/{name}")
               .replace("plan.md", "{path}").replace(DECISION, "{decision_id}")
               .replace(HOOK, "{webhook_id}"))
              for m, p, _, _ in MATRIX}
    assert served == listed


@pytest.mark.parametrize(("method", "path", "needed", "body"), MATRIX,
                         ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_roles(setup: Setup, method: str, path: str, needed: Role,
               body: dict[str, object] | None) -> None:
    for role in ("viewer", "operator", "admin"):
        # Each role gets its own run: waiting for approval where the endpoint acts on one.
        run_id = _acme_run(setup, approval=path.endswith(("resume", "cancel")))
        path = path.replace(DECISION, _acme_decision(setup)) if DECISION in path else path
        path = path.replace(HOOK, _acme_hook(setup)) if HOOK in path else path
        with _client(setup, f"acme-{role}") as http:
            status, answer = _call(http, method, path.replace(RUN, run_id), body)
        if RANK[role] < RANK[needed]:
            assert status == 403, (role, answer)
            assert f"needs the {needed} role" in str(answer)  # (in each API's error shape)
        else:
            assert status < 400, (role, answer)


@pytest.mark.parametrize(("method", "path", "needed", "body"),
                         [row for row in MATRIX if RUN in row[1]],
                         ids=[f"{m} {p}" for m, p, _, _ in MATRIX if RUN in p])
def test_another_tenants_run_is_not_found(setup: Setup, method: str, path: str, needed: Role,
                                          body: dict[str, object] | None) -> None:
    run_id = _acme_run(setup, approval=True)
    with _client(setup, "beta-admin") as http:
        status, answer = _call(http, method, path.replace(RUN, run_id), body)
        assert (status, answer["error"]) == (404, "not_found")
        assert http.get("/v1/runs").json()["items"] == []


def test_memory_is_tenant_scoped(setup: Setup) -> None:
    with _client(setup, "acme-operator") as acme, _client(setup, "beta-admin") as beta:
        created = acme.post("/v1/memory", json={"text": "Orders are rate limited per API key.",
                                                "sensitivity": "confidential"})
        assert created.status_code == 201
        hits = acme.post("/v1/memory/search", json={"query": "how are orders rate limited"})
        assert [h["id"] for h in hits.json()][:1] == [created.json()["id"]]
        assert hits.json()[0]["sensitivity"] == "confidential"
        capped = acme.post("/v1/memory/search", json={"query": "orders rate limited",
                                                      "max_sensitivity": "internal"})
        assert created.json()["id"] not in [h["id"] for h in capped.json()]
        assert beta.post("/v1/memory/search", json={"query": "orders rate limited"}
                         ).json() == []


def test_missing_malformed_unknown_and_revoked_keys_are_refused(setup: Setup) -> None:
    with _client(setup, None) as http:
        missing = http.get("/v1/runs")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert "needs an API key" in missing.json()["detail"]
    token = setup.tokens["acme-viewer"]
    for bad, message in [("nonsense", "malformed"), (token[:-4] + "AAAA", "unknown API key")]:
        answer = httpx.get(f"{setup.base}/v1/runs", headers={"Authorization": f"Bearer {bad}"})
        assert answer.status_code == 401
        assert message in answer.json()["detail"]
        assert bad not in answer.text
    key_id = token.split("_")[1]
    setup.store.revoke_key(key_id, at=1.0)
    revoked = httpx.get(f"{setup.base}/v1/runs", headers={"Authorization": f"Bearer {token}"})
    assert (revoked.status_code, revoked.json()["detail"]) == (401, f"API key {key_id} was "
                                                                    "revoked")


def test_health_and_metrics_need_no_key(setup: Setup) -> None:
    assert httpx.get(f"{setup.base}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{setup.base}/readyz").json()
    assert ready["ready"] is True
    assert ready["checks"]["memory"] == {"ok": True}
    assert ready["checks"]["models"]["up"] == ["author", "planner", "reviewer"]
    assert httpx.get(f"{setup.base}/metrics").status_code == 200
