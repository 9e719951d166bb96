"""``GET /v1/runs/{id}/events``: every event of a run as Server-Sent Events.

Each event's ``id`` is its sequence number in the run. A client that reconnects with
``Last-Event-ID`` (or ``?after=``) gets exactly the events after it: none lost, none repeated.
The stream ends after the run's final event; a waiting run keeps it open. All streams of a run
share one feed (one store poll per new event, whatever the number of readers), and each API key
may hold ``HYBRIDCREW_MAX_STREAMS_PER_KEY`` streams open at once (429 beyond).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import suppress
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import StreamingResponse

from hybridcrew.graphs.lifecycle import Event, EventKind
from hybridcrew.platform.api.deps import RunDep, ServiceDep, Viewer
from hybridcrew.platform.api.errors import TooManyStreams
from hybridcrew.platform.api.schemas import MAX_EVENT_ID, ErrorBody

KEEPALIVE_S = 15.0
"""A comment line after this long without an event keeps proxies from closing the stream."""
_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

router = APIRouter(prefix="/v1/runs", tags=["runs"], responses={
    401: {"model": ErrorBody}, 404: {"model": ErrorBody}, 429: {"model": ErrorBody}})


async def stream_slot(caller: Viewer, service: ServiceDep) -> AsyncIterator[None]:
    """One of the caller's key's open streams, given back when the stream ends."""
    key = caller.key_id or f"no-key:{caller.tenant}"
    if not service.stream_slots.take(key):
        raise TooManyStreams(service.stream_slots.limit)
    try:
        yield
    finally:
        service.stream_slots.give_back(key)


_EVENT_STREAM = {"content": {"text/event-stream": {"schema": {
    "type": "string",
    "description": "Server-Sent Events. `id`: the event's sequence number in the run; "
                   "`event`: its kind, one of " + ", ".join(EventKind) + "; `data`: JSON with "
                   "`seq`, `ts`, `node` and the kind's payload (see the graphs.lifecycle module).",
}}}}


@router.get("/{run_id}/events", response_class=StreamingResponse,
            dependencies=[Depends(stream_slot)], responses={200: _EVENT_STREAM})
async def stream_events(
    run: RunDep, service: ServiceDep,
    last_event_id: Annotated[int | None, Header(ge=0, le=MAX_EVENT_ID,
                                                description="resume after this event")] = None,
    after: Annotated[int, Query(ge=0, le=MAX_EVENT_ID, description="start after this event")
                     ] = 0,
) -> StreamingResponse:
    """Stream the run's events in order, from the start or after ``Last-Event-ID``."""
    batches = service.feeds.follow_batches(run.id, max(after, last_event_id or 0))
    return StreamingResponse(_framed(batches), media_type="text/event-stream", headers=_HEADERS)


def frame(event: Event) -> bytes:
    """One event in the SSE wire format.

    Framed by hand: the payload is JSON with no newline, and a model object per event (with
    its validation) would cost more than the whole frame.
    """
    data = json.dumps({"seq": event.seq, "ts": event.ts, "node": event.node, **event.data})
    return f"id: {event.seq}\nevent: {event.kind}\ndata: {data}\n\n".encode()


async def _framed(batches: AsyncGenerator[list[Event], None]) -> AsyncIterator[bytes]:
    """The events as SSE frames, a batch per write, with a keep-alive comment when quiet."""
    following: asyncio.Task[list[Event]] | None = None
    try:
        while True:
            following = following or asyncio.ensure_future(anext(batches))
            done, _ = await asyncio.wait({following}, timeout=KEEPALIVE_S)
            if not done:
                yield b": ping\n\n"
                continue
            try:
                batch = following.result()
            except StopAsyncIteration:
                return
            following = None
            yield b"".join(frame(event) for event in batch)
    finally:
        if following is not None:  # the client went away: stop waiting for the next event
            following.cancel()
            with suppress(asyncio.CancelledError, StopAsyncIteration):
                await following
        await batches.aclose()  # the feed forgets this reader
