"""Calls that other tools send through hybridcrew: their messages, tools and options, as asked.

A crew step builds its own prompt and validates its own output; a proxied call (the OpenAI- and
Anthropic-compatible endpoints) passes the caller's conversation, tool definitions, JSON mode
and output limit through to whichever model the router chose, and falls back only across the
decision's own cleared fallbacks, as steps do. Streaming falls back only before its first
chunk: after that, the caller has part of one model's answer.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, cast

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import RunnableBinding

from hybridcrew.errors import ProviderError, Unsupported
from hybridcrew.routing.decision import Decision
from hybridcrew.routing.invoke import Call, CallResult, ModelPool, first_served
from hybridcrew.routing.providers.base import Reply, agenerate


@dataclass(frozen=True)
class ChatOptions:
    """What a caller asks of a call besides its messages."""

    tools: tuple[dict[str, Any], ...] = ()
    """Tool definitions in OpenAI's function format (``{"type": "function", "function": …}``)."""
    tool_choice: str | None = None
    """``auto``, ``any`` (a tool must be called), ``none``, or one tool's name."""
    json_mode: bool = False
    stop: tuple[str, ...] = ()


def bound(call: Call, options: ChatOptions) -> tuple[BaseChatModel, dict[str, Any]]:
    """The call's chat model and the call options that carry the caller's tools and JSON mode."""
    model = call.chat_model()
    kwargs: dict[str, Any] = {}
    if options.tools:
        choice: dict[str, Any] = {} if options.tool_choice is None else {
            "tool_choice": options.tool_choice}
        try:
            binding = model.bind_tools(list(options.tools), **choice)
        except NotImplementedError:
            raise Unsupported(provider=call.entry.provider, model=call.entry.spec.model,
                              detail="this model cannot call tools") from None
        # Every chat model binds tools as call options (the format its API takes).
        assert isinstance(binding, RunnableBinding)
        kwargs.update(binding.kwargs)
    if options.json_mode:
        json_mode = call.provider.json_mode_kwargs
        if json_mode is None:
            raise Unsupported(provider=call.entry.provider, model=call.entry.spec.model,
                              detail="this model has no JSON mode")
        kwargs.update(json_mode)
    if options.stop:
        kwargs["stop"] = list(options.stop)
    return model, kwargs


async def achat(pool: ModelPool, decision: Decision, messages: Sequence[BaseMessage],
                options: ChatOptions) -> CallResult:
    """Call the decided model (then its cleared fallbacks, on retryable errors)."""

    async def attempt(name: str) -> CallResult:
        call = Call(pool, name, decision.output_tokens, None)
        model, kwargs = bound(call, options)
        async with pool.gate.aslot(call.endpoint):
            started = time.perf_counter()
            try:
                message = await agenerate(model, messages, **kwargs)
            except Exception as exc:
                raise call.failed(exc) from exc
            return call.result(Reply(message), time.perf_counter() - started)

    result, errors = await first_served(decision, attempt)
    return dataclasses.replace(result, attempts=errors)


class Streamed:
    """A streaming call: iterate for its chunks; once they are all read, ``result`` is set."""

    def __init__(self, call: Call, first: AIMessage | None, rest: AsyncIterator[Any],
                 held: AsyncExitStack, *, started: float, attempts: tuple[ProviderError, ...]
                 ) -> None:
        self.model, self.location = call.name, call.entry.location
        self.result: CallResult | None = None
        self._call, self._first, self._rest, self._held = call, first, rest, held
        self._started, self.attempts = started, attempts

    async def __aiter__(self) -> AsyncIterator[AIMessage]:
        """The chunks as the model sends them (its slot is held until the last)."""
        whole = self._first
        try:
            if whole is not None:
                yield whole
            async for chunk in self._rest:
                # Chunks add up (text, tool-call fragments, usage) to the whole message.
                whole = chunk if whole is None else cast(AIMessage, whole + chunk)
                yield chunk
        except Exception as exc:
            raise self._call.failed(exc) from exc
        finally:
            await self._held.aclose()
        message = AIMessage(content="") if whole is None else AIMessage(
            content=whole.content, tool_calls=whole.tool_calls,
            usage_metadata=whole.usage_metadata, response_metadata=whole.response_metadata)
        self.result = dataclasses.replace(
            self._call.result(Reply(message), time.perf_counter() - self._started),
            attempts=self.attempts)


async def astream(pool: ModelPool, decision: Decision, messages: Sequence[BaseMessage],
                  options: ChatOptions) -> Streamed:
    """Start streaming from the decided model; fall back while nothing has been streamed.

    The first chunk is read here, so a model that fails at once (refused, down, rate-limited)
    gives way to the next cleared fallback before the caller has seen anything.
    """

    async def attempt(name: str) -> Streamed:
        call = Call(pool, name, decision.output_tokens, None)
        held = AsyncExitStack()
        try:
            model, kwargs = bound(call, options)
            await held.enter_async_context(pool.gate.aslot(call.endpoint))
            started = time.perf_counter()
            rest = aiter(model.astream(list(messages), **kwargs))
            try:
                first = await anext(rest, None)
            except Exception as exc:
                raise call.failed(exc) from exc
        except BaseException:
            await held.aclose()
            raise
        return Streamed(call, cast(AIMessage | None, first), rest, held, started=started,
                        attempts=())

    streamed, errors = await first_served(decision, attempt)
    streamed.attempts = errors
    return streamed

