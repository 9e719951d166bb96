"""The OpenAI-compatible API under ``/openai/v1``: point any OpenAI client's base URL here.

``POST /openai/v1/chat/completions`` (streaming or not) routes every call like a crew step:
``model`` names an agent (its assignment applies), ``auto``, or a configured model (pinned).
Messages, system prompts, tools and tool calls, JSON mode (``response_format``) and the output
limit pass through to the model that serves the call. The response says what happened in its
headers: ``x-hybridcrew-model``, ``x-hybridcrew-location``, ``x-hybridcrew-reasons`` and
``x-hybridcrew-decision-id`` (``GET /v1/decisions/{id}`` returns the decision record).
``GET /openai/v1/models`` lists what ``model`` may name. The prefix keeps hybridcrew's own
``/v1/models`` (the catalog with live health) as it is.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse, StreamingResponse
from langchain_core.messages import AIMessage, AIMessageChunk, convert_to_messages
from pydantic import BaseModel, ConfigDict, Field

from hybridcrew.errors import ConfigError
from hybridcrew.platform.api.deps import ServiceDep, ToolCaller
from hybridcrew.platform.proxy import CONVERSATION_HEADER, RoutedCall
from hybridcrew.routing.chat import ChatOptions, Streamed
from hybridcrew.routing.invoke import CallResult

router = APIRouter(prefix="/openai/v1", tags=["openai-compatible"])
MAX_MESSAGES = 2_000


class StreamOptions(BaseModel):
    """``stream_options``: only ``include_usage`` is read."""

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """OpenAI's chat-completions request; fields hybridcrew does not use are accepted."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=200,
                       description="an agent, 'auto', or a configured model (pinned)")
    messages: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, gt=0, le=1_000_000)
    max_completion_tokens: int | None = Field(None, gt=0, le=1_000_000)
    tools: list[dict[str, Any]] | None = Field(None, max_length=512)
    tool_choice: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    stop: str | list[str] | None = None

    def options(self) -> ChatOptions:
        """What passes through besides the messages."""
        kind = (self.response_format or {}).get("type")
        stop = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        return ChatOptions(tools=tuple(self.tools or ()), tool_choice=_choice(self.tool_choice),
                           json_mode=kind in {"json_object", "json_schema"}, stop=tuple(stop))


def _choice(choice: str | dict[str, Any] | None) -> str | None:
    """OpenAI's ``tool_choice`` as langchain's ``bind_tools`` takes it for every provider."""
    if isinstance(choice, dict):
        return str(choice.get("function", {}).get("name") or "") or None
    return "any" if choice == "required" else choice


class ModelCard(BaseModel):
    """One name ``model`` may take."""

    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "hybridcrew"


class ModelList(BaseModel):
    """What ``model`` may name: agents, ``auto``, configured models."""

    object: Literal["list"] = "list"
    data: list[ModelCard]


