"""The scripted model: deterministic replies, latency and failures on demand.

Not a real model. It exists for tests, demos and benchmarks (like langgraph's fake chat model),
and it is clearly named so nobody mistakes its output for a model's. Options:

- ``rules``: ``[{match: "text in the prompt", reply: "..."}]``; the first matching rule answers.
  Replies that depend only on the prompt stay the same when a run resumes in a new process. A
  rule with ``tool_call: {name: ..., arguments: {...}}`` instead of ``reply`` calls that tool,
  when the last message is the user's (so the turn after the tool's result gets a reply).
- ``replies``: answers in order, cycling (when no rule matches).
- ``failures``: error kinds for calls 0, 1, ... (``null`` = succeed), e.g. ``[rate_limited]``.
- ``latency_s``: seconds each call takes.
- ``call_log``: a file that gets one JSON line per call (survives process restarts).

Given a JSON schema as llama.cpp takes it (``response_format={"type": "json_object", "schema":
...}``) and nothing scripted, it answers with the smallest object the schema accepts.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolCall
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field, PrivateAttr

from hybridcrew.errors import ERROR_KINDS, ConfigError
from hybridcrew.routing.catalog import CatalogEntry
from hybridcrew.routing.providers.base import (
    JSON_OBJECT,
    ModelProvider,
    Probe,
)

if TYPE_CHECKING:
    from hybridcrew.settings import Settings

CHARS_PER_TOKEN = 4


def count_tokens(text: str) -> int:
    """Deterministic token count for scripted usage: one token per four characters."""
    return max(1, (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN)


def _schema(options: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema a call's ``response_format`` carries, if any."""
    response_format = options.get("response_format")
    return response_format.get("schema") if isinstance(response_format, dict) else None


def prompt_digest(messages: Sequence[BaseMessage]) -> str:
    """A short, stable fingerprint of a prompt (call logs compare these, never the text)."""
    text = "\x1e".join(f"{m.type}:{m.content}" for m in messages)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class ScriptedChatModel(BaseChatModel):
    """A chat model that plays a script. See the module docstring for the options."""

    model_name: str = "scripted"
    rules: list[dict[str, Any]] = Field(default_factory=list)
    replies: list[str] = Field(default_factory=list)
    latency_s: float = 0.0
    failures: list[str | None] = Field(default_factory=list)
    call_log: Path | None = None
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
        index = self._begin(messages)
        if self.latency_s:
            time.sleep(self.latency_s)
        return self._play(index, messages, _schema(kwargs))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # Natively async: langchain's default would hand every call to a worker thread.
        index = self._begin(messages)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        return self._play(index, messages, _schema(kwargs))

    def _begin(self, messages: list[BaseMessage]) -> int:
        with self._lock:
            index = next(self._calls)
        self._log(index, messages)
        return index

    def _play(self, index: int, messages: list[BaseMessage], schema: dict[str, Any] | None
              ) -> ChatResult:
        failure = self.failures[index] if index < len(self.failures) else None
        if failure:
            raise ERROR_KINDS[failure](provider="scripted", model=self.model_name,
                                       detail=f"scripted failure on call {index}")
        prompt = "\n".join(str(m.content) for m in messages)
        user_turn = bool(messages) and isinstance(messages[-1], HumanMessage)
        tool_call = self._tool_call(index, prompt) if user_turn else None
        reply = "" if tool_call else self._reply(index, prompt, schema)
        input_tokens = count_tokens(prompt)
        output_tokens = min(count_tokens(reply or json.dumps(tool_call)), self.max_tokens)
        message = AIMessage(
            content=reply, tool_calls=[tool_call] if tool_call else [],
            usage_metadata={"input_tokens": input_tokens, "output_tokens": output_tokens,
                            "total_tokens": input_tokens + output_tokens},
            response_metadata={"model_name": self.model_name, "call_index": index},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _tool_call(self, index: int, prompt: str) -> ToolCall | None:
        for rule in self.rules:
            call = rule.get("tool_call")
            if isinstance(call, dict) and rule["match"] in prompt:
                return ToolCall(name=str(call["name"]), args=dict(call.get("arguments", {})),
                                id=f"call_scripted_{index}")
        return None

    def _reply(self, index: int, prompt: str, schema: dict[str, Any] | None) -> str:
        for rule in self.rules:
            if "reply" in rule and rule["match"] in prompt:
                return str(rule["reply"])
        if self.replies:
            return self.replies[index % len(self.replies)]
        if schema is not None:
            return json.dumps(example_for(schema, schema))
        return f"[scripted reply {index + 1}]"

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any
                   ) -> Runnable[LanguageModelInput, AIMessage]:
        """Accept tools (the script decides whether to call one)."""
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _log(self, index: int, messages: Sequence[BaseMessage]) -> None:
        if self.call_log is None:
            return
        line = json.dumps({"model": self.model_name, "call": index,
                           "prompt": prompt_digest(messages), "ts": time.time()})
        with self.call_log.open("a", encoding="utf-8") as log:
            log.write(line + "\n")


def example_for(node: dict[str, Any], root: dict[str, Any]) -> Any:  # noqa: PLR0911 - JSON types
    """The smallest JSON value that ``node`` (a JSON-schema fragment) accepts."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return example_for(root.get("$defs", {})[name], root)
    if "enum" in node:
        return node["enum"][0]
    if "anyOf" in node:
        return example_for(next(o for o in node["anyOf"] if o.get("type") != "null"), root)
    kind = node.get("type")
    if kind == "object":
        props = node.get("properties", {})
        return {k: example_for(props[k], root) for k in node.get("required", props)}
    if kind == "array":
        return [example_for(node.get("items", {}), root) for _ in range(node.get("minItems", 1))]
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        return node.get("minimum", 0)
    return "scripted" if node.get("minLength", 0) <= len("scripted") else "s" * node["minLength"]


class ScriptedProvider(ModelProvider):
    """Deterministic stand-in for a model; see :class:`ScriptedChatModel`."""

    name = "scripted"
    location = "local"
    structured_method = JSON_OBJECT  # the script, or the schema itself, provides the JSON
    json_mode_kwargs = {}  # noqa: RUF012 - ClassVar; the script decides what it answers

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
        log = options.get("call_log")
        return ScriptedChatModel(
            model_name=entry.spec.model,
            rules=list(options.get("rules", [])),
            replies=list(options.get("replies", [])),
            latency_s=float(options.get("latency_s", 0.0)),
            failures=list(options.get("failures", [])),
            call_log=Path(str(log)) if log else None,
            max_tokens=max_tokens,
        )

    def probe(self, entry: CatalogEntry, settings: Settings) -> Probe:
        """Always available."""
        return Probe(True, "scripted (deterministic, not a real model)")
