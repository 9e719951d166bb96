"""The README's n8n check, run with node on a real delivery: it accepts it, and refuses it
when a byte of the body, the signature or the secret differs."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.platform.api.test_webhooks import SECRET, _subscribe
from tests.support.crew import crew_config
from tests.support.gateway import gateway, wait_status
from tests.support.processes import until
from tests.support.replay import ReplayServer, Reply, Seen

README = Path(__file__).resolve().parents[3] / "README.md"
MARKER = "<!-- n8n webhook check:"
# What n8n hands a Code node after a Webhook node with Raw Body on: the headers in json, the
# body as base64 binary data; $env holds the secret.
HARNESS = """
const seen = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const $input = { first: () => ({ json: { headers: seen.headers },
                                 binary: { data: { data: seen.raw } } }) };
const $env = { HYBRIDCREW_WEBHOOK_SECRET: seen.secret };
const run = () => { %s };
try { console.log(JSON.stringify(run())); } catch (e) { console.log('REFUSED ' + e.message); }
"""


def _snippet() -> str:
    text = README.read_text()
    start = text.index("```js", text.index(MARKER)) + len("```js")
    return text[start:text.index("```", start)]


def _check(seen: Seen, raw: bytes, secret: str = SECRET) -> str:
    payload = json.dumps({"headers": seen.headers, "raw": base64.b64encode(raw).decode(),
                          "secret": secret})
    done = subprocess.run(["node", "-e", HARNESS % _snippet()], input=payload,
                          capture_output=True, text=True, timeout=30, check=True)
    return done.stdout.strip()


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_readme_n8n_check_accepts_a_delivery_and_refuses_a_forgery() -> None:
    with ReplayServer() as receiver:
        receiver.route("POST", "/n8n", Reply(200))
        with gateway(crew_config()) as base, httpx.Client(base_url=base, timeout=30) as http:
            _subscribe(http, f"{receiver.url}/n8n", ["run_finished"])
            run_id = http.post("/v1/runs", json={"task": "Add rate limiting"}).json()["id"]
            wait_status(http, run_id, {"finished"})
            until(lambda: bool(receiver.calls("POST", "/n8n")), "the delivery")
        (seen,) = receiver.calls("POST", "/n8n")
    (accepted,) = json.loads(_check(seen, seen.raw))
    assert accepted["json"]["id"] == seen.headers["webhook-id"]
    assert (accepted["json"]["type"], accepted["json"]["run_id"]) == ("run_finished", run_id)
    assert _check(seen, seen.raw.replace(b"run_finished", b"run_finishee")).startswith(
        "REFUSED")
    other = "whsec_" + base64.b64encode(b"another secret of 20b").decode()
    assert _check(seen, seen.raw, other).startswith("REFUSED")
