"""Learned routing, offline: learn from half of recorded outcomes, score on the other half.

Outcomes of a local-class and a cloud-class model on the same prompts (default: GSM8K, in
``routing_data/``). The prompts are split in two by a fixed seed (five splits by default, averaged:
one split of 650 prompts moves APGR by a few hundredths); the estimator learns from the first half
only, then ranks the second half as the router does: by the share of the cloud model's expected
success that staying local would give up. Printed for that ranking, the same estimates ranked as an
absolute quality target would rank them (the local estimate alone: every step the local model may
fail goes to the cloud), the length-only ranking of the priors (lowered by prompt size), random and
the oracle: APGR, CPT(50%), CPT(80%) and the largest local share at 95% of cloud-only quality; plus
the calibration error of the learned local estimates.

    python benchmarks/route_learning.py [--outcomes FILE] [--local M] [--cloud M] [--seed 7]
        [--splits 5] [--curve]

``--curve`` adds how the ranking improves with the outcomes learned from: five folds (seed
``--seed``), each scored by estimators that learned from 25%, 50%, 75% and all of the other
four folds (a fifth of the prompts held out every time, so the scores differ only in what was
learned from).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from machine import describe

from hybridcrew.platform.learning import train
from hybridcrew.routing.estimate import difficulty, prompt_complexity
from hybridcrew.routing.learning.estimator import LearnedEstimator
from hybridcrew.routing.learning.evaluate import (
    Evaluation,
    TargetPoint,
    at_targets,
    calibration,
    cloud_preference,
    evaluate,
    random_baseline,
)
from hybridcrew.routing.learning.outcomes import Outcome

DATA = Path(__file__).resolve().parent / "routing_data" / "gsm8k-outcomes.jsonl"
AGENT = "solver"


@dataclass(frozen=True)
class Recorded:
    """Prompts with outcomes of both models (``weak``: the local one's, ``strong``: the cloud's)."""

    prompts: list[str]
    weak: np.ndarray
    strong: np.ndarray
    local: str
    cloud: str

    def learn_from(self, learn: np.ndarray) -> LearnedEstimator:
        """An estimator trained on both models' outcomes of the prompts ``learn`` indexes."""
        return train([Outcome(self.prompts[i], AGENT, model, bool(outcome[i]))
                      for model, outcome in ((self.local, self.weak), (self.cloud, self.strong))
                      for i in learn])

    def preference(self, estimator: LearnedEstimator, score: np.ndarray) -> np.ndarray:
        """The router's preference for the cloud on the prompts ``score`` indexes."""
        rows = estimator.batch_features([self.prompts[i] for i in score])
        preference: np.ndarray = cloud_preference(estimator.learned(self.local, AGENT, rows),
                                                  estimator.learned(self.cloud, AGENT, rows))
        return preference


