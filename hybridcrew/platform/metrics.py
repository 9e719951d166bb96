"""Prometheus metrics: everything the router and the crew do, observed from the run events.

One :class:`Metrics` per process, on its own registry, fed by listening to the event sink: the
numbers come from the same records the API and the CLI show, so they agree. Labels stay
low-cardinality (agents, models, tenants, reasons; never run ids or prompts).

Several processes: the gateway serves ``/metrics`` and each worker its own endpoint
(``HYBRIDCREW_METRICS_PORT``); Prometheus scrapes them all and queries sum across targets.
Not prometheus-client's multiprocess mode: workers run on different hosts (it needs one shared
folder), and its gauges cannot be computed at scrape time as the live ones here are.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hybridcrew.graphs.events import EventSink
from hybridcrew.graphs.lifecycle import Event, EventKind, RunStatus
from hybridcrew.graphs.ports import DEFAULT_TENANT, daily_scope
from hybridcrew.platform.store import Store
from hybridcrew.routing.breaker import BreakerState
from hybridcrew.routing.decision import PRIVACY
from hybridcrew.routing.runtime import RoutingRuntime

CREW, PROXY = "crew", "proxy"
"""The ``source`` label: a run's step, or a call through a compatible endpoint."""
log = logging.getLogger(__name__)
_MAX_PAUSED = 1000
_STEP_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
_RUN_BUCKETS = (1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


class Metrics:
    """The hybridcrew_* series of one process."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        # source: "crew" for a run's steps, "proxy" for calls through the compatible endpoints.
        self.decisions = Counter("hybridcrew_routing_decisions", "Routing decisions",
                                 ["agent", "model", "location", "reason", "source"], registry=r)
        self.blocked = Counter("hybridcrew_steps_blocked", "Steps no model could run",
                               ["agent", "reason"], registry=r)
        self.fallbacks = Counter("hybridcrew_fallbacks", "Calls that moved to another model "
                                 "after a provider error", ["agent", "model"], registry=r)
        self.provider_errors = Counter("hybridcrew_provider_errors", "Provider errors by class",
                                       ["provider", "model", "kind"], registry=r)
        self.tokens = Counter("hybridcrew_tokens", "Tokens in and out",
                              ["agent", "model", "direction", "source"], registry=r)
        self.cost = Counter("hybridcrew_cost_usd", "Spend in USD",
                            ["agent", "model", "tenant", "source"], registry=r)
        self.cloud_cost = Counter("hybridcrew_all_cloud_cost_usd", "What the same steps would "
                                  "have cost on the cloud reference model",
                                  ["agent", "tenant", "source"], registry=r)
        self.steps = Counter("hybridcrew_steps", "Executed steps and served proxy calls",
                             ["agent", "model", "location", "source"], registry=r)
        self.privacy_forced = Counter("hybridcrew_steps_privacy_forced", "Steps that ran on a "
                                      "model cleared for their data after privacy rejected "
                                      "others", ["agent", "sensitivity"], registry=r)
        self.step_seconds = Histogram("hybridcrew_step_duration_seconds", "Model time per step",
                                      ["agent", "location"], buckets=_STEP_BUCKETS, registry=r)
        self.run_seconds = Histogram("hybridcrew_run_duration_seconds", "Wall time per run "
                                     "(since it started or resumed in this process)",
                                     ["workflow", "status"], buckets=_RUN_BUCKETS, registry=r)
        self.runs = Counter("hybridcrew_runs", "Runs that stopped, by final status",
                            ["workflow", "status"], registry=r)
        self.verdicts = Counter("hybridcrew_qa_verdicts", "QA verdicts on a model's work",
                                ["agent", "model", "verdict"], registry=r)
        self.checks = Counter("hybridcrew_repo_checks", "Repository check runs before a "
                              "review, by result", ["result"], registry=r)
        self.tool_calls = Counter("hybridcrew_tool_calls", "MCP tool calls of agents' steps",
                                  ["server", "tool", "outcome"], registry=r)
        self.tool_seconds = Histogram("hybridcrew_tool_call_duration_seconds",
                                      "Time per MCP tool call", ["server", "tool"], registry=r)
        self.feedback = Counter("hybridcrew_feedback", "Human feedback on runs",
                                ["verdict"], registry=r)
        self.queue_depth = Gauge("hybridcrew_local_queue_depth", "Calls waiting for a local "
                                 "slot", ["endpoint"], registry=r)
        self.slots = Gauge("hybridcrew_local_slots", "Slots per local endpoint", ["endpoint"],
                           registry=r)
        self.slots_in_use = Gauge("hybridcrew_local_slots_in_use", "Slots taken by running "
                                  "calls", ["endpoint"], registry=r)
        self.in_progress = Gauge("hybridcrew_runs_in_progress", "Runs executing in this process",
                                 registry=r)
        self.in_progress.set_function(lambda: len(self._runs))
        self.orphaned = Gauge("hybridcrew_runs_orphaned", "Queued or running runs without a "
                              "live executor at the last recovery scan", registry=r)
        self.recovered = Counter("hybridcrew_runs_recovered", "Runs this process took over "
                                 "after their executor died, by the status they were in",
                                 ["status"], registry=r)
        self.gpu_free = Gauge("hybridcrew_gpu_free_bytes", "Free GPU memory (NaN: unknown)",
                              registry=r)
        self.gpu_loaded = Gauge("hybridcrew_gpu_loaded_models", "Local models loaded on the GPU",
                                registry=r)
        self.backend_up = Gauge("hybridcrew_backend_up", "1 if the model's backend answered its "
                                "last probe", ["model"], registry=r)
        self._runs: dict[str, tuple[str, str, float]] = {}  # run → (workflow, tenant, started)
        # Runs waiting for an answer: not in progress. One answered elsewhere stays here, so
        # only the most recent are kept.
        self._paused: dict[str, tuple[str, str, float]] = {}
        self._tenants = {DEFAULT_TENANT}
        self._lock = threading.Lock()

    def attach(self, runtime: RoutingRuntime, events: EventSink, store: Store | None = None,
               run_queue: Callable[[], int] | None = None) -> None:
        """Count what ``events`` reports, and read live gauges at each scrape.

        From ``runtime``: local queues and slots, GPU memory and loaded models, backend health
        and breaker states. From ``store``: the daily budget left to each tenant seen here.
        ``run_queue`` counts the runs waiting for a worker (the gateway owns that number).
        """
        events.listeners.append(self.observe)
        gate = runtime.gate
        for endpoint, slots in gate.slots.items():
            self.slots.labels(endpoint).set(slots)
            self.queue_depth.labels(endpoint).set_function(
                functools.partial(_count, gate.waiting, endpoint))
            self.slots_in_use.labels(endpoint).set_function(
                functools.partial(_count, gate.in_use, endpoint))
        self.registry.register(_LiveState(self, runtime, store, run_queue))

        def gpu_free() -> float:
            free = runtime.signals.current.gpu.free_gb
            return float("nan") if free is None else free * 1024**3

        self.gpu_free.set_function(gpu_free)
        self.gpu_loaded.set_function(lambda: len(runtime.signals.current.gpu.loaded))
        for model in runtime.config.catalog:
            self.backend_up.labels(model).set_function(functools.partial(_up, runtime, model))

    def observe(self, event: Event) -> None:
        """An event sink listener."""
        self.handlers[event.kind](event)

    @functools.cached_property
    def handlers(self) -> dict[EventKind, Callable[[Event], None]]:
        """What each kind of event changes (every kind is listed, even when it changes nothing)."""
        return {
            EventKind.RUN_STARTED: self._on_run_started,
            EventKind.RUN_RESUMED: self._on_run_started,
            EventKind.STEP_STARTED: self._on_step_started,
            # Local queues are gauges read from the slot gate at each scrape.
            EventKind.STEP_QUEUED: _ignore,
            EventKind.STEP_FINISHED: self._on_step_finished,
            EventKind.TOOLS_CALLED: self._on_tools_called,
            EventKind.VERDICT: self._on_verdict,
            EventKind.CHECKS_RAN: lambda e: self.checks.labels(
                "pass" if e.data["ok"] else "fail").inc(),
            EventKind.FEEDBACK: lambda e: self.feedback.labels(
                "good" if e.data["good"] else "bad").inc(),
            EventKind.WAITING: self._on_waiting,
            EventKind.ANSWERED: self._on_answered,
            EventKind.RUN_FINISHED: self._on_run_finished,
            EventKind.RUN_FAILED: functools.partial(self._stopped, status=RunStatus.FAILED),
            EventKind.RUN_BLOCKED: self._on_run_blocked,
            EventKind.RUN_CANCELLED: functools.partial(self._stopped,
                                                       status=RunStatus.CANCELLED),
            EventKind.CALL_FINISHED: self._on_call_finished,
        }

    def _on_run_started(self, event: Event) -> None:
        with self._lock:
            tenant = event.data.get("tenant", DEFAULT_TENANT)
            self._runs[event.run_id] = (event.data.get("workflow", ""), tenant, event.ts)
            self._paused.pop(event.run_id, None)
            self._tenants.add(tenant)

    def _on_waiting(self, event: Event) -> None:
        with self._lock:
            run = self._runs.pop(event.run_id, None)
            if run is not None:
                self._paused[event.run_id] = run
            while len(self._paused) > _MAX_PAUSED:
                self._paused.pop(next(iter(self._paused)))

    def _on_answered(self, event: Event) -> None:  # answered in this process: it goes on
        with self._lock:
            run = self._paused.pop(event.run_id, None)
            if run is not None:
                self._runs[event.run_id] = run

    def _tenant(self, run_id: str) -> str:
        with self._lock:
            return self._runs.get(run_id, ("", DEFAULT_TENANT, 0.0))[1]

    def tenants(self) -> set[str]:
        """Tenants with a run in this process since it started."""
        with self._lock:
            return set(self._tenants)

    def _on_step_started(self, event: Event) -> None:
        data = event.data
        if data.get("replayed"):
            return  # counted when it was decided
        reasons = data.get("reasons") or ["unknown"]
        self.decisions.labels(data["agent"], data.get("model") or "none",
                              data.get("location") or "none", reasons[0], CREW).inc()
        if data.get("model") and PRIVACY in data.get("rejected_for", ()):
            self.privacy_forced.labels(data["agent"], data["sensitivity"]).inc()

    def _on_step_finished(self, event: Event) -> None:
        self._served(event.data, self._tenant(event.run_id), CREW)

    def _on_call_finished(self, event: Event) -> None:
        data = event.data
        reasons = data.get("reasons") or ["unknown"]
        self.decisions.labels(data["agent"], data["model"], data["location"], reasons[0],
                              PROXY).inc()
        self._served(data, data["tenant"], PROXY)

    def _served(self, s: dict[str, Any], tenant: str, source: str) -> None:
        """A step or a call that a model served: its tokens, cost, time and errors."""
        self.steps.labels(s["agent"], s["model"], s["location"], source).inc()
        self.tokens.labels(s["agent"], s["model"], "input", source).inc(s["input_tokens"])
        self.tokens.labels(s["agent"], s["model"], "output", source).inc(s["output_tokens"])
        self.cost.labels(s["agent"], s["model"], tenant, source).inc(s["cost_usd"])
        self.cloud_cost.labels(s["agent"], tenant, source).inc(s["cloud_cost_usd"])
        self.step_seconds.labels(s["agent"], s["location"]).observe(s["seconds"])
        for error in s.get("errors", []):
            self.provider_errors.labels(error["provider"], error["model"], error["kind"]).inc()
            self.fallbacks.labels(s["agent"], error["model"]).inc()

    def _on_tools_called(self, event: Event) -> None:
        for call in event.data["calls"]:
            self.tool_calls.labels(call["server"], call["tool"],
                                   "ok" if call["ok"] else "error").inc()
            self.tool_seconds.labels(call["server"], call["tool"]).observe(call["seconds"])

    def _on_verdict(self, event: Event) -> None:
        data = event.data
        self.verdicts.labels(data["agent"], data["model"],
                             "approved" if data["approved"] else "rejected").inc()

    def _stopped(self, event: Event, status: str) -> None:
        with self._lock:
            run = self._runs.pop(event.run_id, None) or self._paused.pop(event.run_id, None)
        workflow, _, started = run or ("", DEFAULT_TENANT, event.ts)
        self.runs.labels(workflow, status).inc()
        self.run_seconds.labels(workflow, status).observe(max(0.0, event.ts - started))

    def _on_run_finished(self, event: Event) -> None:
        self._stopped(event, RunStatus.FINISHED if event.data.get("approved") else "not_approved")

    def _on_run_blocked(self, event: Event) -> None:
        self._stopped(event, RunStatus.BLOCKED)
        self.blocked.labels(event.data.get("agent", "unknown"),
                            event.data.get("reason", "unknown")).inc()



def _ignore(event: Event) -> None:
    """For events no metric counts."""


def _count(counts: dict[str, int], endpoint: str) -> float:
    return float(counts.get(endpoint, 0))


class _LiveState(Collector):
    """Series read at scrape time: breaker states, budgets left, runs waiting for a worker."""

    def __init__(self, metrics: Metrics, runtime: RoutingRuntime, store: Store | None,
                 run_queue: Callable[[], int] | None) -> None:
        self.metrics, self.runtime, self.store, self.run_queue = metrics, runtime, store, run_queue

    def collect(self) -> Iterator[Metric]:
        """Breaker states; budgets left (with a store and a daily cap) and the run queue."""
        breakers = GaugeMetricFamily("hybridcrew_breaker_state", "Circuit breaker of each "
                                     "model endpoint: 1 for its current state",
                                     labels=["endpoint", "state"])
        board = self.runtime.breakers
        for endpoint in sorted(set(self.runtime.endpoints.values())):
            current = board.state(endpoint)
            for state in BreakerState:
                breakers.add_metric([endpoint, state.value], float(state is current))
        yield breakers
        # The store may be unreachable: its series are left out, the others are still served.
        try:
            yield from self._from_store()
        except Exception as exc:  # noqa: BLE001 - any backend failure; logged, never raised
            log.warning("metrics: store unreachable, budget and queue series left out (%s)",
                        type(exc).__name__)

    def _from_store(self) -> Iterator[Metric]:
        daily = self.runtime.config.policy.budgets.daily_usd
        if self.store is not None and daily is not None:
            budget = GaugeMetricFamily("hybridcrew_budget_remaining_usd", "What a tenant may "
                                       "still spend today (UTC)", labels=["tenant"])
            for tenant in sorted(self.metrics.tenants()):
                spent = self.store.spent(daily_scope(tenant))
                budget.add_metric([tenant], max(0.0, daily - spent))
            yield budget
        if self.run_queue is not None:
            yield GaugeMetricFamily("hybridcrew_run_queue_depth", "Runs waiting for a worker",
                                    value=float(self.run_queue()))


def _up(runtime: RoutingRuntime, model: str) -> float:
    return float(bool(runtime.signals.current.health_of(model).up))
