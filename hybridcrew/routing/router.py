"""The per-step router: candidates → hard constraints → cheapest model meeting the quality target.

The quality target is relative: a model meets it when its expected success is at least
``quality_target`` times the best surviving candidate's, so a step goes to the cloud where the
cloud is expected to do much better, not merely where the local model might fail.

``Router.decide`` is pure CPU over a :class:`Signals` snapshot; it never does I/O or waits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from hybridcrew.agents.spec import AgentSpec
from hybridcrew.documents import choose_from
from hybridcrew.errors import ConfigError
from hybridcrew.routing import decision as codes
from hybridcrew.routing.breaker import BreakerBoard, BreakerState
from hybridcrew.routing.catalog import CatalogEntry
from hybridcrew.routing.decision import Decision, Rejection
from hybridcrew.routing.estimate import (
    difficulty,
    estimate_tokens,
    estimated_success,
    prompt_complexity,
)
from hybridcrew.routing.learning.estimator import LearnedEstimates, blended
from hybridcrew.routing.policy import RoutingPolicy
from hybridcrew.routing.privacy import Finding, PrivacyScanner
from hybridcrew.routing.providers.ollama import same_model
from hybridcrew.routing.signals import Signals
from hybridcrew.sensitivity import Sensitivity

ROLE_PART = "role"
"""The kind of the part that carries the agent's role prompt."""


@dataclass(frozen=True)
class PromptPart:
    """Text that leaves the machine with the call: prompt, context, memory, tool output.

    The agent's role prompt is added by the router itself; callers pass only the step's text.
    """

    text: str
    kind: str = "prompt"
    labels: tuple[str, ...] = ()
    sensitivity: Sensitivity = Sensitivity.PUBLIC
    """Known sensitivity of this text (a memory item's label), on top of what the scan finds."""


@dataclass(frozen=True)
class RouteRequest:
    """One step to route."""

    agent: str
    parts: tuple[PromptPart, ...]
    step: str = "default"
    labels: tuple[str, ...] = ()
    taint: Sensitivity = Sensitivity.PUBLIC
    run_spent_usd: float = 0.0
    agent_spent_usd: float = 0.0
    run_budget_usd: float | None = None
    """This run's own budget, replacing the policy's ``budgets.run_usd``."""
    daily_spent_usd: float = 0.0
    """What the run's tenant spent today, against ``budgets.daily_usd``."""
    output_tokens: int | None = None
    local_only: bool = False
    ignore_budget: bool = False
    learned: LearnedEstimates | None = field(default=None, compare=False)
    """Learned P(success) per model for this step, computed before the decision from its
    features (:meth:`RoutingRuntime.estimates`); None routes on the priors alone."""

    @classmethod
    def for_prompt(cls, agent: str, prompt: str, **kwargs: object) -> RouteRequest:
        """A request whose only outbound text is ``prompt``."""
        return cls(agent=agent, parts=(PromptPart(prompt),), **kwargs)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class _Survivor:
    entry: CatalogEntry
    cost: float
    success: float
    order: int


@dataclass(frozen=True, slots=True)
class _Step:
    """Everything about the step that does not depend on the candidate."""

    sensitivity: Sensitivity
    input_tokens: int
    output_tokens: int
    difficulty: float
    budget_left: float | None
    role: str
    local_only: bool


