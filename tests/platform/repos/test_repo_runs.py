"""Runs on a real git repository, with the scripted model: context, edits, checks, grounding."""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from hybridcrew.agents.repos import RepoSpec
from hybridcrew.graphs.lifecycle import EventKind, RunStatus
from hybridcrew.graphs.workspace import Edits
from hybridcrew.platform.metrics import Metrics
from tests.support.crew import make_crew
from tests.support.repos import PRICING, PRICING_FIXED, SHOP, edits, make_repo, repo_crew, snapshot

TASK = "Fix the pricing total: it must add up every price"
FIX = edits("sum every price", ("app/pricing.py", "sum(prices[1:])", "sum(prices)"))


def test_a_repository_run_changes_its_own_branch_and_grounds_the_review(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "shop", {**SHOP, ".env": "TOKEN=ghp_" + "a" * 36})
    before = snapshot(repo)
    crew = make_crew(repo_crew(backend=FIX))
    outcome = crew.start(TASK, repo=RepoSpec(path=str(repo)))

    assert outcome.status == RunStatus.FINISHED
    assert outcome.exit_code == 0, outcome.report
    assert snapshot(repo) == before, "the user's working tree and branch are untouched"
    branch = f"hybridcrew/{outcome.run_id}"
    show = subprocess.run(["git", "-C", str(repo), "show", f"{branch}:app/pricing.py"],
                          check=True, capture_output=True, text=True).stdout
    assert show == PRICING_FIXED
    log = subprocess.run(["git", "-C", str(repo), "log", "--format=%s", f"main..{branch}"],
                         check=True, capture_output=True, text=True).stdout.split("\n")
    assert {"hybridcrew: backend@0", "hybridcrew: frontend@0"} <= set(log)

    report = outcome.report
    assert report is not None
    assert report["repo"]["branch"] == branch
    assert report["repo"]["files_changed"] == 2
    assert "patch.diff" in report["artifacts"]
    patch = (Path(outcome.folder) / "patch.diff").read_text()
    assert "-    return sum(prices[1:])" in patch
    assert "+    return sum(prices)" in patch

    state = crew.state(outcome.run_id)
    verdict = state["verdicts"]["qa"]
    assert verdict["grounded"] is True
    assert verdict["checks"]["ok"] is True
    assert verdict["checks"]["passed"] == 2
    assert verdict["checks"]["baseline_failed"] == 1, "the pricing test failed before"
    events = crew.store.events(outcome.run_id)
    checks = [e for e in events if e.kind == EventKind.CHECKS_RAN]
    assert len(checks) == 1
    assert checks[0].data["isolation"].startswith("bubblewrap")


def test_retrieval_offers_the_relevant_files_and_never_a_denied_one(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "shop", {**SHOP, "secrets/prod.txt": "pricing key xyz",
                                         "keys/site.pem": "pricing"})
    crew = make_crew(repo_crew(backend=FIX))
    spec = RepoSpec(path=str(repo))
    outcome = crew.start(TASK, repo=spec)
    workspace = crew.workspaces.open(outcome.run_id, spec)
    context = workspace.context("pricing total of prices", 2)
    assert context.files[0].path == "app/pricing.py"
    assert "app/pricing.py: total" in context.map
    assert "secrets/prod.txt" not in context.map
    assert "keys/site.pem" not in context.map
    assert ".env" not in context.map


def test_an_edit_that_does_not_apply_goes_back_with_the_exact_error(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "shop", SHOP)
    wrong = edits("try", ("app/pricing.py", "return sum(prices[2:])", "return sum(prices)"))
    crew = make_crew(repo_crew(backend=[wrong, FIX]))
    outcome = crew.start(TASK, repo=RepoSpec(path=str(repo)))
    assert outcome.status == RunStatus.FINISHED
    backend = next(s for s in outcome.steps if s["node"] == "backend")
    assert backend["calls"] == 2
    assert backend["notes"] == ["retried backend-author: edit 1: the search text does not occur "
                                "in app/pricing.py; copy it exactly from the file, with enough "
                                "lines to be unique"]


def test_edits_outside_the_allowed_paths_or_on_the_deny_list_are_refused(tmp_path: Path
                                                                        ) -> None:
    repo = make_repo(tmp_path / "shop", SHOP)
    crew = make_crew(repo_crew(backend=FIX))
    spec = RepoSpec(path=str(repo), allowed_paths=["app/*", "web/*"])
    outcome = crew.start(TASK, repo=spec)
    workspace = crew.workspaces.open(outcome.run_id, spec)

    def attempt(path: str) -> str | None:
        return workspace.apply("extra@0", Edits.model_validate_json(
            edits("x", (path, "", "data\n"))))

    assert attempt("tests/test_new.py") == ("edit 1: tests/test_new.py is outside the allowed "
                                            "paths (app/*, web/*)")
    assert attempt("app/.env") == "edit 1: app/.env is on the deny list; it may not be read or "\
                                  "changed"
    assert attempt("../outside.py") == "edit 1: '../outside.py' is not a path inside the "\
                                       "repository"
    assert attempt("app/.git/config") is not None
    assert not (tmp_path / "outside.py").exists()
    assert (repo / "app/pricing.py").read_text() == PRICING


