"""``GET /v1/decisions/{id}``: the routing decision of a call made through a compatible endpoint.

Its id is the ``x-hybridcrew-decision-id`` header of the call's response (or of its refusal).
A decision is its tenant's: another tenant's id answers 404, as an unknown one does.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from hybridcrew.platform.api.deps import ServiceDep, Viewer
from hybridcrew.platform.api.errors import NotFound
from hybridcrew.platform.api.schemas import ErrorBody
from hybridcrew.platform.proxy import PROXY_RUNS
from hybridcrew.routing.decision import DecisionRecord

router = APIRouter(prefix="/v1/decisions", tags=["decisions"], responses={
    401: {"model": ErrorBody}, 404: {"model": ErrorBody}})


@router.get("/{decision_id}", response_model=DecisionRecord)
async def get_decision(decision_id: Annotated[str, Path(max_length=100)], caller: Viewer,
                       service: ServiceDep) -> DecisionRecord:
    """Which model served the call, which were rejected and why, what it was estimated to cost."""
    store = service.store
    record = await store.aread(store.decision, PROXY_RUNS + caller.tenant, decision_id)
    if record is None:
        raise NotFound("no decision with that id for this tenant; ids come from the "
                       "x-hybridcrew-decision-id header of a call's response")
    return record
