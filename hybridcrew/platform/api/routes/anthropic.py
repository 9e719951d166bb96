"""The Anthropic-compatible API: ``POST /v1/messages``, so ``ANTHROPIC_BASE_URL`` can point here.

Claude Code and the ``anthropic`` SDK work unchanged. ``model`` names an agent, ``auto``, a
configured model, or a configured model's provider id (``claude-sonnet-4-6``): set
``ANTHROPIC_MODEL=auto`` (or an agent's name) to let the router choose. The system prompt,
content blocks, tools, ``tool_use`` and ``tool_result`` round-trip; streaming answers with the
events Anthropic's API emits (``message_start``, ``content_block_*``, ``message_delta``,
``message_stop``). Every call is routed like a crew step and says what happened in the same
``x-hybridcrew-*`` headers as the OpenAI-compatible endpoint.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse, StreamingResponse
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from pydantic import BaseModel, ConfigDict, Field

from hybridcrew.platform.api.deps import ServiceDep, ToolCaller
from hybridcrew.platform.proxy import CONVERSATION_HEADER, RoutedCall
from hybridcrew.routing.chat import ChatOptions, Streamed
from hybridcrew.routing.estimate import estimate_tokens
from hybridcrew.routing.invoke import CallResult

router = APIRouter(prefix="/v1/messages", tags=["anthropic-compatible"])
MAX_MESSAGES = 2_000
Block = dict[str, Any]


class CountRequest(BaseModel):
    """A conversation as Anthropic's API takes it; fields hybridcrew does not use are accepted."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=200)
    messages: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_MESSAGES)
    system: str | list[Block] | None = None
    tools: list[Block] | None = Field(None, max_length=512)
    tool_choice: Block | None = None
    stop_sequences: list[str] | None = Field(None, max_length=16)

    def options(self) -> ChatOptions:
        """Tools in the OpenAI function format every provider binds; the tool choice."""
        tools = tuple({"type": "function", "function": {
            "name": t.get("name", ""), "description": t.get("description", ""),
            "parameters": t.get("input_schema", {"type": "object"})}}
            for t in self.tools or () if "input_schema" in t or "name" in t)
        choice = self.tool_choice or {}
        kind = choice.get("type")
        tool_choice = choice.get("name") if kind == "tool" else kind if kind in {
            "auto", "any"} else None
        return ChatOptions(tools=tools, tool_choice=tool_choice,
                           stop=tuple(self.stop_sequences or ()))

    def langchain_messages(self) -> list[BaseMessage]:
        """The system prompt and turns as langchain messages."""
        out: list[BaseMessage] = []
        if system := _text(self.system):
            out.append(SystemMessage(system))
        for turn in self.messages:
            out.extend(_turn(turn))
        return out


class MessagesRequest(CountRequest):
    """Anthropic's Messages request."""

    max_tokens: int = Field(gt=0, le=1_000_000)
    stream: bool = False


class Usage(BaseModel):
    """Tokens the call took."""

    input_tokens: int
    output_tokens: int


class Message(BaseModel):
    """Anthropic's Message: text and ``tool_use`` blocks, why it stopped, usage."""

    id: str
    type: str = "message"
    role: str = "assistant"
    model: str = Field(description="the configured model that served the call")
    content: list[Block]
    stop_reason: str
    stop_sequence: str | None = None
    usage: Usage


_STREAM = {"text/event-stream": {"schema": {
    "type": "string", "description": "with stream: true, Anthropic's events: message_start, "
    "content_block_start / _delta / _stop per block, message_delta (stop reason, usage), "
    "message_stop"}}}


class TokenCount(BaseModel):
    """``POST /v1/messages/count_tokens``: an estimate (hybridcrew's own token estimate)."""

    input_tokens: int


@router.post("", response_model=None,
             responses={200: {"model": Message, "content": _STREAM}})
async def create_message(
    body: MessagesRequest, caller: ToolCaller, service: ServiceDep,
    conversation: Annotated[str | None, Header(alias=CONVERSATION_HEADER, max_length=200)
                            ] = None,
) -> JSONResponse | StreamingResponse:
    """Route the call, run it on the chosen model, answer as Anthropic's API does."""
    # Calls run on the run loop, with the runs: model clients live there (see runloop).
    proxy, runs = service.proxy, service.runs
    if body.stream:
        routed, streamed = await runs.call(proxy.open_stream(
            caller, body.model, body.langchain_messages(), body.options(),
            max_tokens=body.max_tokens, conversation=conversation))
        chunks = runs.relay(proxy.chunks(routed, streamed))
        return StreamingResponse(_events(routed, streamed, chunks),
                                 media_type="text/event-stream",
                                 headers=routed.headers(streamed.model, streamed.location))
    routed, result = await runs.call(proxy.serve(
        caller, body.model, body.langchain_messages(), body.options(),
        max_tokens=body.max_tokens, conversation=conversation))
    return JSONResponse(_message(routed, result.model, result.message, result),
                        headers=routed.headers(result.model, result.location))


