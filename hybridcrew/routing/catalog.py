"""The model catalog: what each configured model is, costs, fits and may see."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hybridcrew.documents import StrictModel
from hybridcrew.sensitivity import Sensitivity, SensitivityField

Location = Literal["local", "cloud"]

DEFAULT_QUALITY_KEY = "default"

UnitFloat = Annotated[float, Field(ge=0, le=1)]
"""A probability or weight between 0 and 1."""


class Price(StrictModel):
    """USD per million tokens."""

    input: float = Field(0.0, ge=0, description="USD per million input tokens")
    output: float = Field(0.0, ge=0, description="USD per million output tokens")


class ModelSpec(StrictModel):
    """One entry of ``models:`` in hybridcrew.yaml."""

    provider: str = Field(description="who serves it (one of the providers listed below)")
    model: str = Field(description="the provider's own model id, e.g. claude-sonnet-4-5")
    endpoint: str | None = Field(None, description="base URL; defaults come from settings")
    location: Location | None = Field(None, description="defaults to the provider's location")
    price: Price = Price()
    context_window: int = Field(8192, gt=0, description="tokens in and out per call")
    vram_gb: float = Field(0.0, ge=0, description="GPU memory needed to load it; 0 = CPU")
    clearance: SensitivityField = Field(
        Sensitivity.SECRET, description="the most sensitive data it may receive")
    quality: dict[str, UnitFloat] = Field(
        default_factory=lambda: {DEFAULT_QUALITY_KEY: 0.5},
        description="prior probability of a good result, per agent role, plus 'default'",
    )
    max_output_tokens: int | None = Field(
        None, gt=0, description="cap on output tokens per call (keeps small local models quick)"
    )
    slots: int = Field(1, gt=0, description="concurrent calls one endpoint serves")
    timeout_s: float | None = Field(
        None, gt=0, description="per call; default HYBRIDCREW_REQUEST_TIMEOUT_S")
    options: dict[str, Any] = Field(default_factory=dict, description="provider-specific")

    def prior_for(self, role: str) -> float:
        """The quality prior for an agent role, falling back to ``default``."""
        return self.quality.get(role, self.quality.get(DEFAULT_QUALITY_KEY, 0.5))

    def output_limit(self, wanted: int) -> int:
        """Output tokens for one call: what the step wants, within this model's cap."""
        return min(wanted, self.max_output_tokens or wanted)

    def cost_usd(self, input_tokens: int, output_tokens: int) -> float:
        """Catalog price times tokens, in USD."""
        return (input_tokens * self.price.input + output_tokens * self.price.output) / 1e6


class CatalogEntry(BaseModel):
    """A model spec resolved against its provider: name and location known."""

    model_config = ConfigDict(frozen=True)

    name: str
    spec: ModelSpec
    location: Location

    @property
    def provider(self) -> str:
        """The provider module that serves this model."""
        return self.spec.provider

    @property
    def is_local(self) -> bool:
        """True when calls stay on this machine or network."""
        return self.location == "local"
