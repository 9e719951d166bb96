"""The live router learns from the steps runs judged, without any command."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hybridcrew.graphs.ports import StepText
from hybridcrew.platform.cli import app
from hybridcrew.platform.learning import RETRAIN_AFTER, learned_path, relearn
from hybridcrew.platform.store import open_store
from hybridcrew.routing.learning.estimator import LearnedEstimator
from hybridcrew.routing.router import RouteRequest
from hybridcrew.settings import load_settings
from tests.support.crew import REJECT_BACKEND, crew_config, make_crew, write_config
from tests.support.processes import until

TASK = "Add rate limiting to the orders API"


def test_judged_steps_of_runs_retrain_the_router_at_a_refresh() -> None:
    reject = [{"match": "Review round", "reply": json.dumps(REJECT_BACKEND)}]
    crew = make_crew(crew_config(qa_rules=reject))
    path = learned_path(crew.settings.data_dir)
    crew.start(TASK)
    judged = crew.store.judged_steps()
    # The reviewer approved the frontend once and rejected the backend in both rounds.
    assert sorted((j.step.agent, j.step.model, j.success) for j in judged) == [
        ("backend", "author", False), ("backend", "author", False),
        ("frontend", "author", True)]
    assert all(TASK in j.step.text and j.step.step == "implement" for j in judged)
    crew.runtime.collect_signals()
    assert not path.with_suffix(".json").exists(), f"fewer than {RETRAIN_AFTER}: nothing yet"

    crew.start(TASK)  # three more judged steps: enough
    crew.runtime.collect_signals()  # starts the retraining in the background
    until(lambda: path.with_suffix(".json").exists(), "the retrained state")
    until(lambda: crew.runtime.collect_signals() and crew.runtime.learning.estimator is not None,
          "the running router to load it")
    learned = crew.runtime.learning.estimator
    assert learned is not None
    assert learned.live == 6
    assert learned.pairs[("author", "backend")].outcomes == 4
    assert learned.pairs[("author", "backend")].success_rate == 0.0
    learned_only = crew.runtime.estimates(RouteRequest.for_prompt("backend", TASK))
    assert learned_only["author"][0] < 0.5, "the backend's author failed every judged step"


def test_relearning_keeps_the_imported_outcomes_and_trains_once(tmp_path: Path) -> None:
    settings = load_settings()
    config = write_config(tmp_path / "crew.yaml", crew_config())
    outcomes = tmp_path / "outcomes.jsonl"
    outcomes.write_text("".join(json.dumps({"prompt": f"question {i}", "agent": "backend",
                                            "model": "author", "success": i % 2 == 0}) + "\n"
                                for i in range(30)))
    result = CliRunner().invoke(app, ["--config", str(config), "route", "train", str(outcomes)])
    assert result.exit_code == 0, result.stderr
    assert "learned router version 1 from 30 outcomes and 0 judged steps" in result.stdout
    store = open_store(settings)
    for i in range(RETRAIN_AFTER):
        store.record_step_text("r1", f"backend@{i}", StepText("author", "backend", "implement",
                                                              f"migrate table {i}"))
        store.record_outcome("r1", f"backend@{i}", False, weight=3)
    assert relearn(store, settings.data_dir) is None, "trained moments ago: not yet"
    learned = relearn(store, settings.data_dir, interval_s=0)
    assert learned is not None
    assert learned.version == 2
    assert learned.live == RETRAIN_AFTER
    assert learned.pairs[("author", "backend")].outcomes == 30 + 3 * RETRAIN_AFTER, (
        "the imported outcomes stay; a grounded verdict counts three times")
    assert relearn(store, settings.data_dir, interval_s=0) is None, "nothing new: no training"
    assert LearnedEstimator.load(learned_path(settings.data_dir)).version == 2

    status = CliRunner().invoke(app, ["--config", str(config), "route", "status"],
                                env={"COLUMNS": "200"})
    assert status.exit_code == 0, status.stderr
    assert f"{RETRAIN_AFTER} judged steps of runs (0 judged since" in status.stdout
