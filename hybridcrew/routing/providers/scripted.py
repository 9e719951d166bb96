"""The scripted model: deterministic replies, latency and failures on demand.

Not a real model. It exists for tests, demos and benchmarks (like langgraph's fake chat model),
and it is clearly named so nobody mistakes its output for a model's.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field, PrivateAttr

from hybridcrew.errors import ERROR_KINDS, ConfigError
from hybridcrew.routing.catalog import CatalogEntry
from hybridcrew.routing.providers.base import ModelProvider, Probe

if TYPE_CHECKING:
    from hybridcrew.platform.settings import Settings

CHARS_PER_TOKEN = 4


def count_tokens(text: str) -> int:
    """Deterministic token count for scripted usage: one token per four characters."""
    return max(1, (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN)


class ScriptedChatModel(BaseChatModel):
    """Replies from a script, in order and cycling; ``failures[i]`` makes call ``i`` fail."""

    model_name: str = "scripted"
    replies: list[str] = Field(default_factory=list)
    latency_s: float = 0.0
    failures: list[str | None] = Field(default_factory=list)
    max_tokens: int = 1024
    _calls: itertools.count[int] = PrivateAttr(default_factory=itertools.count)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "hybridcrew-scripted"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with self._lock:
            index = next(self._calls)
        if self.latency_s:
            time.sleep(self.latency_s)
        failure = self.failures[index] if index < len(self.failures) else None
        if failure:
            raise ERROR_KINDS[failure](provider="scripted", model=self.model_name,
                                       detail=f"scripted failure on call {index}")
        reply = (self.replies[index % len(self.replies)] if self.replies
                 else f"[scripted reply {index + 1}]")
        prompt = "".join(str(m.content) for m in messages)
        input_tokens = count_tokens(prompt)
        output_tokens = min(count_tokens(reply), self.max_tokens)
        message = AIMessage(
            content=reply,
            usage_metadata={"input_tokens": input_tokens, "output_tokens": output_tokens,
                            "total_tokens": input_tokens + output_tokens},
            response_metadata={"model_name": self.model_name, "call_index": index},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


class ScriptedProvider(ModelProvider):
    """Options: ``replies`` (list), ``latency_s`` (float), ``failures`` (list of error kinds)."""

    name = "scripted"
    location = "local"

    def chat_model(self, entry: CatalogEntry, settings: Settings, max_tokens: int
                   ) -> BaseChatModel:
        """A :class:`ScriptedChatModel` configured from the model's ``options``."""
        options = entry.spec.options
        unknown = [f for f in options.get("failures", []) if f and f not in ERROR_KINDS]
        if unknown:
            raise ConfigError.single(
                "models", f"models.{entry.name}.options.failures",
                f"unknown failure kind '{unknown[0]}'",
                "use null (success) or one of: " + ", ".join(ERROR_KINDS))
        return ScriptedChatModel(
            model_name=entry.spec.model,
            replies=list(options.get("replies", [])),
            latency_s=float(options.get("latency_s", 0.0)),
            failures=list(options.get("failures", [])),
            max_tokens=max_tokens,
        )

    def probe(self, entry: CatalogEntry, settings: Settings) -> Probe:
        """Always available."""
        return Probe(True, "scripted (deterministic, not a real model)")
