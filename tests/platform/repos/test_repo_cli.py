"""``run --repo``, ``runs apply`` and ``runs feedback`` from the command line; repos over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from typer.testing import CliRunner

from hybridcrew.platform.cli import app
from hybridcrew.platform.store import open_store
from hybridcrew.settings import load_settings
from tests.support.crew import write_config
from tests.support.gateway import gateway, wait_status
from tests.support.repos import PRICING, PRICING_FIXED, SHOP, edits, make_repo, repo_crew

TASK = "Fix the pricing total: it must add up every price"
FIX = edits("sum every price", ("app/pricing.py", "sum(prices[1:])", "sum(prices)"))
runner = CliRunner()


def _cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_run_on_a_repo_then_apply_its_patch_and_give_feedback(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "shop", SHOP)
    config = str(write_config(tmp_path / "crew.yaml", repo_crew(backend=FIX)))
    code, out, err = _cli("--config", config, "run", TASK, "--repo", str(repo), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["repo"]["branch"] == f"hybridcrew/{result['run_id']}"
    assert (repo / "app/pricing.py").read_text() == PRICING, "nothing applied yet"

    code, out, _ = _cli("--config", config, "runs", "apply", result["run_id"])
    assert code == 0
    assert "app/pricing.py" in out
    assert (repo / "app/pricing.py").read_text() == PRICING_FIXED
    code, _, err = _cli("--config", config, "runs", "apply", result["run_id"])
    assert code == 2
    assert "the patch does not apply to the checkout as it is now" in err

    store = open_store(load_settings())
    before = store.verdicts().get(("backend-author", "backend"), (0, 0))
    code, out, _ = _cli("--config", config, "runs", "feedback", result["run_id"], "--bad",
                        "--comment", "wrong rounding")
    assert (code, out.strip()) == (0, "recorded: bad")
    assert store.verdicts()[("backend-author", "backend")] == (before[0], before[1] + 1)


def test_a_path_that_is_not_a_git_checkout_is_refused(tmp_path: Path) -> None:
    config = str(write_config(tmp_path / "crew.yaml", repo_crew(backend=FIX)))
    (tmp_path / "plain").mkdir()
    code, _, err = _cli("--config", config, "run", TASK, "--repo", str(tmp_path / "plain"))
    assert code == 2
    assert "not a git checkout with at least one commit" in err
    assert "Traceback" not in err


def test_over_http_a_client_names_a_registered_repository(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "shop", SHOP)
    data = repo_crew(backend=FIX)
    data["repos"] = {"shop": {"path": str(repo)}}
    with gateway(data) as base, httpx.Client(base_url=base, timeout=30) as http:
        unknown = http.post("/v1/runs", json={"task": TASK, "repo": "other"})
        assert unknown.status_code == 422
        assert str(repo) not in unknown.text
        path_given = http.post("/v1/runs", json={"task": TASK, "repo": str(repo)})
        assert path_given.status_code == 422, "a path is not a repository name"
        accepted = http.post("/v1/runs", json={"task": TASK, "repo": "shop"})
        assert accepted.status_code == 202
        run = wait_status(http, accepted.json()["id"], {"finished", "failed"}, timeout=120)
        assert run["status"] == "finished"
        assert run["report"]["repo"]["files_changed"] == 2
        assert "patch.diff" in run["artifacts"]
        backend = next(s for s in run["steps"] if s["node"] == "backend")
        assert backend["outcome"]["reviewer"] == "qa"
        assert backend["outcome"]["approved"] is True
        assert backend["outcome"]["grounded"] is True
        assert backend["outcome"]["checks"]["passed"] == 2
        assert backend["decision"]["findings"] == []
        feedback = http.post(f"/v1/runs/{run['id']}/feedback", json={"good": True})
        assert feedback.json() == {"id": run["id"], "good": True}
