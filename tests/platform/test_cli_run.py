"""``hybridcrew run`` and ``hybridcrew runs``: output, exit codes, answers, and errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hybridcrew.platform.cli import app
from tests.support.crew import REJECT_BACKEND, crew_config, write_config

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def _config(tmp_path: Path, **kwargs: object) -> str:
    return str(write_config(tmp_path / "crew.yaml", crew_config(**kwargs)))  # type: ignore[arg-type]


def test_run_json_is_one_document_with_steps_totals_and_artifacts(tmp_path: Path) -> None:
    code, out, _ = run("--config", _config(tmp_path), "run", "Add rate limiting", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["status"] == "finished"
    assert data["approved"] is True
    assert data["steps"][0]["key"] == "plan@0"
    assert data["totals"]["steps"] == 4
    assert "app/limiter.py" in data["artifacts"]
    assert Path(data["artifacts_dir"], "app/limiter.py").is_file()


def test_run_human_output_has_closing_table_and_counterfactual(tmp_path: Path) -> None:
    code, out, _ = run("--config", _config(tmp_path), "run", "Add rate limiting")
    assert code == 0
    assert "backends found: scripted" in out
    assert "this run cost $" in out
    assert "all on Claude it would have cost $" in out
    assert "frontend: approved" in out
    for column in ("step", "agent", "model", "where", "why", "tokens", "cost"):
        assert column in out


def test_not_approved_exits_3_and_says_why(tmp_path: Path) -> None:
    reject = [{"match": "Review round", "reply": json.dumps(REJECT_BACKEND)}]
    code, out, _ = run("--config", _config(tmp_path, qa_rules=reject), "run", "Add rate limiting")
    assert code == 3
    assert "backend: not approved — no tests for the limiter" in out


def test_gate_waits_exit_4_then_resume_answers(tmp_path: Path) -> None:
    config = _config(tmp_path)
    code, out, _ = run("--config", config, "run", "Add rate limiting", "--gate", "--json")
    data = json.loads(out)
    assert code == 4
    assert data["status"] == "waiting"
    assert data["pending"]["kind"] == "approval"
    code, out, _ = run("--config", config, "runs", "show", data["run_id"], "--json")
    assert code == 0
    assert json.loads(out)["status"] == "waiting"
    code, out, _ = run("--config", config, "runs", "resume", data["run_id"], "--approve",
                       "--json")
    assert code == 0
    assert json.loads(out)["approved"] is True


def test_yes_answers_the_gate(tmp_path: Path) -> None:
    code, out, _ = run("--config", _config(tmp_path), "run", "x", "--gate", "--yes", "--json")
    assert code == 0
    assert json.loads(out)["status"] == "finished"


def test_runs_list_and_show(tmp_path: Path) -> None:
    config = _config(tmp_path)
    _, out, _ = run("--config", config, "run", "Add rate limiting", "--json")
    run_id = json.loads(out)["run_id"]
    code, out, _ = run("--config", config, "runs", "list", "--json")
    assert code == 0
    assert [r["id"] for r in json.loads(out)] == [run_id]
    code, out, _ = run("--config", config, "runs", "show", run_id)
    assert code == 0
    assert "plan@0" in out
    assert "this run cost" in out


def test_resume_errors_are_clear(tmp_path: Path) -> None:
    config = _config(tmp_path)
    _, out, _ = run("--config", config, "run", "Add rate limiting", "--json")
    run_id = json.loads(out)["run_id"]
    code, _, err = run("--config", config, "runs", "resume", run_id)
    assert code == 1
    assert f"run {run_id} is finished: nothing to resume" in err
    code, _, err = run("--config", config, "runs", "resume", "nope")
    assert code == 1
    assert "no run 'nope'" in err
    code, _, err = run("--config", config, "runs", "resume", run_id, "--approve", "--reject")
    assert code == 2
    assert "give at most one answer" in err


def test_blocked_run_exits_1_with_the_reason(tmp_path: Path) -> None:
    data = crew_config()
    data["models"]["planner"]["location"] = "cloud"
    data["models"]["planner"]["clearance"] = "internal"
    config = str(write_config(tmp_path / "crew.yaml", data))
    code, out, _ = run("--config", config, "run", "Use key AKIA2OGYBAH6TLPQ4RZC to deploy")
    assert code == 1
    assert "blocked" in out
    assert "privacy" in out
    assert "AKIA2OGYBAH6TLPQ4RZC" not in out


def test_empty_task_and_unknown_workflow(tmp_path: Path) -> None:
    config = _config(tmp_path)
    code, _, err = run("--config", config, "run", "  ")
    assert code == 2
    assert "the task is empty" in err
    code, _, err = run("--config", config, "run", "x", "--workflow", "nope")
    assert code == 2
    assert "no such workflow" in err


def test_runs_events_prints_the_event_log_of_a_run(tmp_path: Path) -> None:
    config = _config(tmp_path)
    _, out, _ = run("--config", config, "run", "Add rate limiting", "--gate", "--json")
    run_id = json.loads(out)["run_id"]
    code, out, _ = run("--config", config, "runs", "events", run_id)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[0] == "1"
    assert "run started (delivery workflow)" in lines[0]
    assert any("plan@0 → planner (local), pinned" in line for line in lines)
    assert any("backend approved (work of author)" in line for line in lines)
    assert "waiting: " in lines[-1]
    code, out, _ = run("--config", config, "runs", "events", run_id, "--json")
    assert [e["kind"] for e in json.loads(out)][-1] == "waiting"
    code, _, err = run("--config", config, "runs", "events", "20990101-000000-abcdef")
    assert code == 1
    assert "no run" in err
