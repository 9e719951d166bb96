"""The learned estimator: it learns where a model fails, leans on the prior when data is thin."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hybridcrew.routing.learning.estimator import PRIOR_OUTCOMES, LearnedEstimator, blended
from hybridcrew.routing.learning.evaluate import calibration
from hybridcrew.routing.learning.features import DIMENSIONS, ngram_vector

HARD = ("migrate", "schema", "index", "transaction", "replica", "deadlock", "partition")
EASY = ("button", "colour", "margin", "label", "tooltip", "spacing", "icon")
COMMON = ("please", "update", "the", "code", "so", "that", "it", "works", "for", "users", "and")


def _data(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """Steps about databases (the model fails 90% of them) or about UI (it fails 10%)."""
    rng = random.Random(seed)
    texts, success = [], []
    for _ in range(n):
        hard = rng.random() < 0.5
        words = rng.sample(HARD if hard else EASY, 3) + rng.sample(COMMON, 6)
        rng.shuffle(words)
        texts.append(" ".join(words) + f" in {rng.randrange(1, 500)} places")
        success.append(rng.random() < (0.1 if hard else 0.9))
    return texts, np.array(success, dtype=float)


def test_it_learns_where_the_model_fails_and_is_calibrated() -> None:
    texts, success = _data(1000, seed=1)
    learned = LearnedEstimator.fit(texts, [("local", "backend")] * 1000, success)
    held, held_success = _data(1000, seed=2)
    p = learned.learned("local", "backend", learned.batch_features(held))
    hard = np.array([any(w in t for w in HARD) for t in held])
    assert (p[hard] < 0.5).mean() > 0.95
    assert (p[~hard] > 0.5).mean() > 0.95
    error, _ = calibration(p, held_success)
    assert error < 0.08, "a predicted 0.9 succeeds about 90% of the time"


def test_with_few_outcomes_the_estimate_stays_near_the_prior() -> None:
    texts, success = _data(600, seed=1)
    few = LearnedEstimator.fit(texts[:4], [("local", "backend")] * 4, np.ones(4))
    many = LearnedEstimator.fit(texts, [("local", "backend")] * 600, success)
    row_few, row_many = few.features(texts[0]), many.features(texts[0])
    # What the router does with a step's estimates: blend each with its model's prior.
    for_few, for_many = few.for_step("backend", row_few), many.for_step("backend", row_many)
    weight = 4 / (4 + PRIOR_OUTCOMES)
    assert blended(0.3, for_few.get("local")) == pytest.approx(
        weight * few.learned("local", "backend", row_few[None, :])[0] + (1 - weight) * 0.3)
    assert blended(0.42, for_few.get("cloud")) == 0.42, "unknown pair: the prior"
    weight = 600 / (600 + PRIOR_OUTCOMES)
    assert blended(0.3, for_many.get("local")) == pytest.approx(
        weight * many.learned("local", "backend", row_many[None, :])[0] + (1 - weight) * 0.3)


def test_it_is_saved_and_loaded_with_its_version(tmp_path: Path) -> None:
    texts, success = _data(100, seed=3)
    learned = LearnedEstimator.fit(texts, [("local", "qa")] * 100, success, version=3)
    learned.save(tmp_path / "learned")
    again = LearnedEstimator.load(tmp_path / "learned")
    assert again.version == 3
    assert again.for_step("qa", again.features(texts[0]))["local"] == pytest.approx(
        learned.for_step("qa", learned.features(texts[0]))["local"])


def test_features_read_numbers_by_size_and_are_the_same_in_every_process() -> None:
    vector = ngram_vector("Janet has 16 ducks and sells 9 eggs")
    assert vector.shape == (DIMENSIONS,)
    assert np.linalg.norm(vector - ngram_vector("")) == pytest.approx(1.0), (
        "words and pairs make a unit vector; the step's kind adds its own weight")
    assert np.count_nonzero(vector - ngram_vector("Janet has 16 ducks and sells 9 eggs",
                                                  "review")) == 2
    assert np.array_equal(vector, ngram_vector("janet has 42 ducks and sells 3 eggs"))
    assert not np.array_equal(vector, ngram_vector("Janet has 16 geese and sells 9 eggs"))
    code = ("import sys; from hybridcrew.routing.learning.features import ngram_vector; "
            "sys.stdout.write(ngram_vector('Janet has 16 ducks').tobytes().hex())")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={"PYTHONHASHSEED": "123", "PATH": ""}).stdout
    assert bytes.fromhex(other) == ngram_vector("Janet has 16 ducks").tobytes(), (
        "a trained state must mean the same in the gateway, the workers and the CLI")


def test_the_step_kind_is_a_feature() -> None:
    """The same texts: the model succeeds when implementing, fails when reviewing."""
    texts, _ = _data(400, seed=4)
    kinds = ["review" if i % 2 else "implement" for i in range(400)]
    success = np.array([kind == "implement" for kind in kinds], dtype=float)
    learned = LearnedEstimator.fit(texts, [("local", "qa")] * 400, success, kinds=kinds)
    held, _ = _data(50, seed=5)
    implement = learned.learned("local", "qa", learned.batch_features(held, ["implement"] * 50))
    review = learned.learned("local", "qa", learned.batch_features(held, ["review"] * 50))
    assert (implement > 0.7).all()
    assert (review < 0.3).all()
