"""Liveness, readiness and Prometheus metrics (unauthenticated, like every scrape target)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hybridcrew.platform.api.deps import ServiceDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "a dependency is not ready"}})
def readyz(service: ServiceDep) -> JSONResponse:
    """The store and vector memory answer, and at least one model backend is up."""
    checks: dict[str, Any] = {}
    try:
        service.store.ping()
        checks["store"] = {"ok": True}
    except Exception as exc:  # noqa: BLE001 - any failure means not ready, and says which
        checks["store"] = {"ok": False, "detail": type(exc).__name__}
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
