"""``hybridcrew keys`` and the guard of ``hybridcrew serve``."""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from typer.testing import CliRunner

from hybridcrew.platform.cli import app
from hybridcrew.platform.keys import authenticate, ensure_admin_token
from hybridcrew.platform.store import open_store
from hybridcrew.settings import load_settings
from tests.support.ports import free_port
from tests.support.processes import answers, running

runner = CliRunner()


def _cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "250"})
    return result.exit_code, result.output


def test_create_list_and_revoke_a_key() -> None:
    code, out = _cli("keys", "create", "--tenant", "acme", "--role", "viewer", "--name", "ci",
                     "--json")
    assert code == 0, out
    created = json.loads(out)
    store = open_store(load_settings())
    caller = authenticate(store, created["token"])
    assert (caller.tenant, caller.role) == ("acme", "viewer")
    code, out = _cli("keys", "list", "--json")
    listed = json.loads(out)
    assert [(k["id"], k["name"], k["revoked"]) for k in listed] == [(created["id"], "ci", False)]
    assert created["token"] not in out, "tokens are never shown again"
    assert _cli("keys", "revoke", created["id"])[0] == 0
    assert json.loads(_cli("keys", "list", "--json")[1])[0]["revoked"] is True


def test_a_key_gets_its_own_rate_limits_at_creation_and_later() -> None:
    code, out = _cli("keys", "create", "--tenant", "acme", "--requests-per-minute", "30",
                     "--json")
    assert code == 0, out
    key_id = json.loads(out)["id"]
    listed = json.loads(_cli("keys", "list", "--json")[1])[0]
    assert (listed["requests_per_minute"], listed["tokens_per_minute"]) == (30, None)
    code, out = _cli("keys", "limit", key_id, "--tokens-per-minute", "0")
    assert code == 0, out
    assert "gateway's requests/min, no tokens limit" in out
    caller = authenticate(open_store(load_settings()), json.loads(
        _cli("keys", "create", "--tenant", "acme", "--json")[1])["token"])
    assert caller.limits.requests_per_minute is None  # the gateway's limit applies
    code, out = _cli("keys", "limit", key_id, "--requests-per-minute", "-1")
    assert code == 2
    assert "--requests-per-minute" in out


def test_bad_key_options_say_how_to_fix_them() -> None:
    code, out = _cli("keys", "create", "--tenant", "Acme Corp")
    assert code == 2
    assert "--tenant: not a valid tenant name" in out
    assert "Acme Corp" not in out
    code, out = _cli("keys", "create", "--tenant", "acme", "--role", "root")
    assert code == 2
    assert "use one of: admin, operator, viewer" in out
    assert "root" not in out
    code, out = _cli("keys", "revoke", "nope")
    assert (code, "KEY_ID: no such key" in out) == (2, True)


def test_serve_refuses_a_public_address_without_keys() -> None:
    code, out = _cli("serve", "--host", "0.0.0.0")
    assert code == 2
    assert "refusing to listen on 0.0.0.0: no API key exists" in out
    assert "hybridcrew keys create" in out


@contextmanager
def _serving(*args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running([sys.executable, "-m", "hybridcrew", "serve", "--port", str(port), *args],
                 answers(f"{base}/healthz"), "the gateway", timeout=30, env=env):
        yield base


def test_serve_runs_the_gateway_on_loopback() -> None:
    with _serving() as base:
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        models = httpx.get(f"{base}/v1/models").json()
        assert "gemma-embedded" in [m["name"] for m in models["models"]]


def test_an_admin_token_from_the_environment_opens_a_public_address() -> None:
    token = f"hc_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}"
    with _serving("--host", "0.0.0.0", env={"HYBRIDCREW_ADMIN_TOKEN": token}) as base:
        assert httpx.get(f"{base}/v1/models").status_code == 401
        answer = httpx.get(f"{base}/v1/models", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200
    # Every replica registers it at start: a second start with the same token is fine.
    assert ensure_admin_token(open_store(load_settings()), token).role == "admin"


def test_a_malformed_admin_token_is_refused_without_echoing_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYBRIDCREW_ADMIN_TOKEN", "letmein-please")
    code, out = _cli("serve")
    assert code == 2
    assert "HYBRIDCREW_ADMIN_TOKEN: not a key in the hc_<id>_<secret> format" in out
    assert "secrets.token_urlsafe" in out
    assert "letmein" not in out
