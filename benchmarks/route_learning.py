"""Learned routing, offline: learn from half of recorded outcomes, score on the other half.

Outcomes of a local-class and a cloud-class model on the same prompts (default: GSM8K, in
``routing_data/``). The prompts are split in two by a fixed seed (five splits by default,
averaged: one split of 650 prompts moves APGR by a few hundredths); the estimator learns from
the first half only, then ranks the second half by its expected gain from the cloud model.
Printed for that ranking, today's length-only ranking (the priors lowered by prompt size),
random and the oracle: APGR, CPT(50%), CPT(80%) and the largest local share at 95% of
cloud-only quality; plus the calibration error of the learned local estimates.

    python benchmarks/route_learning.py [--outcomes FILE] [--local M] [--cloud M] [--seed 7]
        [--splits 5]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from machine import describe

from hybridcrew.platform.learning import train
from hybridcrew.routing.estimate import difficulty, prompt_complexity
from hybridcrew.routing.learning.evaluate import (
    Evaluation,
    calibration,
    evaluate,
    random_baseline,
)
from hybridcrew.routing.learning.outcomes import Outcome

DATA = Path(__file__).resolve().parent / "routing_data" / "gsm8k-outcomes.jsonl"
AGENT = "solver"


def load(path: Path, local: str, cloud: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Prompts with outcomes of both models, and those outcomes (local, cloud)."""
    results: dict[str, dict[str, bool]] = {}
    for line in path.read_text("utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            results.setdefault(row["prompt"], {})[row["model"]] = bool(row["success"])
    prompts = sorted(p for p, r in results.items() if local in r and cloud in r)
    weak = np.array([results[p][local] for p in prompts], dtype=np.float64)
    strong = np.array([results[p][cloud] for p in prompts], dtype=np.float64)
    return prompts, weak, strong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--outcomes", type=Path, default=DATA)
    parser.add_argument("--local", default="mixtral-8x7b")
    parser.add_argument("--cloud", default="gpt-4")
    parser.add_argument("--seed", type=int, default=7, help="seed of the first split")
    parser.add_argument("--splits", type=int, default=5,
                        help="learn/score splits (seed, seed+1, ...); results are averaged")
    args = parser.parse_args()
    prompts, weak, strong = load(args.outcomes, args.local, args.cloud)
    print(f"machine: {describe()}")
    print(f"outcomes: {args.outcomes.name}, {len(prompts)} prompts, local {args.local} "
          f"{weak.mean():.1%}, cloud {args.cloud} {strong.mean():.1%}; {args.splits} splits "
          f"(seeds {args.seed}..{args.seed + args.splits - 1}), each learning from one half "
          "and scoring the other")
    results: dict[str, list[Evaluation]] = {}
    errors, train_s, features_ms = [], [], []
    for seed in range(args.seed, args.seed + args.splits):
        order = np.random.default_rng(seed).permutation(len(prompts))
        learn, score = order[: len(order) // 2], order[len(order) // 2:]
        started = time.perf_counter()
        estimator = train([Outcome(prompts[i], AGENT, model, bool(outcome[i]))
                           for model, outcome in ((args.local, weak), (args.cloud, strong))
                           for i in learn])
        train_s.append(time.perf_counter() - started)
        held = [prompts[i] for i in score]
        started = time.perf_counter()
        rows = estimator.batch_features(held)
        features_ms.append((time.perf_counter() - started) * 1e3 / len(held))
        p_local = estimator.learned(args.local, AGENT, rows)
        gain = estimator.learned(args.cloud, AGENT, rows) - p_local
        length = np.array([difficulty(0.5, prompt_complexity([p])) for p in held])
        w, s = weak[score], strong[score]
        for name, result in (("learned", evaluate(gain, w, s)),
                             ("length only (today)", evaluate(length, w, s)),
                             ("random", random_baseline(w, s)),
                             ("oracle", evaluate(s - w, w, s))):
            results.setdefault(name, []).append(result)
        errors.append(calibration(p_local, w)[0])
    print(f"training: {2 * (len(prompts) // 2)} outcomes in {np.mean(train_s):.1f} s; features "
          f"{np.mean(features_ms):.2f} ms per held-out prompt")
    print(f"{'ranking':<22} {'APGR':>6} {'CPT50':>6} {'CPT80':>6} {'local@95%':>10}   "
          "(mean of the splits; APGR min-max)")
    for name, runs in results.items():
        apgr = [r.apgr for r in runs]
        print(f"{name:<22} {np.mean(apgr):6.3f} {np.mean([r.cpt50 for r in runs]):6.0%} "
              f"{np.mean([r.cpt80 for r in runs]):6.0%} "
              f"{np.mean([r.local_at_95 for r in runs]):10.0%}   {min(apgr):.3f}-{max(apgr):.3f}")
    print(f"calibration error of the learned local estimates (ECE): {np.mean(errors):.3f}")


if __name__ == "__main__":
    main()