@router.post("/count_tokens", response_model=TokenCount)
async def count_tokens(body: CountRequest, _: ToolCaller) -> TokenCount:
    """How many input tokens the request would be (estimated; no model is called)."""
    text = "\n".join(m.text for m in body.langchain_messages())
    return TokenCount(input_tokens=estimate_tokens(len(text)))


def _text(content: str | list[Block] | None) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(b.get("text", "") for b in content or () if b.get("type") == "text")


def _turn(turn: dict[str, Any]) -> list[BaseMessage]:
    content = turn.get("content")
    blocks: list[Block] = [{"type": "text", "text": content}] if isinstance(content, str) \
        else list(content or [])
    text = _text(blocks)
    if turn.get("role") == "assistant":
        calls = [{"id": b.get("id", ""), "name": b.get("name", ""), "args": b.get("input") or {}}
                 for b in blocks if b.get("type") == "tool_use"]
        return [AIMessage(content=text, tool_calls=calls)]
    out: list[BaseMessage] = [ToolMessage(_result_text(b), tool_call_id=b.get("tool_use_id", ""),
                                          status="error" if b.get("is_error") else "success")
                              for b in blocks if b.get("type") == "tool_result"]
    if text or not out:
        out.append(HumanMessage(text))
    return out


def _result_text(block: Block) -> str:
    content = block.get("content")
    return content if isinstance(content, str) else _text(content)


def _blocks(message: AIMessage) -> list[Block]:
    blocks: list[Block] = [{"type": "text", "text": message.text}] if message.text else []
    blocks += [{"type": "tool_use", "id": c["id"] or "", "name": c["name"], "input": c["args"]}
               for c in message.tool_calls]
    return blocks


def _message(routed: RoutedCall, model: str, message: AIMessage, result: CallResult | None
             ) -> dict[str, Any]:
    return {"id": "msg_" + routed.id, "type": "message", "role": "assistant", "model": model,
            "content": _blocks(message),
            "stop_reason": "tool_use" if message.tool_calls else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": result.input_tokens if result else 0,
                      "output_tokens": result.output_tokens if result else 0}}


def _event(kind: str, **data: Any) -> bytes:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode()


async def _events(routed: RoutedCall, streamed: Streamed, chunks: AsyncIterator[AIMessage]
                  ) -> AsyncIterator[bytes]:
    """The chunks as Anthropic's streaming events."""
    start = _message(routed, streamed.model, AIMessage(content=""), None)
    yield _event("message_start", message={**start, "content": [], "stop_reason": None})
    blocks = _Blocks()
    async for chunk in chunks:
        for frame in blocks.add(chunk):
            yield frame
    for frame in blocks.close():
        yield frame
    result = streamed.result
    assert result is not None  # set once every chunk was read
    yield _event("message_delta", delta={"stop_reason": "tool_use" if blocks.tools else
                                         "end_turn", "stop_sequence": None},
                 usage={"input_tokens": result.input_tokens,
                        "output_tokens": result.output_tokens})
    yield _event("message_stop")


class _Blocks:
    """Turns chunks into content blocks: text, then each tool call, opened and closed in order."""

    def __init__(self) -> None:
        self.index = -1
        self.open: str | None = None  # "text", or the provider's index of the open tool call
        self.tools = 0

    def add(self, chunk: AIMessage) -> list[bytes]:
        frames: list[bytes] = []
        if chunk.text:
            if self.open != "text":
                frames += self._start({"type": "text", "text": ""}, "text")
            frames.append(_event("content_block_delta", index=self.index,
                                 delta={"type": "text_delta", "text": chunk.text}))
        if isinstance(chunk, AIMessageChunk):
            pieces = [(str(c.get("index") or 0), c.get("id"), c.get("name"), c.get("args") or "")
                      for c in chunk.tool_call_chunks]
        else:  # a model that does not stream answers with its whole message at once
            pieces = [(str(i), c["id"], c["name"], json.dumps(c["args"]))
                      for i, c in enumerate(chunk.tool_calls)]
        for key, call_id, name, args in pieces:
            if self.open != "tool:" + key:
                self.tools += 1
                frames += self._start({"type": "tool_use", "id": call_id or "",
                                       "name": name or "", "input": {}}, "tool:" + key)
            if args:
                frames.append(_event("content_block_delta", index=self.index, delta={
                    "type": "input_json_delta", "partial_json": args}))
        return frames

    def close(self) -> list[bytes]:
        if self.open is None:
            return []
        self.open = None
        return [_event("content_block_stop", index=self.index)]

    def _start(self, block: Block, kind: str) -> list[bytes]:
        frames = self.close()
        self.index += 1
        self.open = kind
        return [*frames, _event("content_block_start", index=self.index, content_block=block)]
