"""The routing policy: the ``routing:`` section of hybridcrew.yaml."""

from __future__ import annotations

from typing import Literal

import re2
from pydantic import Field, field_validator

from hybridcrew.routing.catalog import StrictModel, UnitFloat
from hybridcrew.routing.sensitivity import Sensitivity, SensitivityField


class BudgetPolicy(StrictModel):
    """Spend caps in USD; ``null`` means no cap."""

    run_usd: float | None = Field(5.0, ge=0)
    daily_usd: float | None = Field(50.0, ge=0)
    on_exceed: Literal["local", "ask"] = Field(
        "local", description="when a better model would exceed a budget: stay local, or ask")


class PrivacyPattern(StrictModel):
    """A user-defined detector: an RE2 regular expression and the sensitivity of what it finds."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    regex: str
    sensitivity: SensitivityField = Sensitivity.CONFIDENTIAL

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re2.compile(value)
        except re2.error as exc:
            raise ValueError(
                f"not a valid RE2 regular expression ({exc}); RE2 has no look-around or "
                "back-references"
            ) from None
        return value


class PrivacyPolicy(StrictModel):
    """Extra detectors and the meaning of labels attached to runs, agents and memory items."""

    patterns: list[PrivacyPattern] = Field(default_factory=list)
    labels: dict[str, SensitivityField] = Field(default_factory=dict)
    detect_pii: bool = True
    memory: Literal["omit", "keep_local"] = Field(
        "omit", description="memory items above the chosen model's clearance: leave them out, "
        "or keep the step on a model cleared for them")


class GpuPolicy(StrictModel):
    """Headroom rules for local models that need GPU memory."""

    min_free_gb: float = Field(1.0, ge=0, description="VRAM to keep free after loading a model")
    on_unknown: Literal["allow", "deny"] = Field(
        "allow", description="when no GPU signal exists (no NVML, Ollama silent)"
    )
    max_queue: int = Field(4, ge=0, description="queued local calls beyond which a model is full")


class BreakerPolicy(StrictModel):
    """Circuit breaker per endpoint."""

    failure_threshold: int = Field(3, gt=0)
    cooldown_s: float = Field(30.0, gt=0)


class RoutingPolicy(StrictModel):
    """How the router trades quality, cost, privacy and capacity."""

    quality_target: UnitFloat = 0.75
    budgets: BudgetPolicy = BudgetPolicy()
    privacy: PrivacyPolicy = PrivacyPolicy()
    gpu: GpuPolicy = GpuPolicy()
    breaker: BreakerPolicy = BreakerPolicy()
    criticality: dict[str, UnitFloat] = Field(
        default_factory=lambda: {"plan": 0.9, "review": 0.6, "implement": 0.4, "default": 0.4},
        description="how much a step kind shapes what follows (0..1)",
    )

    def criticality_of(self, step: str) -> float:
        """Criticality of a step kind, falling back to ``default``."""
        return self.criticality.get(step, self.criticality.get("default", 0.4))