class Router:
    """Decides, for every step, which model runs it."""

    def __init__(self, policy: RoutingPolicy, catalog: Mapping[str, CatalogEntry],
                 agents: Mapping[str, AgentSpec], *, endpoints: Mapping[str, str],
                 breakers: BreakerBoard, scanner: PrivacyScanner | None = None) -> None:
        self.policy = policy
        self.catalog = catalog
        self.agents = agents
        self._cloud = {name: e for name, e in catalog.items() if not e.is_local}
        self.endpoints = endpoints
        self.breakers = breakers
        self.scanner = scanner or PrivacyScanner.from_policy(self.policy.privacy)
        self._role_parts: dict[str, PromptPart] = {}

    def decide(self, request: RouteRequest, signals: Signals) -> Decision:
        """Route one step. Blocked decisions have ``model=None`` and say why."""
        agent = self._agent(request.agent)
        # The role prompt leaves the machine with every call: scan it like the rest.
        role = self._role_parts.get(agent.role)
        if role is None:
            role = self._role_parts[agent.role] = PromptPart(agent.role, kind=ROLE_PART)
        parts = (role, *request.parts)
        findings = tuple(f for part in parts for f in self.scanner.scan(part.text, part.kind))
        step = self._step(agent, request, parts, findings, signals)
        now = self.breakers.clock()
        learned = request.learned or {}
        survivors: list[_Survivor] = []
        rejected: list[Rejection] = []
        for order, name in enumerate(agent.model_names()):
            entry = self.catalog[name]
            cost = entry.spec.cost_usd(step.input_tokens,
                                       entry.spec.output_limit(step.output_tokens))
            rejection = self._reject(entry, step, signals, now, cost)
            if rejection is not None:
                rejected.append(rejection)
                continue
            success = estimated_success(entry.spec.prior_for(request.agent), step.difficulty,
                                        signals.history.get((name, request.agent)))
            success = blended(success, learned.get(name))
            survivors.append(_Survivor(entry, cost, success, order))
        ranked, choice_reason = self._rank(agent, survivors)
        chosen = ranked[0] if ranked else None
        reasons = [choice_reason, *sorted({f"excluded:{r.why}" for r in rejected})]
        return Decision(
            agent=request.agent, step=request.step,
            model=chosen.entry.name if chosen else None,
            provider=chosen.entry.provider if chosen else None,
            location=chosen.entry.location if chosen else None,
            sensitivity=step.sensitivity, findings=findings, reasons=tuple(reasons),
            rejected=tuple(rejected),
            estimated_cost_usd=chosen.cost if chosen else 0.0,
            estimated_success=chosen.success if chosen else None,
            quality_target=self.policy.quality_target,
            input_tokens=step.input_tokens, output_tokens=step.output_tokens,
            fallbacks=tuple(s.entry.name for s in ranked[1:]),
            estimates=tuple((s.entry.name, round(s.success, 4)) for s in survivors),
            cloud_reference=self._cloud_reference(step),
        )

    def _step(self, agent: AgentSpec, request: RouteRequest, parts: tuple[PromptPart, ...],
              findings: Sequence[Finding], signals: Signals) -> _Step:
        labels = [*request.labels, *agent.labels, *(lb for p in parts for lb in p.labels)]
        levels = [agent.privacy, request.taint, *(f.sensitivity for f in findings),
                  *(p.sensitivity for p in parts),
                  *(self._label_level(label) for label in labels)]
        chars = sum(len(p.text) for p in parts)
        # The role prompt is the same on every step; complexity is about this step's work.
        work = [p.text for p in request.parts]
        caps = [signals.budget_left_usd]
        run_cap = request.run_budget_usd if request.run_budget_usd is not None else (
            self.policy.budgets.run_usd)
        if run_cap is not None:
            caps.append(run_cap - request.run_spent_usd)
        if agent.budget_usd is not None:
            caps.append(agent.budget_usd - request.agent_spent_usd)
        if self.policy.budgets.daily_usd is not None:
            caps.append(self.policy.budgets.daily_usd - request.daily_spent_usd)
        known = [c for c in caps if c is not None]
        return _Step(
            sensitivity=max(levels),
            input_tokens=estimate_tokens(chars),
            output_tokens=request.output_tokens or agent.max_output_tokens,
            difficulty=difficulty(self.policy.criticality_of(request.step),
                                  prompt_complexity(work)),
            budget_left=None if request.ignore_budget or not known else min(known),
            role=request.agent, local_only=request.local_only,
        )

    def _agent(self, name: str) -> AgentSpec:
        try:
            return self.agents[name]
        except KeyError:
            raise ConfigError.single("route request", "agent", "not a configured agent",
                                     choose_from(name, self.agents)) from None

    def _label_level(self, label: str) -> Sensitivity:
        try:
            return self.policy.privacy.labels[label]
        except KeyError:
            raise ConfigError.single(
                "route request", "routing.privacy.labels", f"unknown label '{label}'",
                f"define it under routing.privacy.labels, or use one of: "
                f"{', '.join(sorted(self.policy.privacy.labels))}") from None

    def _reject(self, entry: CatalogEntry, step: _Step, signals: Signals, now: float,
                cost: float) -> Rejection | None:
        """The first hard constraint ``entry`` violates; privacy is checked first, always."""
        spec = entry.spec
        if spec.clearance < step.sensitivity:
            return Rejection(entry.name, codes.PRIVACY, f"clearance {spec.clearance.label} < "
                             f"{step.sensitivity.label} content")
        if step.local_only and not entry.is_local:
            return Rejection(entry.name, codes.LOCAL_ONLY, "the run continues on local models only")
        return (self._availability(entry, signals, now) or self._fit(entry, step, cost)
                or (self._capacity(entry, signals) if entry.is_local else None))

    def _availability(self, entry: CatalogEntry, signals: Signals, now: float
                      ) -> Rejection | None:
        name = entry.name
        health = signals.health_of(name)
        if health.up is False:
            return Rejection(name, codes.PROVIDER_DOWN, health.detail)
        endpoint = self.endpoints[name]
        if self.breakers.state(endpoint, now) is BreakerState.OPEN:
            return Rejection(name, codes.BREAKER_OPEN, f"circuit open for {endpoint}")
        return None

    @staticmethod
    def _fit(entry: CatalogEntry, step: _Step, cost: float) -> Rejection | None:
        spec, name = entry.spec, entry.name
        needed = step.input_tokens + spec.output_limit(step.output_tokens)
        if needed > spec.context_window:
            return Rejection(name, codes.CONTEXT_WINDOW,
                             f"needs ~{needed} tokens, window is {spec.context_window}")
        if cost > 0 and step.budget_left is not None and cost > step.budget_left:
            return Rejection(name, codes.BUDGET, f"projected ${cost:.4f} > "
                             f"${max(step.budget_left, 0.0):.4f} left")
        return None

    def _capacity(self, entry: CatalogEntry, signals: Signals) -> Rejection | None:
        gpu, policy = signals.gpu, self.policy.gpu
        depth = signals.queue_depth.get(self.endpoints[entry.name], 0)
        if depth > policy.max_queue:
            return Rejection(entry.name, codes.QUEUE_FULL,
                             f"{depth} calls queued (max {policy.max_queue})")
        need = entry.spec.vram_gb
        if need <= 0 or any(same_model(entry.spec.model, n) for n in gpu.loaded):
            return None
        if gpu.free_gb is None:
            if policy.on_unknown == "deny":
                return Rejection(entry.name, codes.GPU_UNKNOWN,
                                 "no GPU signal and routing.gpu.on_unknown is deny")
            return None
        if gpu.free_gb - need < policy.min_free_gb:
            return Rejection(entry.name, codes.GPU_FULL,
                             f"needs {need:.1f} GiB + {policy.min_free_gb:.1f} headroom, "
                             f"{gpu.free_gb:.1f} GiB free")
        return None

    def _cloud_reference(self, step: _Step) -> str | None:
        """The cloud model this step would use if everything ran on the cloud (for "saved")."""
        scored = [(estimated_success(e.spec.prior_for(step.role), step.difficulty),
                   e.spec.cost_usd(step.input_tokens, e.spec.output_limit(step.output_tokens)),
                   name) for name, e in self._cloud.items()]
        if not scored:
            return None
        bar = self._bar(success for success, _, _ in scored)
        return min((cost, name) for success, cost, name in scored if success >= bar)[1]

    def _bar(self, successes: Iterable[float]) -> float:
        """The expected success that meets the quality target among these candidates.

        Relative to the best of them, so the most capable one always meets it.
        """
        return self.policy.quality_target * max(successes)

    def _rank(self, agent: AgentSpec, survivors: list[_Survivor]) -> tuple[list[_Survivor], str]:
        """Survivors in the order to try them, and the reason for the first."""
        if not survivors:
            return [], codes.BLOCKED
        if not agent.is_auto:
            reason = codes.PINNED if survivors[0].order == 0 else codes.PINNED_FALLBACK
            return survivors, reason
        first_fallback = len(dict.fromkeys(agent.candidates))
        pool = [s for s in survivors if s.order < first_fallback]
        extra = [s for s in survivors if s.order >= first_fallback]
        if not pool:
            return extra, codes.FALLBACK_ONLY
        bar = self._bar(s.success for s in pool)
        meeting = sorted((s for s in pool if s.success >= bar),
                         key=lambda s: (s.cost, not s.entry.is_local, -s.success, s.order))
        below = sorted((s for s in pool if s.success < bar),
                       key=lambda s: (-s.success, not s.entry.is_local, s.cost, s.order))
        return [*meeting, *below, *extra], codes.MEETS_TARGET
