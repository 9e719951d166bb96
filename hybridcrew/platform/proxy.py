"""Model calls other tools send through hybridcrew, routed like crew steps.

The OpenAI- and Anthropic-compatible endpoints hand a call here as langchain messages. What
the call names as its ``model`` is an agent (its assignment applies), ``auto`` (every
configured model is a candidate) or a configured model (pinned: the only candidate, and still
refused when the call's data may not go to it). Everything that would leave the machine is
scanned: every message, tool result, tool call and tool definition. A conversation that has
carried sensitive data stays on models cleared for it in its later turns: its key is the
``x-hybridcrew-conversation`` header when the caller sends one, else a digest of its first
system and first user message (what the turns of one conversation share).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from hybridcrew.agents.spec import AgentSpec
from hybridcrew.documents import choose_from
from hybridcrew.errors import ConfigError, StepBlocked
from hybridcrew.graphs.lifecycle import EventKind
from hybridcrew.graphs.ports import daily_scope
from hybridcrew.platform.crew import Crew
from hybridcrew.platform.keys import Caller
from hybridcrew.platform.ratelimits import RateLimits
from hybridcrew.routing.chat import ChatOptions, Streamed, achat, astream
from hybridcrew.routing.config import LoadedConfig, with_assignments
from hybridcrew.routing.decision import Decision
from hybridcrew.routing.invoke import CallResult
from hybridcrew.routing.router import PromptPart, RouteRequest
from hybridcrew.routing.runtime import RoutingRuntime
from hybridcrew.sensitivity import Sensitivity

AUTO = "auto"
PINNED = "model:"
"""Prefix of the agent a pinned call routes as (``model:<name>``)."""
PROXY_RUNS = "proxy:"
"""Decision records of proxied calls are kept under ``proxy:<tenant>``."""
CONVERSATION_HEADER = "x-hybridcrew-conversation"
ASSIGNMENTS_FRESH_S = 2.0
DEFAULT_OUTPUT_TOKENS = 1024


@dataclass(frozen=True)
class RoutedCall:
    """A call that may run: where, why, and what to send."""

    id: str
    """The decision's id: ``GET /v1/decisions/{id}`` returns its record."""
    decision: Decision
    messages: list[BaseMessage]
    options: ChatOptions
    tenant: str
    key: str
    """Whose rate limits the call counts against: the API key's id (or its tenant's)."""
    counts_tokens: bool
    """Whether the key's tokens per minute are limited (then its tokens are counted)."""

    def headers(self, model: str, location: str) -> dict[str, str]:
        """What the response says about the call: who served it, where, why, its decision."""
        return {"x-hybridcrew-model": model, "x-hybridcrew-location": location,
                "x-hybridcrew-reasons": ",".join(self.decision.reasons),
                "x-hybridcrew-decision-id": self.id}


def conversation_key(messages: Sequence[BaseMessage]) -> str:
    """What the turns of one conversation share: its first system and first user message."""
    first = [next((m.text for m in messages if isinstance(m, kind)), "")
             for kind in (SystemMessage, HumanMessage)]
    return hashlib.sha256("\x1e".join(first).encode()).hexdigest()[:32]


def outbound_parts(messages: Sequence[BaseMessage], options: ChatOptions
                   ) -> tuple[PromptPart, ...]:
    """Every text the call sends out, for the privacy scan."""
    parts = [PromptPart(m.text, kind=m.type) for m in messages if m.text]
    parts += [PromptPart(json.dumps(c["args"]), kind="tool_call") for m in messages
              if isinstance(m, AIMessage) for c in m.tool_calls]
    if options.tools:
        parts.append(PromptPart(json.dumps(list(options.tools)), kind="tools"))
    return tuple(parts)


