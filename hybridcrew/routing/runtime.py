"""Wire the routing core together: catalog, breakers, signals, router and model pool."""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence

from langchain_core.messages import BaseMessage

from hybridcrew.routing.breaker import BreakerBoard
from hybridcrew.routing.config import LoadedConfig
from hybridcrew.routing.decision import Decision
from hybridcrew.routing.gate import SharedSlots, SlotGate
from hybridcrew.routing.gpu import read_gpu
from hybridcrew.routing.invoke import CallResult, ModelPool, invoke_with_fallback
from hybridcrew.routing.learning.estimator import (
    LEARNED_FILE,
    LearnedEstimates,
    LearnedState,
)
from hybridcrew.routing.providers.ollama import OllamaProvider, ollama_host
from hybridcrew.routing.providers.registry import PROVIDERS
from hybridcrew.routing.router import Router, RouteRequest
from hybridcrew.routing.signals import Health, SignalHub, Signals
from hybridcrew.settings import Settings

log = logging.getLogger(__name__)


def local_slots(config: LoadedConfig, endpoints: dict[str, str]) -> dict[str, int]:
    """Slots per local endpoint: the smallest ``slots`` among the models it serves."""
    slots: dict[str, int] = {}
    for name, entry in config.catalog.items():
        if entry.is_local:
            endpoint = endpoints[name]
            slots[endpoint] = min(slots.get(endpoint, entry.spec.slots), entry.spec.slots)
    return slots


class RoutingRuntime:
    """One per process: the router plus everything it reads and calls."""

    def __init__(self, config: LoadedConfig, settings: Settings,
                 shared_slots: SharedSlots | None = None) -> None:
        self.config = config
        self.settings = settings
        self.endpoints = {
            name: PROVIDERS[entry.provider].endpoint(entry, settings)
            for name, entry in config.catalog.items()
        }
        self.breakers = BreakerBoard(config.policy.breaker)
        self.learning = LearnedState(settings.data_dir / LEARNED_FILE)
        self.learning.reload()
        self.router = Router(config.policy, config.catalog, config.agents,
                             endpoints=self.endpoints, breakers=self.breakers)
        # A slot is held at most as long as a call may take (a dead holder's slot frees itself).
        self.gate = SlotGate(local_slots(config, self.endpoints), shared_slots,
                             ttl_s=settings.request_timeout_s + 30)
        self.pool = ModelPool(config.catalog, settings, self.breakers, self.endpoints, self.gate)
        # Live values the router reads without I/O: the gate's queue counts, and QA verdicts per
        # (model, agent) as (approved, reviewed).
        self.history: dict[tuple[str, str], tuple[int, int]] = {}
        self.feedback: Callable[[], dict[tuple[str, str], tuple[int, int]]] | None = None
        """Where every process's verdicts are kept (the store); read at each refresh."""
        self.relearn: Callable[[], object] | None = None
        """Trains the learned estimates again when runs judged enough new steps; started at
        each refresh in a thread of its own (training takes seconds, probes must not wait)."""
        self._relearning: threading.Thread | None = None
        self.signals = SignalHub(self.collect_signals, settings.probe_interval_s,
                                 initial=Signals(queue_depth=self.gate.waiting,
                                                 history=self.history))

    def with_agents(self, config: LoadedConfig) -> RoutingRuntime:
        """Route for ``config`` (the same catalog plus a workflow's own agents).

        Breakers, the slot gate, the model pool and signals stay shared: one set per backend.
        """
        if config.catalog != self.config.catalog:
            raise ValueError("with_agents needs the same model catalog")
        clone = copy.copy(self)
        clone.config = config
        clone.router = Router(config.policy, config.catalog, config.agents,
                              endpoints=self.endpoints, breakers=self.breakers,
                              scanner=self.router.scanner)
        return clone

    def collect_signals(self) -> Signals:
        """Probe every backend and the GPU (blocking I/O: background thread or CLI start-up)."""
        health: dict[str, Health] = {}
        probed: dict[tuple[str, str], Health] = {}
        for name, entry in self.config.catalog.items():
            provider = PROVIDERS[entry.provider]
            key = (self.endpoints[name], entry.spec.model)
            if key not in probed:
                probe = provider.probe(entry, self.settings)
                probed[key] = Health(probe.up, probe.detail, probe.fix)
            health[name] = probed[key]
        hosts = {ollama_host(e, self.settings) for e in self.config.catalog.values()
                 if e.provider == OllamaProvider.name}
        gpu = read_gpu(sorted(hosts), self.settings.probe_timeout_s)
        if self.feedback is not None:  # verdicts other processes recorded, from the store
            self.history.update(self.feedback())
        self._start_relearning()
        self.learning.reload()  # `route train` or a retraining may have written a new version
        return self.signals.current.replace(health=health, gpu=gpu)

    def _start_relearning(self) -> None:
        if self.relearn is None or (self._relearning and self._relearning.is_alive()):
            return
        self._relearning = threading.Thread(target=self._relearn_once, daemon=True,
                                            name="hybridcrew-learning")
        self._relearning.start()

    def _relearn_once(self) -> None:
        assert self.relearn is not None
        if sys.platform == "linux":  # there a thread has its own niceness: requests go first
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        try:
            self.relearn()
        except Exception:  # learning must never stop routing: the last version stays in use
            log.exception("retraining the learned router failed")

    def record_verdict(self, model: str, agent: str, approved: bool, weight: int = 1) -> None:
        """A reviewer judged work ``model`` did for ``agent``: future estimates learn from it.

        ``weight``: how many verdicts this one counts for (grounded ones count more).
        """
        passes, total = self.history.get((model, agent), (0, 0))
        self.history[(model, agent)] = (passes + int(approved) * weight, total + weight)

    def decide(self, request: RouteRequest, signals: Signals | None = None) -> Decision:
        """Route a step on the current (or a given) snapshot.

        With learned estimates loaded, the step's estimates are computed first (about a
        millisecond for a 10 KB step); the decision itself reads them.
        """
        if request.learned is None and self.learning.estimator is not None:
            request = dataclasses.replace(request, learned=self.estimates(request))
        return self.router.decide(request, signals or self.signals.current)

    def estimates(self, request: RouteRequest) -> LearnedEstimates:
        """Learned P(success) of every trained model for this step; empty if nothing is learned.

        From the step's features: its text's n-grams and its size.
        """
        estimator = self.learning.estimator
        if estimator is None:
            return {}
        text = "\n".join(p.text for p in request.parts)
        return estimator.for_step(request.agent, estimator.features(text, request.step))

    def invoke(self, decision: Decision, messages: Sequence[BaseMessage]) -> CallResult:
        """Run a decided step with fallback."""
        return invoke_with_fallback(self.pool, decision, messages)
