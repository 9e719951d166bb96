"""The routing policy: the ``routing:`` section of hybridcrew.yaml."""

from __future__ import annotations

from typing import Literal

import re2
from pydantic import Field, field_validator

from hybridcrew.documents import StrictModel
from hybridcrew.routing.catalog import UnitFloat
from hybridcrew.sensitivity import Sensitivity, SensitivityField


class BudgetPolicy(StrictModel):
    """Spend caps in USD; ``null`` means no cap."""

    run_usd: float | None = Field(5.0, ge=0, description="spend cap per run")
    daily_usd: float | None = Field(50.0, ge=0, description="spend cap per tenant per UTC day")
    on_exceed: Literal["local", "ask"] = Field(
        "local", description="when a better model would exceed a budget: stay local, or ask")


class PrivacyPattern(StrictModel):
    """A user-defined detector: an RE2 regular expression and the sensitivity of what it finds."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$", description="the detector's name")
    regex: str = Field(description="RE2 syntax")
    sensitivity: SensitivityField = Field(Sensitivity.CONFIDENTIAL,
                                          description="of what it finds")

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
    labels: dict[str, SensitivityField] = Field(
        default_factory=dict, description="the sensitivity each label on a run or agent means")
    detect_pii: bool = Field(True, description="detect personal data: e-mail addresses, card "
                             "numbers, IBANs, SSNs, phone numbers")
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

    failure_threshold: int = Field(3, gt=0, description="failures in a row that open it")
    cooldown_s: float = Field(30.0, gt=0, description="open this long, then one trial call")


class RoutingPolicy(StrictModel):
    """How the router trades quality, cost, privacy and capacity."""

    quality_target: UnitFloat = Field(
        0.85, description="the share of the best surviving candidate's expected success a "
                          "model must reach to be chosen on price")
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
