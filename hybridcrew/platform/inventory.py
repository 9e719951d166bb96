"""What the catalog holds and what is live: shared by `hybridcrew models` and `GET /v1/models`."""

from __future__ import annotations

# pydantic reads these as the API's response model: it needs typing_extensions' TypedDict.
from typing_extensions import TypedDict

from hybridcrew.routing.config import LoadedConfig
from hybridcrew.routing.signals import Signals


class PricePerMtok(TypedDict):
    """USD per million tokens."""

    input: float
    output: float


class ModelRow(TypedDict):
    """One configured model and whether its backend answers now."""

    name: str
    provider: str
    model: str
    location: str
    up: bool | None
    """None until the first probe."""
    detail: str
    price_per_mtok: PricePerMtok
    context_window: int
    vram_gb: float
    clearance: str


class GpuView(TypedDict):
    """GPU memory as last read (``source`` says from where; None when unknown)."""

    free_gb: float | None
    total_gb: float | None
    loaded: list[str]
    source: str


class Inventory(TypedDict):
    """Every configured model with its live availability, plus GPU headroom."""

    models: list[ModelRow]
    gpu: GpuView


def models_inventory(config: LoadedConfig, signals: Signals) -> Inventory:
    """Every configured model with its live availability, plus GPU headroom."""
    rows = [ModelRow(
        name=name, provider=e.provider, model=e.spec.model, location=e.location,
        up=signals.health_of(name).up, detail=signals.health_of(name).detail,
        price_per_mtok=PricePerMtok(input=e.spec.price.input, output=e.spec.price.output),
        context_window=e.spec.context_window, vram_gb=e.spec.vram_gb,
        clearance=e.spec.clearance.label,
    ) for name, e in config.catalog.items()]
    gpu = GpuView(free_gb=signals.gpu.free_gb, total_gb=signals.gpu.total_gb,
                  loaded=sorted(signals.gpu.loaded), source=signals.gpu.source)
    return Inventory(models=rows, gpu=gpu)
