"""Call a routed model, account tokens and cost, and fall back on provider errors.

Fallback only ever walks the decision's own ``fallbacks``: models that passed every hard
constraint (privacy included) when the step was routed. Privacy is never relaxed by a fallback.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from pydantic import BaseModel

from hybridcrew.errors import AllCandidatesFailed, ProviderError, StepBlocked
from hybridcrew.routing.breaker import BreakerBoard
from hybridcrew.routing.catalog import CatalogEntry
from hybridcrew.routing.decision import Decision
from hybridcrew.routing.gate import SlotGate
from hybridcrew.routing.providers.base import Reply
from hybridcrew.routing.providers.registry import PROVIDERS
from hybridcrew.settings import Settings

T = TypeVar("T")
OnQueued = Callable[[str], None]
"""Called with the model name when a call has to wait for a local slot."""


@dataclass(frozen=True)
class CallResult:
    """One model call that returned, accounted (even when its output was invalid)."""

    model: str
    provider: str
    location: str
    message: AIMessage
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_s: float
    parsed: BaseModel | None = None
    invalid: str | None = None
    attempts: tuple[ProviderError, ...] = ()

    @property
    def text(self) -> str:
        """The reply as plain text."""
        return self.message.text


class ModelPool:
    """Builds chat models on first use and keeps them; maps their failures to typed errors."""

    def __init__(self, catalog: dict[str, CatalogEntry], settings: Settings,
                 breakers: BreakerBoard, endpoints: dict[str, str], gate: SlotGate) -> None:
        self.catalog = catalog
        self.settings = settings
        self.breakers = breakers
        self.endpoints = endpoints
        self.gate = gate
        self._models: dict[tuple[str, int], BaseChatModel] = {}
        self._lock = threading.Lock()

    def chat_model(self, name: str, max_tokens: int) -> BaseChatModel:
        """The chat model for catalog entry ``name`` with this output limit."""
        key = (name, max_tokens)
        with self._lock:
            if key not in self._models:
                entry = self.catalog[name]
                provider = PROVIDERS[entry.provider]
                self._models[key] = provider.chat_model(entry, self.settings, max_tokens)
            return self._models[key]

    def call(self, name: str, messages: Sequence[BaseMessage], max_tokens: int,
             schema: type[BaseModel] | None = None, on_queued: OnQueued | None = None
             ) -> CallResult:
        """Invoke one model (through its endpoint's slot gate); outcomes feed its breaker."""
        call = Call(self, name, max_tokens, on_queued)
        with self.gate.slot(call.endpoint, call.queued):
            started = time.perf_counter()
            try:
                reply = call.provider.invoke(call.entry, call.chat_model(), messages, schema)
            except Exception as exc:
                raise call.failed(exc) from exc
            return call.result(reply, time.perf_counter() - started)

    async def acall(self, name: str, messages: Sequence[BaseMessage], max_tokens: int,
                    schema: type[BaseModel] | None = None, on_queued: OnQueued | None = None
                    ) -> CallResult:
        """:meth:`call` for a step on the event loop."""
        call = Call(self, name, max_tokens, on_queued)
        async with self.gate.aslot(call.endpoint, call.queued):
            started = time.perf_counter()
            try:
                reply = await call.provider.ainvoke(call.entry, call.chat_model(),
                                                      messages, schema)
            except Exception as exc:
                raise call.failed(exc) from exc
            return call.result(reply, time.perf_counter() - started)


class Call:
    """One call to a catalog model: what it needs, and how its outcome is accounted."""

    def __init__(self, pool: ModelPool, name: str, max_tokens: int, on_queued: OnQueued | None
                 ) -> None:
        self.pool, self.name = pool, name
        self.entry = pool.catalog[name]
        self.provider = PROVIDERS[self.entry.provider]
        self.endpoint = pool.endpoints[name]
        self.limit = self.entry.spec.output_limit(max_tokens)
        self.queued = (lambda: on_queued(name)) if on_queued else None

    def chat_model(self) -> BaseChatModel:
        """Built on first use (a backend that cannot serve fails here, as a provider error)."""
        return self.pool.chat_model(self.name, self.limit)

    def failed(self, exc: Exception) -> Exception:
        """The typed error for a failed call (retryable ones count against the breaker)."""
        error = self.provider.classify(exc, self.entry)
        if error is None:
            return exc
        if error.retryable:
            self.pool.breakers.record_failure(self.endpoint)
        return error

    def result(self, reply: Reply, latency: float) -> CallResult:
        """The accounted result of a call that returned."""
        self.pool.breakers.record_success(self.endpoint)
        usage = reply.message.usage_metadata
        tokens_in, tokens_out = (usage["input_tokens"], usage["output_tokens"]) if usage else (0, 0)
        entry = self.entry
        return CallResult(
            model=self.name, provider=entry.provider, location=entry.location,
            message=reply.message, input_tokens=tokens_in, output_tokens=tokens_out,
            cost_usd=entry.spec.cost_usd(tokens_in, tokens_out), latency_s=latency,
            parsed=reply.parsed, invalid=reply.invalid,
        )


def invoke_with_fallback(pool: ModelPool, decision: Decision, messages: Sequence[BaseMessage],
                         schema: type[BaseModel] | None = None,
                         on_queued: OnQueued | None = None) -> CallResult:
    """Call the decided model; on a retryable provider error try the decision's fallbacks."""
    if decision.model is None:
        raise StepBlocked(decision)
    errors: list[ProviderError] = []
    for name in (decision.model, *decision.fallbacks):
        try:
            result = pool.call(name, messages, decision.output_tokens, schema, on_queued)
        except ProviderError as exc:
            errors.append(exc)
            if not exc.retryable:
                break
            continue
        return dataclasses.replace(result, attempts=tuple(errors))
    raise AllCandidatesFailed(decision.agent, errors)


async def ainvoke_with_fallback(pool: ModelPool, decision: Decision,
                                messages: Sequence[BaseMessage],
                                schema: type[BaseModel] | None = None,
                                on_queued: OnQueued | None = None) -> CallResult:
    """:func:`invoke_with_fallback` for a step on the event loop."""
    result, errors = await first_served(decision, lambda name: pool.acall(
        name, messages, decision.output_tokens, schema, on_queued))
    return dataclasses.replace(result, attempts=errors)


async def first_served(decision: Decision, attempt: Callable[[str], Awaitable[T]]
                       ) -> tuple[T, tuple[ProviderError, ...]]:
    """Try ``attempt`` on the decided model, then on each cleared fallback.

    Moves on while errors are retryable; returns what the first success gave and the errors
    before it.
    """
    if decision.model is None:
        raise StepBlocked(decision)
    errors: list[ProviderError] = []
    for name in (decision.model, *decision.fallbacks):
        try:
            return await attempt(name), tuple(errors)
        except ProviderError as exc:
            errors.append(exc)
            if not exc.retryable:
                break
    raise AllCandidatesFailed(decision.agent, errors)
