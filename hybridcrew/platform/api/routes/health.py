"""Liveness, readiness and Prometheus metrics (unauthenticated, like every scrape target)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hybridcrew.platform.api.deps import ServiceDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process answers (on the serving loop: a probe needs no worker thread)."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "a dependency is not ready"}})
def readyz(service: ServiceDep) -> JSONResponse:
    """The store can write, vector memory answers, and at least one model backend is up.

    A store fault met by any request in the last few seconds (a corrupt page in the checkpoint
    database, a lock held too long) also means not ready, with its reason.
    """
    checks: dict[str, Any] = {}
    faults = service.crew.faults
    fault: str | None
    try:
        service.store.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means not ready, and says which
        fault = faults.record(exc) or type(exc).__name__
    else:
        fault = faults.recent()
    checks["store"] = {"ok": True} if fault is None else {"ok": False, "detail": fault}
    if service.settings.memory:
        try:
            memory = service.crew.memory
            if memory is None:
                raise RuntimeError("unavailable")
            memory.ping()
            checks["memory"] = {"ok": True}
        except Exception as exc:  # noqa: BLE001 - any failure means not ready, and says which
            checks["memory"] = {"ok": False, "detail": type(exc).__name__}
    health = service.crew.runtime.signals.current.health
    up = sorted(name for name, h in health.items() if h.up)
    checks["models"] = {"ok": bool(up), "up": up}
    ready = all(c["ok"] for c in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response)
def metrics(service: ServiceDep) -> Response:
    """Prometheus text exposition of this gateway's series."""
    return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)
