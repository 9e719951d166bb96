"""``GET /v1/runs/{id}/events``: every event of a run as Server-Sent Events.

Each event's ``id`` is its sequence number in the run. A client that reconnects with
``Last-Event-ID`` (or ``?after=``) gets exactly the events after it: none lost, none repeated.
The stream ends after the run's final event; a waiting run keeps it open.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Header, Query
from fastapi.sse import EventSourceResponse, ServerSentEvent

from hybridcrew.platform.api.deps import RunDep, ServiceDep
from hybridcrew.platform.api.schemas import MAX_EVENT_ID, ErrorBody
from hybridcrew.platform.service import TERMINAL_EVENTS
from hybridcrew.platform.store import FINAL_STATUSES

router = APIRouter(prefix="/v1/runs", tags=["runs"], responses={
    401: {"model": ErrorBody}, 404: {"model": ErrorBody}})
BATCH = 500


@router.get("/{run_id}/events", response_class=EventSourceResponse)
async def stream_events(
    run: RunDep, service: ServiceDep,
    last_event_id: Annotated[int | None, Header(ge=0, le=MAX_EVENT_ID,
                                                description="resume after this event")] = None,
    after: Annotated[int, Query(ge=0, le=MAX_EVENT_ID, description="start after this event")
                     ] = 0,
) -> AsyncIterator[ServerSentEvent]:
    """Stream the run's events in order, from the start or after ``Last-Event-ID``."""
    cursor = max(after, last_event_id or 0)
    store = service.store
    with service.notifier.subscribe(run.id) as subscription:
        look_at_status = True  # at the start, and whenever no event came for a while
        while True:
            events = await to_thread.run_sync(store.events, run.id, cursor, BATCH)
            for event in events:
                cursor = event.seq
                yield ServerSentEvent(
                    id=str(event.seq), event=event.kind,
                    data={"seq": event.seq, "ts": event.ts, "node": event.node, **event.data})
                if event.kind in TERMINAL_EVENTS:
                    return
            if events:
                continue
            # A run's final event is appended before its final status is set: a final status
            # with nothing left to read means the client has seen the end already.
            if look_at_status and (await to_thread.run_sync(store.get_run, run.id)
                                   ).status in FINAL_STATUSES:
                if not await to_thread.run_sync(store.events, run.id, cursor, 1):
                    return
                continue
            # Events written in this process wake us; the timeout finds those of other hosts.
            look_at_status = not await subscription.wait(service.settings.event_poll_s)
