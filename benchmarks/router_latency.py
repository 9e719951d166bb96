"""Router decision latency over a realistic mix of prompts (1-50 KB, with and without secrets).

Every decision runs the full privacy scan (no cache: each prompt is new), the hard constraints and
the choice, on the packaged default configuration with all backends marked up.

    python benchmarks/router_latency.py [--decisions 2000] [--seed 7]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import inspect
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pydantic.main as pydantic_main
import typer.main as typer_main
from langchain_core.language_models import chat_models
from machine import describe

from hybridcrew.platform.learning import learned_path, train
from hybridcrew.routing.config import LoadedConfig, load_config
from hybridcrew.routing.gpu import GpuState
from hybridcrew.routing.learning.outcomes import Outcome
from hybridcrew.routing.router import RouteRequest
from hybridcrew.routing.runtime import RoutingRuntime
from hybridcrew.routing.signals import Health, Signals
from hybridcrew.settings import load_settings

SIZES_KB = (1, 5, 10, 25, 50)
SECRETS = (
    'AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq7R2pL9xW"',
    "DATABASE_URL=postgres://app:s3cr3t-Pa55@db.internal:5432/orders",
    "token: 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",
    "contact jane.doe@acme-corp.com, card 4539 1488 0343 6467",
)


def corpus_text() -> str:
    """Real-world text to cut prompts from: Python source of installed libraries, code and prose."""
    sources = [inspect.getsource(m) for m in (chat_models, pydantic_main, typer_main)]
    return "\n".join(sources)


def make_prompt(source: str, size_kb: int, secret: str | None, rng: random.Random) -> str:
    """A prompt of ``size_kb`` KB cut from ``source``, with a secret at a random position."""
    size = size_kb * 1024
    start = rng.randrange(0, max(1, len(source) - size))
    text = source[start:start + size]
    if secret:
        cut = rng.randrange(0, len(text))
        text = text[:cut] + "\n" + secret + "\n" + text[cut:]
    # A unique suffix defeats the scanner's cache: every decision pays for a full scan.
    return text + f"\n# request {rng.random()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-learned", dest="learned", action="store_false",
                        help="skip the run with learned estimates loaded")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    config = load_config(None)
    with tempfile.TemporaryDirectory() as folder:
        runtime = RoutingRuntime(config, load_settings(data_dir=Path(folder)))
        _benchmark(args, rng, config, runtime)


def _benchmark(args: argparse.Namespace, rng: random.Random, config: LoadedConfig,
               runtime: RoutingRuntime) -> None:
    signals = Signals(health={n: Health(True) for n in config.catalog},
                      gpu=GpuState(free_gb=20.0, total_gb=24.0, source="benchmark"))
    agents = list(config.agents)
    source = corpus_text()
    jobs = []
    for i in range(args.decisions):
        size = SIZES_KB[i % len(SIZES_KB)]
        secret = rng.choice(SECRETS) if i % 2 else None
        prompt = make_prompt(source, size, secret, rng)
        jobs.append((size, secret is not None, RouteRequest.for_prompt(
            agents[i % len(agents)], prompt, step=rng.choice(["plan", "implement", "review"]))))
    for _, _, request in jobs[:50]:  # warm up: DFA states, code paths
        runtime.decide(RouteRequest.for_prompt(request.agent, request.parts[0].text + "w"),
                       signals)
    by_size: dict[int, list[float]] = {s: [] for s in SIZES_KB}
    with_secret: list[float] = []
    without: list[float] = []
    local = 0
    for size, has_secret, request in jobs:
        started = time.perf_counter()
        decision = runtime.decide(request, signals)
        elapsed = (time.perf_counter() - started) * 1e3
        by_size[size].append(elapsed)
        (with_secret if has_secret else without).append(elapsed)
        local += decision.location == "local"
        if has_secret and decision.location != "local":
            raise SystemExit(f"a secret was routed to {decision.model}: privacy bug")
    print(f"machine: {describe()}")
    share = local / len(jobs)
    print(f"decisions: {len(jobs)} (half with a secret or PII), local share {share:.0%}")
    print(f"{'prompt':>8}  {'p50 ms':>8}  {'p99 ms':>8}  {'max ms':>8}")
    for size, samples in by_size.items():
        print(f"{size:>6}KB  {_pct(samples, 50):8.3f}  {_pct(samples, 99):8.3f}  "
              f"{max(samples):8.3f}")
    print(f"{'secret':>8}  {_pct(with_secret, 50):8.3f}  {_pct(with_secret, 99):8.3f}")
    print(f"{'clean':>8}  {_pct(without, 50):8.3f}  {_pct(without, 99):8.3f}")
    worst = _pct(by_size[max(SIZES_KB)], 99)
    print(f"target p99 < 1 ms at 50 KB: {'met' if worst < 1.0 else 'NOT met'} ({worst:.3f} ms)")
    if args.learned:
        _learned(config, runtime, signals, source, rng, count=args.decisions)


LEARNED_KB = 10


def _learned(config: LoadedConfig, runtime: RoutingRuntime, signals: Signals, source: str,
             rng: random.Random, *, count: int) -> None:
    """10 KB decisions with learned estimates loaded and without, alternated on the same
    router, and what the features cost."""
    questions = [json.loads(line)["prompt"] for line in
                 (Path(__file__).parent / "routing_data" / "gsm8k-outcomes.jsonl")
                 .read_text().splitlines()[:400:2]]
    outcomes = [Outcome(q, agent, model, rng.random() < 0.7) for q in questions
                for agent, spec in config.agents.items() for model in spec.model_names()]
    train(outcomes).save(learned_path(runtime.settings.data_dir))
    runtime.learning.reload()
    agents = list(config.agents)
    requests = [RouteRequest.for_prompt(
        agents[i % len(agents)], make_prompt(source, LEARNED_KB, rng.choice(SECRETS)
                                             if i % 2 else None, rng),
        step=rng.choice(["plan", "implement", "review"])) for i in range(count)]
    # Every step's features first, timed on their own; then the decisions.
    features: list[float] = []
    ready = []
    for request in requests:
        started = time.perf_counter()
        ready.append(dataclasses.replace(request, learned=runtime.estimates(request)))
        features.append((time.perf_counter() - started) * 1e3)
    learned: list[float] = []
    prior: list[float] = []
    for i, request in enumerate(requests):  # every prompt is new to the scanner
        if (i // 2) % 2:  # secrets sit in every other prompt: both sides get half
            learned.append(_timed(functools.partial(runtime.router.decide, ready[i], signals)))
        else:
            prior.append(_timed(functools.partial(runtime.router.decide, request, signals)))
    p99 = _pct(learned, 99)
    print(f"{LEARNED_KB} KB decisions, alternated, {len(learned)} of each "
          f"(learned estimates from {len(outcomes)} outcomes):")
    print(f"  with learning  p50 {_pct(learned, 50):.3f} ms, p99 {p99:.3f} ms "
          f"(target p99 <= 0.2 ms: {'met' if p99 <= 0.2 else 'NOT met'})")
    print(f"  priors only    p50 {_pct(prior, 50):.3f} ms, p99 {_pct(prior, 99):.3f} ms")
    print(f"  features + estimates, before each decision: p50 {_pct(features, 50):.2f} ms, "
          f"p99 {_pct(features, 99):.2f} ms (target <= 20 ms)")


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1e3


def _pct(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1] if q < 100 else max(
        samples)


if __name__ == "__main__":
    main()
