"""Learned estimates in live decisions: they shift the choice as outcomes accrue."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import pytest

from hybridcrew.platform.learning import learned_path, train
from hybridcrew.routing.learning.outcomes import Outcome
from hybridcrew.routing.router import RouteRequest
from hybridcrew.routing.runtime import RoutingRuntime
from hybridcrew.settings import load_settings
from tests.support.configs import config_from
from tests.support.crew import scripted

ROOT = Path(__file__).resolve().parents[3]


def _config() -> dict[str, object]:
    local = {**scripted("local"), "quality": {"default": 0.8}}
    cloud = {**scripted("cloud"), "location": "cloud", "clearance": "internal",
             "quality": {"default": 0.9}, "price": {"input": 3, "output": 15}}
    return {"models": {"mixtral-8x7b": local, "gpt-4": cloud},
            "agents": {"solver": {"role": "You solve maths word problems.", "model": "auto",
                                  "candidates": ["mixtral-8x7b", "gpt-4"]}},
            "routing": {"quality_target": 0.6}}


def _questions(n: int) -> list[str]:
    lines = (ROOT / "benchmarks/routing_data/gsm8k-outcomes.jsonl").read_text().splitlines()
    return list(dict.fromkeys(json.loads(line)["prompt"] for line in lines))[:n]


def test_outcomes_move_the_choice_and_a_retrain_reaches_a_running_router() -> None:
    settings = load_settings()
    config = config_from(_config())
    runtime = RoutingRuntime(config, settings)
    question = _questions(1)[0]
    before = runtime.decide(RouteRequest.for_prompt("solver", question))
    assert before.model == "mixtral-8x7b", "on the priors the local model meets the target"
    assert set(dict(before.estimates)) == {"mixtral-8x7b", "gpt-4"}

    # The local model failed every one of these questions; the cloud model solved them.
    seen = _questions(120)[1:]
    outcomes = [Outcome(q, "solver", "mixtral-8x7b", False) for q in seen] + [
        Outcome(q, "solver", "gpt-4", True) for q in seen]
    train(outcomes, learned_path(settings.data_dir)).save(learned_path(settings.data_dir))
    runtime.collect_signals()  # the background refresh picks the new version up

    after = runtime.decide(RouteRequest.for_prompt("solver", question))
    estimates = dict(after.estimates)
    assert estimates["mixtral-8x7b"] < 0.3
    assert estimates["gpt-4"] > 0.8
    assert after.model == "gpt-4"
    assert after.to_dict()["estimates"] == pytest.approx(estimates)


def test_estimates_are_computed_before_the_decision_which_only_reads_them() -> None:
    settings = load_settings()
    texts = _questions(30)
    train([Outcome(t, "solver", "mixtral-8x7b", i % 2 == 0) for i, t in enumerate(texts)]
          ).save(learned_path(settings.data_dir))
    runtime = RoutingRuntime(config_from(_config()), settings)
    request = RouteRequest.for_prompt("solver", texts[3])
    decided = runtime.decide(request)
    learned = runtime.estimates(request)
    assert set(learned) == {"mixtral-8x7b"}, "only what was trained"
    # A router that never loaded the learned state routes the same on the estimates alone.
    fresh = RoutingRuntime(config_from(_config()), load_settings(data_dir=settings.data_dir
                                                                 / "elsewhere"))
    assert fresh.learning.estimator is None
    again = fresh.router.decide(dataclasses.replace(request, learned=learned),
                                runtime.signals.current)
    assert again.estimates == decided.estimates
    assert fresh.decide(request).estimates != decided.estimates, "without them: the priors"


@pytest.mark.parametrize(("target", "chosen"), [(0.5, "mixtral-8x7b"), (0.85, "gpt-4")])
def test_the_quality_target_is_the_share_of_the_best_candidates_expected_success(
        target: float, chosen: str) -> None:
    """Local succeeds on about two thirds of these questions and the cloud on all: keeping half
    of the cloud's expected success keeps the step local, keeping 85% of it buys the cloud."""
    settings = load_settings()
    seen = _questions(150)
    outcomes = [Outcome(q, "solver", "mixtral-8x7b", i % 3 != 0) for i, q in enumerate(seen)]
    outcomes += [Outcome(q, "solver", "gpt-4", True) for q in seen]
    train(outcomes).save(learned_path(settings.data_dir))
    data = _config()
    data["routing"] = {"quality_target": target}
    runtime = RoutingRuntime(config_from(data), settings)
    decision = runtime.decide(RouteRequest.for_prompt("solver", _questions(160)[155]))
    estimates = dict(decision.estimates)
    assert 0.5 < estimates["mixtral-8x7b"] / estimates["gpt-4"] < 0.85
    assert decision.model == chosen


