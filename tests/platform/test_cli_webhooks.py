"""``hybridcrew webhooks``: subscriptions from the command line, seen by a gateway's sender."""

from __future__ import annotations

import json

import httpx
from typer.testing import CliRunner

from hybridcrew.platform.cli import app
from tests.support.crew import crew_config
from tests.support.gateway import gateway, wait_status
from tests.support.processes import until
from tests.support.replay import ReplayServer, Reply

runner = CliRunner()


def _cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "250"})
    return result.exit_code, result.output


def test_a_subscription_added_on_the_command_line_gets_deliveries() -> None:
    with ReplayServer() as receiver:
        receiver.route("POST", "/n8n", Reply(200))
        code, out = _cli("webhooks", "add", f"{receiver.url}/n8n", "--event", "run_finished")
        assert code == 0, out
        assert "whsec_" in out
        code, out = _cli("webhooks", "list", "--json")
        (hook,) = json.loads(out)
        assert (hook["tenant"], hook["events"]) == ("default", ["run_finished"])
        with gateway(crew_config()) as base, httpx.Client(base_url=base, timeout=30) as http:
            run_id = http.post("/v1/runs", json={"task": "Add rate limiting"}).json()["id"]
            wait_status(http, run_id, {"finished"})
            until(lambda: bool(receiver.calls("POST", "/n8n")), "the delivery")
        until(lambda: json.loads(_cli("webhooks", "deliveries", hook["id"], "--json")[1])
              [0]["status"] == "delivered", "the delivery logged")
    assert _cli("webhooks", "remove", hook["id"])[0] == 0
    assert json.loads(_cli("webhooks", "list", "--json")[1]) == []


def test_bad_subscriptions_are_refused_without_echoing_them() -> None:
    code, out = _cli("webhooks", "add", "ftp://secret-host/x", "--event", "run_finished")
    assert code != 0
    assert "url" in out
    assert "secret-host" not in out
    code, out = _cli("webhooks", "add", "http://127.0.0.1:9/x", "--event", "run_exploded")
    assert code != 0
    assert "run_finished" in out  # the kinds it may be
    assert "run_exploded" not in out
    assert _cli("webhooks", "remove", "wh_none")[0] != 0
