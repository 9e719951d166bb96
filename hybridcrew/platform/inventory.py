"""What the catalog holds and what is live: shared by `hybridcrew models` and `GET /v1/models`."""

from __future__ import annotations

from typing import Any

from hybridcrew.routing.config import LoadedConfig
from hybridcrew.routing.signals import Signals


def models_inventory(config: LoadedConfig, signals: Signals) -> dict[str, Any]:
    """Every configured model with its live availability, plus GPU headroom."""
    rows = [{
        "name": name, "provider": e.provider, "model": e.spec.model, "location": e.location,
        "up": signals.health_of(name).up, "detail": signals.health_of(name).detail,
        "price_per_mtok": e.spec.price.model_dump(), "context_window": e.spec.context_window,
        "vram_gb": e.spec.vram_gb, "clearance": e.spec.clearance.label,
    } for name, e in config.catalog.items()]
    gpu = {"free_gb": signals.gpu.free_gb, "total_gb": signals.gpu.total_gb,
           "loaded": sorted(signals.gpu.loaded), "source": signals.gpu.source}
    return {"models": rows, "gpu": gpu}