def test_a_step_every_model_is_likely_to_fail_does_not_buy_the_cloud() -> None:
    """Both models fail most of these steps: the cloud would cost more for next to no gain."""
    settings = load_settings()
    seen = _questions(150)
    outcomes = [Outcome(q, "solver", model, i % 5 == 0) for i, q in enumerate(seen)
                for model in ("mixtral-8x7b", "gpt-4")]
    train(outcomes).save(learned_path(settings.data_dir))
    data = _config()
    data["routing"] = {"quality_target": 0.85}
    runtime = RoutingRuntime(config_from(data), settings)
    decision = runtime.decide(RouteRequest.for_prompt("solver", _questions(160)[155]))
    estimates = dict(decision.estimates)
    assert max(estimates.values()) < 0.4, "neither model is expected to reach the target alone"
    assert decision.model == "mixtral-8x7b"


HARD = ("migrate", "schema", "index", "transaction", "replica", "deadlock", "partition")
EASY = ("button", "colour", "margin", "label", "tooltip", "spacing", "icon")
FILLER = ("please", "update", "the", "code", "so", "that", "it", "works", "for", "users", "and")


def _step(rng: random.Random, hard: bool) -> str:
    words = rng.sample(HARD if hard else EASY, 3) + rng.sample(FILLER, 6)
    rng.shuffle(words)
    return " ".join(words) + f" in {rng.randrange(1, 500)} places"


def _kinds() -> list[Outcome]:
    """The local model fails database steps and succeeds at UI ones; the cloud does both."""
    rng = random.Random(5)
    outcomes = []
    for i in range(300):
        text = _step(rng, hard=i % 2 == 0)
        outcomes += [Outcome(text, "solver", "mixtral-8x7b", i % 2 == 1),
                     Outcome(text, "solver", "gpt-4", True)]
    return outcomes


def _trained_on_kinds() -> RoutingRuntime:
    settings = load_settings()
    train(_kinds()).save(learned_path(settings.data_dir))
    data = _config()
    data["routing"] = {"quality_target": 0.7}
    return RoutingRuntime(config_from(data), settings)


def test_steps_of_the_kind_the_local_model_fails_go_to_the_cloud_the_rest_stay() -> None:
    runtime = _trained_on_kinds()
    rng = random.Random(99)  # steps not seen in training
    for _ in range(5):
        database = runtime.decide(RouteRequest.for_prompt("solver", _step(rng, hard=True)))
        ui = runtime.decide(RouteRequest.for_prompt("solver", _step(rng, hard=False)))
        assert database.model == "gpt-4"
        assert dict(database.estimates)["mixtral-8x7b"] < 0.5
        assert ui.model == "mixtral-8x7b"
        assert dict(ui.estimates)["mixtral-8x7b"] > 0.7


def test_learning_never_overrides_a_hard_constraint() -> None:
    runtime = _trained_on_kinds()
    decision = runtime.decide(RouteRequest.for_prompt(
        "solver", _step(random.Random(7), hard=True) + "; the DSN is "
                  "postgres://app:Xk3rPq9vLm2Tz8Wd@db.internal:5432/orders"))
    assert decision.model == "mixtral-8x7b", "the cloud may not see a secret, however good"
    assert [r.why for r in decision.rejected] == ["privacy"]
    assert decision.sensitivity.label == "secret"
    assert "gpt-4" not in dict(decision.estimates)