class Completion(BaseModel):
    """OpenAI's chat completion: one choice (message, tool calls, finish reason) and usage."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str = Field(description="the configured model that served the call")
    choices: list[dict[str, Any]]
    usage: dict[str, int]


_STREAM = {"text/event-stream": {"schema": {
    "type": "string", "description": "with stream: true, chat.completion.chunk objects as "
    "`data:` lines, then `data: [DONE]`"}}}


@router.get("/models", response_model=ModelList)
async def list_models(_: ToolCaller, service: ServiceDep) -> ModelList:
    """Agents, ``auto`` and configured models, as OpenAI lists models."""
    return ModelList(data=[ModelCard(id=name) for name in service.proxy.names()])


@router.post("/chat/completions", response_model=None,
             responses={200: {"model": Completion, "content": _STREAM}})
async def chat_completions(
    body: ChatCompletionRequest, caller: ToolCaller, service: ServiceDep,
    conversation: Annotated[str | None, Header(alias=CONVERSATION_HEADER, max_length=200)
                            ] = None,
) -> JSONResponse | StreamingResponse:
    """Route the call, run it on the chosen model, answer as OpenAI does."""
    try:
        # An assistant turn that only calls tools may leave its content out (or null).
        messages = convert_to_messages([{**m, "content": m.get("content") or ""}
                                        for m in body.messages])
    except (ValueError, NotImplementedError, KeyError, TypeError):
        raise ConfigError.single("request", "messages", "a message is not in OpenAI's chat "
                                 "format", "send {role, content} objects; roles: system, "
                                 "user, assistant, tool") from None
    # Calls run on the run loop, with the runs: model clients live there (see runloop).
    proxy, runs = service.proxy, service.runs
    limit = body.max_completion_tokens or body.max_tokens
    if body.stream:
        routed, streamed = await runs.call(proxy.open_stream(
            caller, body.model, messages, body.options(), max_tokens=limit,
            conversation=conversation))
        usage = bool(body.stream_options and body.stream_options.include_usage)
        chunks = runs.relay(proxy.chunks(routed, streamed))
        return StreamingResponse(_sse(routed, streamed, chunks, usage),
                                 media_type="text/event-stream",
                                 headers=routed.headers(streamed.model, streamed.location))
    routed, result = await runs.call(proxy.serve(
        caller, body.model, messages, body.options(), max_tokens=limit,
        conversation=conversation))
    return JSONResponse(_completion(routed, result),
                        headers=routed.headers(result.model, result.location))


def _tool_calls(message: AIMessage) -> list[dict[str, Any]]:
    return [{"id": c["id"], "type": "function",
             "function": {"name": c["name"], "arguments": json.dumps(c["args"])}}
            for c in message.tool_calls]


def _usage(result: CallResult) -> dict[str, int]:
    return {"prompt_tokens": result.input_tokens, "completion_tokens": result.output_tokens,
            "total_tokens": result.input_tokens + result.output_tokens}


def _completion(routed: RoutedCall, result: CallResult) -> dict[str, Any]:
    message = result.message
    reply: dict[str, Any] = {"role": "assistant", "content": message.text or None}
    if message.tool_calls:
        reply["tool_calls"] = _tool_calls(message)
    return {"id": "chatcmpl-" + routed.id, "object": "chat.completion",
            "created": int(time.time()), "model": result.model,
            "choices": [{"index": 0, "message": reply, "logprobs": None,
                         "finish_reason": "tool_calls" if message.tool_calls else "stop"}],
            "usage": _usage(result)}


async def _sse(routed: RoutedCall, streamed: Streamed, chunks: AsyncIterator[AIMessage],
               usage: bool) -> AsyncIterator[bytes]:
    """The chunks as OpenAI streams them, then ``[DONE]``."""
    base = {"id": "chatcmpl-" + routed.id, "object": "chat.completion.chunk",
            "created": int(time.time()), "model": streamed.model}

    def frame(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return f"data: {json.dumps(base | {'choices': [choice]} | extra)}\n\n".encode()

    yield frame({"role": "assistant", "content": ""})
    called = False
    async for chunk in chunks:
        delta = _delta(chunk)
        called = called or "tool_calls" in delta
        if delta:
            yield frame(delta)
    result = streamed.result
    assert result is not None  # set once every chunk was read
    yield frame({}, "tool_calls" if called else "stop")
    if usage:
        yield f"data: {json.dumps(base | {'choices': [], 'usage': _usage(result)})}\n\n".encode()
    yield b"data: [DONE]\n\n"


def _delta(chunk: AIMessage) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if chunk.text:
        delta["content"] = chunk.text
    if isinstance(chunk, AIMessageChunk):
        calls = [{"index": c.get("index") or 0, **({"id": c["id"]} if c.get("id") else {}),
                  "type": "function", "function": {"name": c.get("name") or "",
                                                   "arguments": c.get("args") or ""}}
                 for c in chunk.tool_call_chunks]
    else:  # a model that does not stream answers with its whole message at once
        calls = [{"index": i, **call} for i, call in enumerate(_tool_calls(chunk))]
    if calls:
        delta["tool_calls"] = calls
    return delta
