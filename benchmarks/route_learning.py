"""Learned routing, offline: learn from half of recorded outcomes, score on the other half.

Outcomes of a local-class and a cloud-class model on the same prompts (default: GSM8K, in
``routing_data/``). The prompts are split in two by a fixed seed; the estimator learns from the
first half only, then ranks the second half by its expected gain from the cloud model. Printed
for that ranking, today's length-only ranking (the priors lowered by prompt size), random and
the oracle: APGR, CPT(50%), CPT(80%) and the largest local share at 95% of cloud-only quality;
plus the calibration error of the learned local estimates.

    python benchmarks/route_learning.py [--outcomes FILE] [--local M] [--cloud M] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from machine import describe

from hybridcrew.platform.learning import train, vector_cache
from hybridcrew.routing.estimate import difficulty, prompt_complexity
from hybridcrew.routing.learning.estimator import embedded_part
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
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache", type=Path, help="embedding cache folder (default: temporary)")
    args = parser.parse_args()
    prompts, weak, strong = load(args.outcomes, args.local, args.cloud)
    order = np.random.default_rng(args.seed).permutation(len(prompts))
    learn, score = order[: len(order) // 2], order[len(order) // 2:]
    with tempfile.TemporaryDirectory() as folder:
        cache = vector_cache(args.cache or Path(folder))
        started = time.perf_counter()
        vectors = cache.vectors([embedded_part(p) for p in prompts]).astype(np.float64)
        embed_s = time.perf_counter() - started
        estimator = train([Outcome(prompts[i], AGENT, model, bool(outcome[i]))
                           for model, outcome in ((args.local, weak), (args.cloud, strong))
                           for i in learn], cache)
        held = [prompts[i] for i in score]
        rows = estimator.batch_features(vectors[score], held)
        p_local = estimator.learned(args.local, AGENT, rows)
        gain = estimator.learned(args.cloud, AGENT, rows) - p_local
        length = np.array([difficulty(0.5, prompt_complexity([p])) for p in held])
        w, s = weak[score], strong[score]
        rankings: list[tuple[str, Evaluation]] = [
            ("learned", evaluate(gain, w, s)), ("length only (today)", evaluate(length, w, s)),
            ("random", random_baseline(w, s)), ("oracle", evaluate(s - w, w, s))]
        error, _ = calibration(p_local, w)
        print(f"machine: {describe()}")
        print(f"outcomes: {args.outcomes.name}, {len(prompts)} prompts; learned from "
              f"{len(learn)}, scored on the other {len(score)} (seed {args.seed}); "
              f"local {args.local} {weak.mean():.1%}, cloud {args.cloud} {strong.mean():.1%}")
        print(f"embedding: {len(prompts)} prompts in {embed_s:.1f} s "
              f"({cache.embedded} embedded, the rest from the cache)")
        print(f"{'ranking':<22} {'APGR':>6} {'CPT50':>6} {'CPT80':>6} {'local@95%':>10}")
        for name, r in rankings:
            print(f"{name:<22} {r.apgr:6.3f} {r.cpt50:6.0%} {r.cpt80:6.0%} {r.local_at_95:10.0%}")
        print(f"calibration error of the learned local estimates (ECE): {error:.3f}")


if __name__ == "__main__":
    main()