def load(path: Path, local: str, cloud: str) -> Recorded:
    """The prompts that carry outcomes of both models, with those outcomes."""
    results: dict[str, dict[str, bool]] = {}
    for line in path.read_text("utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            results.setdefault(row["prompt"], {})[row["model"]] = bool(row["success"])
    prompts = sorted(p for p, r in results.items() if local in r and cloud in r)
    weak = np.array([results[p][local] for p in prompts], dtype=np.float64)
    strong = np.array([results[p][cloud] for p in prompts], dtype=np.float64)
    return Recorded(prompts, weak, strong, local, cloud)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--outcomes", type=Path, default=DATA)
    parser.add_argument("--local", default="mixtral-8x7b")
    parser.add_argument("--cloud", default="gpt-4")
    parser.add_argument("--seed", type=int, default=7, help="seed of the first split")
    parser.add_argument("--splits", type=int, default=5,
                        help="learn/score splits (seed, seed+1, ...); results are averaged")
    parser.add_argument("--curve", action="store_true",
                        help="also print APGR and local share against the outcomes learned from")
    args = parser.parse_args()
    data = load(args.outcomes, args.local, args.cloud)
    prompts, weak, strong = data.prompts, data.weak, data.strong
    print(f"machine: {describe()}")
    print(f"outcomes: {args.outcomes.name}, {len(prompts)} prompts, local {args.local} "
          f"{weak.mean():.1%}, cloud {args.cloud} {strong.mean():.1%}; {args.splits} splits "
          f"(seeds {args.seed}..{args.seed + args.splits - 1}), each learning from one half "
          "and scoring the other")
    results: dict[str, list[Evaluation]] = {}
    errors, train_s, features_ms = [], [], []
    targets: list[list[TargetPoint]] = []
    for seed in range(args.seed, args.seed + args.splits):
        order = np.random.default_rng(seed).permutation(len(prompts))
        learn, score = order[: len(order) // 2], order[len(order) // 2:]
        started = time.perf_counter()
        estimator = data.learn_from(learn)
        train_s.append(time.perf_counter() - started)
        held = [prompts[i] for i in score]
        started = time.perf_counter()
        rows = estimator.batch_features(held)
        features_ms.append((time.perf_counter() - started) * 1e3 / len(held))
        p_local = estimator.learned(args.local, AGENT, rows)
        preference = cloud_preference(p_local, estimator.learned(args.cloud, AGENT, rows))
        length = np.array([difficulty(0.5, prompt_complexity([p])) for p in held])
        w, s = weak[score], strong[score]
        for name, result in (("learned", evaluate(preference, w, s)),
                             ("learned, absolute target", evaluate(-p_local, w, s)),
                             ("length only (priors)", evaluate(length, w, s)),
                             ("random", random_baseline(w, s)),
                             ("oracle", evaluate(s - w, w, s))):
            results.setdefault(name, []).append(result)
        errors.append(calibration(p_local, w)[0])
        targets.append(at_targets(preference, w, s))
    print(f"training: {2 * (len(prompts) // 2)} outcomes in {np.mean(train_s):.1f} s; features "
          f"{np.mean(features_ms):.2f} ms per held-out prompt")
    print(f"{'ranking':<26} {'APGR':>6} {'CPT50':>6} {'CPT80':>6} {'local@95%':>10}   "
          "(mean of the splits; APGR min-max)")
    for name, runs in results.items():
        apgr = [r.apgr for r in runs]
        print(f"{name:<26} {np.mean(apgr):6.3f} {np.mean([r.cpt50 for r in runs]):6.0%} "
              f"{np.mean([r.cpt80 for r in runs]):6.0%} "
              f"{np.mean([r.local_at_95 for r in runs]):10.0%}   {min(apgr):.3f}-{max(apgr):.3f}")
    print(f"calibration error of the learned local estimates (ECE): {np.mean(errors):.3f}")
    print("routing.quality_target on the held-out prompts (learned estimates, mean of the splits):")
    print(f"{'target':>7} {'local':>6} {'quality of cloud-only':>22}")
    for i, point in enumerate(targets[0]):
        print(f"{point.target:7.2f} {np.mean([t[i].local_share for t in targets]):6.0%} "
              f"{np.mean([t[i].quality for t in targets]):22.1%}")
    if args.curve:
        learning_curve(data, args.seed)


def learning_curve(data: Recorded, seed: int, folds: int = 5) -> None:
    """APGR and local share at 95% on held-out folds, by how much was learned from."""
    order = np.random.default_rng(seed).permutation(len(data.prompts))
    parts = np.array_split(order, folds)
    print(f"learning curve ({folds} folds, seed {seed}; each scores one fold):")
    print(f"{'prompts learned from':>21} {'APGR':>6} {'local@95%':>10}")
    for share in (0.25, 0.5, 0.75, 1.0):
        runs = []
        for k, score in enumerate(parts):
            rest = np.concatenate([p for j, p in enumerate(parts) if j != k])
            learn = rest[: round(len(rest) * share)]
            preference = data.preference(data.learn_from(learn), score)
            runs.append((evaluate(preference, data.weak[score], data.strong[score]),
                         len(learn)))
        print(f"{np.mean([n for _, n in runs]):21.0f} {np.mean([r.apgr for r, _ in runs]):6.3f} "
              f"{np.mean([r.local_at_95 for r, _ in runs]):10.0%}")


if __name__ == "__main__":
    main()
