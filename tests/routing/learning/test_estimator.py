"""The learned estimator: it learns where a model fails, leans on the prior when data is thin."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hybridcrew.routing.learning.estimator import PRIOR_OUTCOMES, LearnedEstimator

rng = np.random.default_rng(3)


def _data(n: int) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Unit vectors; the model succeeds where the first coordinate is positive."""
    vectors = rng.normal(size=(n, 8))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    texts = [f"question {i}" for i in range(n)]
    return vectors, texts, (vectors[:, 0] > 0).astype(float)


def test_it_learns_where_the_model_fails_and_is_calibrated() -> None:
    vectors, texts, success = _data(600)
    learned = LearnedEstimator.fit(vectors, texts, [("local", "backend")] * 600, success)
    test_vectors, test_texts, test_success = _data(400)
    p = learned.learned("local", "backend", learned.batch_features(test_vectors, test_texts))
    assert ((p > 0.5) == (test_success > 0)).mean() > 0.9
    assert abs(p.mean() - test_success.mean()) < 0.05


def test_with_few_outcomes_the_estimate_stays_near_the_prior() -> None:
    vectors, texts, success = _data(600)
    few = LearnedEstimator.fit(vectors[:4], texts[:4], [("local", "backend")] * 4,
                               np.ones(4))
    many = LearnedEstimator.fit(vectors, texts, [("local", "backend")] * 600, success)
    row_few = few.features(vectors[0], texts[0])
    row_many = many.features(vectors[0], texts[0])
    weight = 4 / (4 + PRIOR_OUTCOMES)
    assert few.estimate("local", "backend", row_few, 0.3) == pytest.approx(
        weight * few.learned("local", "backend", row_few[None, :])[0] + (1 - weight) * 0.3)
    assert few.estimate("cloud", "backend", row_few, 0.42) == 0.42, "unknown pair: the prior"
    weight = 600 / (600 + PRIOR_OUTCOMES)
    assert many.estimate("local", "backend", row_many, 0.3) == pytest.approx(
        weight * many.learned("local", "backend", row_many[None, :])[0] + (1 - weight) * 0.3)


def test_it_is_saved_and_loaded_with_its_version(tmp_path: Path) -> None:
    vectors, texts, success = _data(100)
    learned = LearnedEstimator.fit(vectors, texts, [("local", "qa")] * 100, success, version=3)
    learned.save(tmp_path / "learned")
    again = LearnedEstimator.load(tmp_path / "learned")
    assert again.version == 3
    row = again.features(vectors[0], texts[0])
    assert again.estimate("local", "qa", row, 0.5) == pytest.approx(
        learned.estimate("local", "qa", learned.features(vectors[0], texts[0]), 0.5))
