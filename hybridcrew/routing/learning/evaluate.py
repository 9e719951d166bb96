"""Offline evaluation of a routing score on prompts with outcomes of both models.

Definitions follow RouteLLM (arXiv 2406.18665): sort the prompts by the router's score, send the
top x% to the strong (cloud) model and the rest to the weak (local) one; quality(x) is the
resulting success rate.

- **APGR**: (area under quality(x) - weak-only quality) / (strong-only - weak-only quality).
  A random router scores about 0.5; an oracle can pass 1 (it sends only what the weak model
  fails and the strong one solves).
- **CPT(p)**: the cloud share needed to recover ``p`` of the gap between weak and strong.
- **Local share at 95%**: the largest share kept local while quality stays ≥ 95% of cloud-only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Vector = NDArray[np.float64]
RANDOM_SEEDS = 50


@dataclass(frozen=True)
class Evaluation:
    """How well a score ranks prompts for the cloud."""

    apgr: float
    cpt50: float
    cpt80: float
    local_at_95: float
    curve: Vector
    """Quality at cloud share 0, 1/n, ..., 1."""


def quality_curve(score: Vector, weak: Vector, strong: Vector) -> Vector:
    """Success rate when the ``k`` highest-scoring prompts go to the strong model, k = 0..n."""
    order = np.argsort(-score, kind="stable")
    gain = (strong - weak)[order]
    curve: Vector = (weak.sum() + np.concatenate([[0.0], np.cumsum(gain)])) / len(score)
    return curve


def evaluate(score: Vector, weak: Vector, strong: Vector) -> Evaluation:
    """APGR, CPT(50%), CPT(80%) and the local share at 95% of cloud-only quality."""
    curve = quality_curve(score, weak, strong)
    return Evaluation(apgr(curve), cpt(curve, 0.5), cpt(curve, 0.8), local_share(curve, 0.95),
                      curve)


def cloud_preference(p_local: Vector, p_cloud: Vector) -> Vector:
    """The router's ranking of prompts for the cloud: ``1 - p_local / p_cloud``.

    The share of the cloud model's expected success that staying local gives up. The router's
    relative quality target keeps a step local while this is at most ``1 - quality_target``, so
    sweeping the target sweeps a threshold over it.
    """
    preference: Vector = 1.0 - p_local / np.maximum(p_cloud, 1e-12)
    return preference


TARGETS = (0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0)
"""The quality targets ``route eval`` shows the outcome of."""


@dataclass(frozen=True)
class TargetPoint:
    """What one quality target gives on prompts with outcomes of both models."""

    target: float
    local_share: float
    quality: float
    """Success rate relative to sending every prompt to the cloud (1.0: as good)."""


def at_targets(preference: Vector, weak: Vector, strong: Vector,
               targets: tuple[float, ...] = TARGETS) -> list[TargetPoint]:
    """The local share and quality each target gives, routing as the router does.

    A prompt stays local while :func:`cloud_preference` is at most ``1 - target``.
    """
    points = []
    cloud_only = float(strong.mean()) or 1.0
    for target in targets:
        local = preference <= 1.0 - target + 1e-12
        quality = float(np.where(local, weak, strong).mean()) / cloud_only
        points.append(TargetPoint(target, float(local.mean()), quality))
    return points


def random_baseline(weak: Vector, strong: Vector, seed: int = 7) -> Evaluation:
    """The average of random rankings (its curve is the average curve)."""
    rng = np.random.default_rng(seed)
    curves = [quality_curve(rng.random(len(weak)), weak, strong) for _ in range(RANDOM_SEEDS)]
    curve = np.mean(curves, axis=0)
    return Evaluation(apgr(curve), cpt(curve, 0.5), cpt(curve, 0.8), local_share(curve, 0.95),
                      curve)


def apgr(curve: Vector) -> float:
    """Average performance gap recovered."""
    weak, strong = float(curve[0]), float(curve[-1])
    if strong == weak:
        return 0.0
    area = float(np.trapezoid(curve, np.linspace(0.0, 1.0, len(curve))))
    return (area - weak) / (strong - weak)


def cpt(curve: Vector, recovered: float) -> float:
    """The cloud share needed to recover ``recovered`` of the weak-to-strong gap."""
    weak, strong = curve[0], curve[-1]
    reached = np.nonzero(curve >= weak + recovered * (strong - weak) - 1e-12)[0]
    return float(reached[0]) / (len(curve) - 1)


def local_share(curve: Vector, of_cloud_quality: float) -> float:
    """The largest share kept local with quality >= ``of_cloud_quality`` of cloud-only quality."""
    reached = np.nonzero(curve >= of_cloud_quality * curve[-1] - 1e-12)[0]
    return 1.0 - float(reached[0]) / (len(curve) - 1)


def calibration(predicted: Vector, observed: Vector, bins: int = 10
                ) -> tuple[float, list[tuple[float, float, int]]]:
    """Expected calibration error, and per bin (mean predicted, observed rate, count)."""
    which = np.clip((predicted * bins).astype(int), 0, bins - 1)
    table: list[tuple[float, float, int]] = []
    error = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            p, o = float(predicted[mask].mean()), float(observed[mask].mean())
            table.append((p, o, int(mask.sum())))
            error += abs(p - o) * float(mask.mean())
    return error, table
