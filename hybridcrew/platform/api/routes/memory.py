"""``/v1/memory``: store notes and documents for later runs, and search the tenant's memory."""

from __future__ import annotations

from fastapi import APIRouter

from hybridcrew.graphs.ports import MemoryItem, SearchFilter
from hybridcrew.platform.api.deps import Operator, ServiceDep, Viewer
from hybridcrew.platform.api.errors import ServiceUnavailable
from hybridcrew.platform.api.schemas import (
    ErrorBody,
    MemoryCreate,
    MemoryCreated,
    MemoryHit,
    MemorySearch,
)
from hybridcrew.platform.memory import VectorMemory
from hybridcrew.platform.service import RunService
from hybridcrew.sensitivity import Sensitivity

router = APIRouter(prefix="/v1/memory", tags=["memory"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 503: {"model": ErrorBody}})


def _memory(service: RunService) -> VectorMemory:
    memory = service.crew.memory
    if memory is None:
        raise ServiceUnavailable("memory is off or unavailable (HYBRIDCREW_MEMORY, "
                          "HYBRIDCREW_QDRANT_URL; the gateway's log says why)")
    return memory


@router.post("", status_code=201, response_model=MemoryCreated)
def add_memory(body: MemoryCreate, caller: Operator, service: ServiceDep) -> MemoryCreated:
    """Remember a note or document; runs of this tenant may recall it (within clearance)."""
    (item_id,) = _memory(service).add([MemoryItem(
        body.text, caller.tenant, body.kind, Sensitivity.parse(body.sensitivity),
        title=body.title)])
    return MemoryCreated(id=item_id)


@router.post("/search", response_model=list[MemoryHit])
def search_memory(body: MemorySearch, caller: Viewer, service: ServiceDep) -> list[MemoryHit]:
    """The tenant's items most similar to the query, best first."""
    hits = _memory(service).search(body.query, SearchFilter(
        caller.tenant, kinds=tuple(body.kinds),
        max_sensitivity=Sensitivity.parse(body.max_sensitivity) if body.max_sensitivity
        else None), limit=body.limit)
    return [MemoryHit(id=h.item.id, title=h.item.title, text=h.item.text, kind=h.item.kind,
                      sensitivity=h.item.sensitivity.label, run_id=h.item.run_id,
                      agent=h.item.agent, score=h.score) for h in hits]