def test_the_reviewer_may_not_approve_while_checks_fail(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "shop", SHOP)
    breaks = edits("tidy", ("app/users.py", "f'hello {name}'", "f'hi {name}'"))
    crew = make_crew(repo_crew(backend=breaks))  # and QA approves whenever it sees checks
    outcome = crew.start(TASK, repo=RepoSpec(path=str(repo)))
    assert outcome.status == RunStatus.FINISHED
    assert outcome.exit_code == 3, "finished, not approved"
    assert outcome.report is not None
    findings = outcome.report["parts"]["backend"]["findings"]
    assert findings[0] == "checks fail: tests/test_users.py::test_greet"
    checks = [e.data for e in crew.store.events(outcome.run_id)
              if e.kind == EventKind.CHECKS_RAN]
    assert len(checks) == 2, "one review per round, each after the checks"
    assert all(c["new_failures"] == ["tests/test_users.py::test_greet"] for c in checks)
    verdict = crew.state(outcome.run_id)["verdicts"]["qa"]
    assert verdict["grounded"] is True
    assert verdict["checks"]["ok"] is False


def test_a_check_that_runs_forever_is_stopped_and_the_run_goes_on(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "shop", SHOP)
    crew = make_crew(repo_crew(backend=FIX))
    spec = RepoSpec(path=str(repo), test_command="sleep 60", timeout_s=1)
    outcome = crew.start(TASK, repo=spec)
    assert outcome.status == RunStatus.FINISHED
    checks = [e.data for e in crew.store.events(outcome.run_id)
              if e.kind == EventKind.CHECKS_RAN]
    assert checks[0]["stopped"] == "sleep 60: timeout"
    assert checks[0]["ok"] is False
    assert outcome.report is not None
    assert outcome.report["parts"]["backend"]["findings"][0] == (
        "checks stopped: sleep 60: timeout")


KEY_BODY = "MIIEowIBAAKCAQEAw9X2pricingKeyBody7Hq4mNvR2sT8uYwZ1aB3cD5eF7gH9iJ0kL2mN4oP6qR8sT"
KEYED_FILE = ("SIGNING_KEY = '''-----BEGIN RSA PRIVATE KEY-----\n" + KEY_BODY
              + "\n-----END RSA PRIVATE KEY-----'''\n\n\ndef price_signature(total):\n"
              "    return f'{total}:{SIGNING_KEY[-8:]}'\n")


def test_a_file_with_a_private_key_keeps_the_step_local_and_its_value_nowhere(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    repo = make_repo(tmp_path / "shop", {**SHOP, "app/pricing_keys.py": KEYED_FILE})
    data = repo_crew(backend=FIX)
    models = data["models"]
    assert isinstance(models, dict)
    models["cloud"] = {**models["backend-author"], "model": "cloud", "endpoint": "cloud",
                       "location": "cloud", "clearance": "internal",
                       "quality": {"default": 0.99}, "price": {"input": 3, "output": 15}}
    agents = data["agents"]
    assert isinstance(agents, dict)
    agents["backend"] = {"role": "You are a backend engineer.", "model": "auto",
                         "candidates": ["cloud", "backend-author"]}
    crew = make_crew(data)
    metrics = Metrics()
    metrics.attach(crew.runtime, crew.events, crew.store)
    with caplog.at_level(logging.DEBUG):
        outcome = crew.start("Fix the pricing total and its price signature",
                             repo=RepoSpec(path=str(repo)))
    assert outcome.status == RunStatus.FINISHED
    backend = next(e for e in crew.store.events(outcome.run_id)
                   if e.kind == EventKind.STEP_STARTED and e.node == "backend")
    assert backend.data["model"] == "backend-author"
    assert "privacy" in backend.data["rejected_for"]
    decision = crew.store.decision(outcome.run_id, "backend@0")
    assert decision is not None
    assert {(f["detector"], f["part"]) for f in decision["findings"]} >= {
        ("private_key_block", "file:app/pricing_keys.py")}
    assert [r["model"] for r in decision["rejected"] if r["why"] == "privacy"] == ["cloud"]

    everywhere = [json.dumps([e.data for e in crew.store.events(outcome.run_id)]),
                  json.dumps(decision), caplog.text,
                  generate_latest(metrics.registry).decode()]
    everywhere += [p.read_text(errors="replace") for p in Path(outcome.folder).rglob("*")
                   if p.is_file()]
    for text in everywhere:
        assert KEY_BODY not in text


def test_symbolic_links_are_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("pricing secret")
    repo = make_repo(tmp_path / "shop", SHOP)
    (repo / "linked").symlink_to(outside)
    (repo / "pricing-notes.txt").symlink_to(outside / "secret.txt")
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t.org",
                    "commit", "-q", "-m", "links"], check=True)
    crew = make_crew(repo_crew(backend=FIX))
    spec = RepoSpec(path=str(repo))
    outcome = crew.start(TASK, repo=spec)
    workspace = crew.workspaces.open(outcome.run_id, spec)
    context = workspace.context("pricing secret notes", 10)
    assert all("pricing secret" not in f.text for f in context.files)
    refused = workspace.apply("extra@0", Edits.model_validate_json(
        edits("x", ("linked/new.txt", "", "planted\n"))))
    assert refused == ("edit 1: linked/new.txt goes through a symbolic link; edit the file it "
                       "points to instead")
    assert not (outside / "new.txt").exists()


def test_a_credential_in_the_check_command_is_not_shown(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "shop", SHOP)
    token = "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"
    spec = RepoSpec(path=str(repo), test_command=f"GH_TOKEN={token} no-such-runner")
    crew = make_crew(repo_crew(backend=FIX))
    outcome = crew.start(TASK, repo=spec)
    shown = json.dumps([e.data for e in crew.store.events(outcome.run_id)])
    shown += json.dumps(outcome.report)
    assert "no-such-runner" in shown
    assert token not in shown
