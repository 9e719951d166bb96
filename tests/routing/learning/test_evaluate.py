"""Offline routing metrics on rankings whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from hybridcrew.routing.learning.evaluate import (
    at_targets,
    calibration,
    cloud_preference,
    evaluate,
    quality_curve,
    random_baseline,
)

# Ten prompts: the weak model fails the first four; the strong one fails only the last.
WEAK = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1], dtype=float)
STRONG = np.array([1, 1, 1, 1, 1, 1, 1, 1, 1, 0], dtype=float)


def test_the_curve_goes_from_weak_only_to_strong_only() -> None:
    curve = quality_curve(np.arange(10, 0, -1, dtype=float), WEAK, STRONG)
    assert curve[0] == pytest.approx(0.6)
    assert curve[-1] == pytest.approx(0.9)
    assert curve[4] == pytest.approx(1.0), "the four the weak model fails went to the cloud"


def test_a_perfect_ranking_recovers_the_gap_with_the_least_cloud() -> None:
    best = evaluate(STRONG - WEAK, WEAK, STRONG)
    assert best.cpt50 == pytest.approx(0.2)
    assert best.cpt80 == pytest.approx(0.3)
    assert best.apgr > 1.0
    assert best.local_at_95 == pytest.approx(0.7)


def test_a_reversed_ranking_is_worse_than_random() -> None:
    worst = evaluate(WEAK - STRONG, WEAK, STRONG)
    rand = random_baseline(WEAK, STRONG)
    assert worst.apgr < rand.apgr < evaluate(STRONG - WEAK, WEAK, STRONG).apgr
    assert rand.apgr == pytest.approx(0.5, abs=0.05)


def test_calibration_error_is_zero_for_honest_estimates() -> None:
    predicted = np.array([0.25] * 4 + [0.75] * 4)
    observed = np.array([1, 0, 0, 0, 1, 1, 1, 0], dtype=float)
    error, bins = calibration(predicted, observed)
    assert error == pytest.approx(0.0)
    assert [(p, o, n) for p, o, n in bins] == [(0.25, 0.25, 4), (0.75, 0.75, 4)]


def test_each_quality_target_keeps_local_what_the_router_would() -> None:
    """Estimates of the local and cloud model for the ten prompts: each target keeps local the
    prompts whose local estimate reaches that share of the cloud's."""
    p_local = np.array([0.2, 0.3, 0.4, 0.5, 0.8, 0.8, 0.8, 0.9, 0.9, 0.9])
    p_cloud = np.full(10, 0.9)
    preference = cloud_preference(p_local, p_cloud)
    points = {p.target: p for p in at_targets(preference, WEAK, STRONG, (0.0, 0.5, 0.85, 1.0))}
    assert points[0.0].local_share == 1.0
    assert points[0.0].quality == pytest.approx(0.6 / 0.9), "all local: the weak model's rate"
    assert points[0.5].local_share == pytest.approx(0.7), "0.5 and more of 0.9 stay local"
    assert points[0.85].local_share == pytest.approx(0.6)
    assert points[0.85].quality == pytest.approx(1.0 / 0.9), "only the weak model's failures left"
    assert points[1.0].local_share == pytest.approx(0.3), "only where local is as good"
