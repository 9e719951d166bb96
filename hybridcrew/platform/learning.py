"""Training and evaluating the learned router on outcome files (``route train``, ``route eval``).

The learned state is written under ``DATA_DIR/router/`` with a version that grows with each
training. It learns from the last imported outcome file and from every step the runs had
judged (the store keeps them); with :data:`RETRAIN_AFTER` new judgements, the next signal
refresh of any process trains it again (:func:`relearn`), so the live router learns without a
command.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hybridcrew.errors import ConfigError
from hybridcrew.platform.store import Store
from hybridcrew.routing.config import LoadedConfig
from hybridcrew.routing.estimate import difficulty, estimated_success, prompt_complexity
from hybridcrew.routing.learning.estimator import LEARNED_FILE, LearnedEstimator
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

log = logging.getLogger(__name__)


def learned_path(data_dir: Path) -> Path:
    """Where ``route train`` keeps the learned state (``.npz`` + ``.json``)."""
    return data_dir / LEARNED_FILE


RETRAIN_AFTER = 5
"""Steps judged since the last training that make the next signal refresh train again..."""
RETRAIN_GROWTH = 0.25
"""...or this share of the judged steps it learned from, when that is more..."""
RETRAIN_INTERVAL_S = 300.0
"""...and not sooner than this after the last training. Training costs grow with the outcomes:
a busy gateway judging thousands of steps an hour would otherwise spend its CPU retraining."""
IMPORTED_FILE = "router/imported.jsonl"
"""The outcomes of the last ``route train``, kept so that retraining on judged steps keeps them."""
_LOCK_FILE = "router/training.lock"


def train(outcomes: Sequence[Outcome], previous: Path | None = None, *, live: int = 0
          ) -> LearnedEstimator:
    """Learn from ``outcomes`` (the version follows the one at ``previous``, if any).

    ``live``: the store's count of judged steps included (see :func:`relearn`).
    """
    # The manifest alone: a state of an older format is replaced, its version number goes on.
    version = int(_manifest(previous).get("version", 0)) + 1 if previous is not None else 1
    return LearnedEstimator.fit([o.prompt for o in outcomes],
                                [(o.model, o.agent) for o in outcomes],
                                np.array([o.success for o in outcomes]),
                                kinds=[o.step for o in outcomes], version=version, live=live)


def judged_outcomes(store: Store) -> list[Outcome]:
    """The steps runs judged, as outcomes (a grounded verdict counts as several)."""
    return [Outcome(j.step.text, j.step.agent, j.step.model, j.success, j.step.step)
            for j in store.judged_steps() for _ in range(j.weight)]


def train_with_judged(imported: Sequence[Outcome], store: Store, data_dir: Path
                      ) -> LearnedEstimator:
    """``route train``: learn from ``imported`` and the judged steps; write the new version.

    ``imported`` is kept under the data dir: later retraining on judged steps keeps it.
    """
    with _training(data_dir):
        kept = data_dir / IMPORTED_FILE
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_text("".join(json.dumps(dataclasses.asdict(o)) + "\n" for o in imported),
                        "utf-8")
        return _train_and_save(imported, store, data_dir)


def relearn(store: Store, data_dir: Path, *, every: int = RETRAIN_AFTER,
            interval_s: float = RETRAIN_INTERVAL_S) -> LearnedEstimator | None:
    """Train again when runs judged enough steps since the last training, and long enough ago.

    Enough: ``every``, or :data:`RETRAIN_GROWTH` of those it learned from if that is more; long
    enough: ``interval_s``. Called at every signal refresh of every process (a background
    thread): a lock on the data dir keeps two processes from training at once; the one that
    waited sees the new version and stops. Returns the new estimator, or None when there was
    nothing to learn.
    """
    path = learned_path(data_dir)
    if not _due(store.judged_total(), path, every, interval_s):
        return None
    with _training(data_dir):
        if not _due(store.judged_total(), path, every, interval_s):
            return None  # another process trained while this one waited
        learned = _train_and_save(_imported(data_dir), store, data_dir)
    log.info("learned router version %d: %d judged steps", learned.version, learned.live)
    return learned


def _train_and_save(imported: Sequence[Outcome], store: Store, data_dir: Path
                    ) -> LearnedEstimator:
    """The next version, from ``imported`` and every judged step (under the training lock)."""
    path = learned_path(data_dir)
    live = store.judged_total()  # counted first: a judgement arriving now is learned next time
    learned = train([*imported, *judged_outcomes(store)], path, live=live)
    learned.save(path)
    return learned


def _due(judged: int, path: Path, every: int, interval_s: float) -> bool:
    manifest = _manifest(path)
    learned = int(manifest.get("live", 0))
    if time.time() - float(manifest.get("trained_at", 0.0)) < interval_s:
        return False
    return judged - learned >= max(every, int(RETRAIN_GROWTH * learned))


def _manifest(path: Path) -> dict[str, Any]:
    """The learned state's manifest; empty when there is none (or it cannot be read)."""
    try:
        manifest = json.loads(path.with_suffix(".json").read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def _imported(data_dir: Path) -> list[Outcome]:
    try:
        lines = (data_dir / IMPORTED_FILE).read_text("utf-8").splitlines()
    except OSError:
        return []
    return [Outcome(**json.loads(line)) for line in lines if line.strip()]


@contextlib.contextmanager
def _training(data_dir: Path) -> Iterator[None]:
    """One trainer at a time per data dir, across processes."""
    lock = data_dir / _LOCK_FILE
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
    targets: list[TargetPoint]
    """What each ``quality_target`` gives on these prompts: a point on the cost/quality curve."""


def compare(outcomes: Sequence[Outcome], *, agent: str, local: str, cloud: str,
            config: LoadedConfig, learned: LearnedEstimator | None
            ) -> Comparison:
    """Score the router's ranking (which prompts go to ``cloud``) on prompts both answered."""
    results: dict[str, dict[str, bool]] = {}
    kinds: dict[str, str] = {}
    for o in outcomes:
        if o.agent == agent and o.model in (local, cloud):
            results.setdefault(o.prompt, {})[o.model] = o.success
            kinds[o.prompt] = o.step
    prompts = sorted(p for p, r in results.items() if len(r) == 2)  # noqa: PLR2004 - both
    if len(prompts) < 10:  # noqa: PLR2004 - too few to rank
        raise ConfigError.single("outcomes", "", f"only {len(prompts)} prompts have outcomes "
                                 "of both models for this agent",
                                 "record both --local and --cloud on the same prompts")
    weak = np.array([results[p][local] for p in prompts], dtype=np.float64)
    strong = np.array([results[p][cloud] for p in prompts], dtype=np.float64)
    have = learned is not None and {(local, agent), (cloud, agent)} <= set(learned.pairs)
    if learned is not None and have:
        rows = learned.batch_features(prompts, [kinds[p] for p in prompts])
        p_local = learned.learned(local, agent, rows)
        score = cloud_preference(p_local, learned.learned(cloud, agent, rows))
        error, bins = calibration(p_local, weak)
        method = f"learned (version {learned.version})"
    else:
        p_local = _priors(config, local, agent, prompts)
        score = cloud_preference(p_local, _priors(config, cloud, agent, prompts))
        error, bins, method = None, [], "priors and prompt size (nothing learned)"
    return Comparison(len(prompts), evaluate(score, weak, strong), random_baseline(weak, strong),
                      evaluate(strong - weak, weak, strong), error, bins, method,
                      at_targets(score, weak, strong))


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