class Proxy:
    """Routes, calls and accounts the calls of the compatible endpoints."""

    def __init__(self, crew: Crew) -> None:
        self.crew, self.store = crew, crew.store
        settings = crew.settings
        self.limits = RateLimits(crew.store, settings.proxy_requests_per_minute,
                                 settings.proxy_tokens_per_minute)
        self._runtimes: dict[str, RoutingRuntime] = {}
        self._assignments = (-1e9, "{}")  # (read at, JSON of the persisted assignments)

    def names(self) -> list[str]:
        """What a call may name as its model: agents, ``auto``, configured models.

        A configured model's provider id (``claude-sonnet-4-6``) pins it too.
        """
        config = self.crew.config
        return list(dict.fromkeys([*config.agents, AUTO, *config.catalog]))

    def route(self, caller: Caller, model: str, messages: list[BaseMessage],
              options: ChatOptions, *, max_tokens: int | None, conversation: str | None
              ) -> RoutedCall:
        """Decide where the call runs, or say why it cannot.

        :class:`RateLimitExceeded` when the caller's key has used its minute,
        :class:`StepBlocked` when no model may serve the call (the decision is kept).
        """
        tenant, key = caller.tenant, caller.key_id or f"tenant:{caller.tenant}"
        counts_tokens = self.limits.admit(key, caller.limits)
        runtime = self._runtime()
        agent = self._agent(model, runtime.config)
        thread = conversation or conversation_key(messages)
        taint = Sensitivity(self.store.conversation_taint(tenant, thread))
        # Today's spend only matters when a candidate costs something (one read less if not).
        paid = runtime.config.pays(agent)
        request = RouteRequest(
            agent=agent, parts=outbound_parts(messages, options), step="chat", taint=taint,
            output_tokens=max_tokens or None,
            daily_spent_usd=self.store.spent(daily_scope(tenant)) if paid else 0.0)
        decision = runtime.decide(request)
        if decision.sensitivity > taint:  # later turns stay on models cleared for it
            self.store.taint_conversation(tenant, thread, int(decision.sensitivity))
        call_id = "dec_" + secrets.token_hex(12)
        self.store.record_decision(PROXY_RUNS + tenant, call_id, decision.to_dict())
        if decision.blocked:
            raise StepBlocked(decision, call_id)
        return RoutedCall(call_id, decision, messages, options, tenant, key, counts_tokens)

    async def serve(self, caller: Caller, model: str, messages: list[BaseMessage],
                    options: ChatOptions, *, max_tokens: int | None, conversation: str | None
                    ) -> tuple[RoutedCall, CallResult]:
        """Route the call, run it, account it (on the run loop, with the runs)."""
        routed = self.route(caller, model, messages, options, max_tokens=max_tokens,
                            conversation=conversation)
        return routed, await self.call(routed)

    async def open_stream(self, caller: Caller, model: str, messages: list[BaseMessage],
                          options: ChatOptions, *, max_tokens: int | None,
                          conversation: str | None) -> tuple[RoutedCall, Streamed]:
        """Route the call and start streaming it; read it with :meth:`chunks`."""
        routed = self.route(caller, model, messages, options, max_tokens=max_tokens,
                            conversation=conversation)
        return routed, await self.stream(routed)

    async def chunks(self, routed: RoutedCall, streamed: Streamed) -> AsyncIterator[AIMessage]:
        """The streamed call's chunks; it is accounted once the last has been read."""
        async for chunk in streamed:
            yield chunk
        assert streamed.result is not None  # set once every chunk was read
        self.account(routed, streamed.result)

    async def call(self, routed: RoutedCall) -> CallResult:
        """Run the call (falling back across the decision's cleared fallbacks) and account."""
        result = await achat(self._runtime().pool, routed.decision, routed.messages,
                             routed.options)
        self.account(routed, result)
        return result

    async def stream(self, routed: RoutedCall) -> Streamed:
        """Start streaming the call; :meth:`account` it once its chunks are read."""
        return await astream(self._runtime().pool, routed.decision, routed.messages,
                             routed.options)

    def account(self, routed: RoutedCall, result: CallResult) -> None:
        """Charge the tenant's day for the call (once) and log it: metrics, live feeds.

        The log is the tenant's ``proxy:<tenant>`` event stream; its ``call_finished`` events
        carry tokens, cost and what the call would have cost on the cloud reference model.
        """
        if result.cost_usd > 0:
            self.store.spend(daily_scope(routed.tenant), result.cost_usd, charge_id=routed.id)
        if routed.counts_tokens:
            self.limits.used(routed.key, result.input_tokens + result.output_tokens)
        decision = routed.decision
        reference = self.crew.config.catalog.get(decision.cloud_reference or "")
        cloud_cost = result.cost_usd if result.location == "cloud" or reference is None \
            else reference.spec.cost_usd(result.input_tokens, result.output_tokens)
        self.crew.events.emit(
            PROXY_RUNS + routed.tenant, EventKind.CALL_FINISHED, None, decision_id=routed.id,
            tenant=routed.tenant, agent=decision.agent, model=result.model,
            provider=result.provider, location=result.location, reasons=list(decision.reasons),
            sensitivity=decision.sensitivity.label, input_tokens=result.input_tokens,
            output_tokens=result.output_tokens, cost_usd=result.cost_usd,
            cloud_cost_usd=cloud_cost, seconds=round(result.latency_s, 3),
            errors=[{"model": e.model, "provider": e.provider, "kind": e.kind}
                    for e in result.attempts])

    def _agent(self, model: str, config: LoadedConfig) -> str:
        if model in config.agents:
            return model
        if PINNED + model in config.agents:
            return PINNED + model
        # A provider's own model id (what Claude Code sends) pins the entry that serves it.
        served = [name for name, e in config.catalog.items() if e.spec.model == model]
        if served:
            return PINNED + served[0]
        raise ConfigError.single("request", "model", "no agent, 'auto' or configured model "
                                 "has that name", choose_from(model, self.names()))

    def _runtime(self) -> RoutingRuntime:
        """The routing runtime with persisted assignments applied, plus auto and pinned agents.

        Assignments are re-read at most every ``ASSIGNMENTS_FRESH_S``: a change through
        ``PUT /v1/agents`` reaches proxied calls within that time.
        """
        read_at, cache = self._assignments
        if time.monotonic() - read_at > ASSIGNMENTS_FRESH_S:
            assignments = self.store.assignments()
            cache = json.dumps(assignments, sort_keys=True)
            self._assignments = (time.monotonic(), cache)
        if cache not in self._runtimes:
            assignments = json.loads(cache)
            config = self.crew.config
            merged = with_assignments(config, assignments, "assignments") if assignments \
                else config
            names = list(config.catalog)
            extra = {AUTO: AgentSpec(role="", model=AUTO, candidates=names,
                                     max_output_tokens=DEFAULT_OUTPUT_TOKENS)}
            extra |= {PINNED + name: AgentSpec(role="", model=name,
                                               max_output_tokens=DEFAULT_OUTPUT_TOKENS)
                      for name in names}
            document = merged.document.model_copy(update={"agents": {**extra,
                                                                     **merged.agents}})
            self._runtimes = {cache: self.crew.runtime.with_agents(
                LoadedConfig(merged.source, document, merged.catalog))}
        return self._runtimes[cache]
