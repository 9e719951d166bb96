"""The decision record: what the router chose for one step, and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NotRequired

from typing_extensions import TypedDict

from hybridcrew.routing.privacy.findings import Finding, FindingRecord
from hybridcrew.sensitivity import Sensitivity

# Reason codes are stable and low-cardinality: metrics label by them.
PINNED = "pinned"
PINNED_FALLBACK = "pinned_unavailable_using_fallback"
MEETS_TARGET = "cheapest_meeting_quality_target"
FALLBACK_ONLY = "candidates_unavailable_using_fallback"
BLOCKED = "blocked"

REASON_LABELS = {
    PINNED: "pinned",
    PINNED_FALLBACK: "pinned model unavailable",
    MEETS_TARGET: "cheapest meeting target",
    FALLBACK_ONLY: "fallback",
    BLOCKED: "blocked",
}
"""Short words for people; the codes stay the same for metrics and JSON."""

# Why a candidate was rejected.
PRIVACY = "privacy"
PROVIDER_DOWN = "provider_down"
BREAKER_OPEN = "breaker_open"
CONTEXT_WINDOW = "context_window"
BUDGET = "budget"
GPU_FULL = "gpu_full"
GPU_UNKNOWN = "gpu_unknown"
QUEUE_FULL = "queue_full"
LOCAL_ONLY = "local_only"


class RejectionRecord(TypedDict):
    """A rejected candidate as JSON."""

    model: str
    why: str
    detail: str


class MemoryOffer(TypedDict):
    """Which memory items a step was offered and which the policy left out, by id."""

    policy: Literal["omit", "keep_local"]
    included: list[str]
    left_out: list[str]


class DecisionRecord(TypedDict):
    """A decision as JSON: the CLI's ``--json``, ``/v1/route/explain``, events and logs."""

    agent: str
    step: str
    model: str | None
    provider: str | None
    location: str | None
    blocked: bool
    sensitivity: str
    findings: list[FindingRecord]
    reasons: list[str]
    rejected: list[RejectionRecord]
    estimated_cost_usd: float
    estimated_success: float | None
    quality_target: float
    input_tokens: int
    output_tokens: int
    fallbacks: list[str]
    cloud_reference: str | None
    estimates: NotRequired[dict[str, float]]
    """P(success) of every candidate that survived the hard constraints."""
    memory: NotRequired[MemoryOffer]


@dataclass(frozen=True, slots=True)
class Rejection:
    """A candidate that did not survive the hard constraints."""

    model: str
    why: str
    detail: str

    def to_dict(self) -> RejectionRecord:
        """JSON form."""
        return RejectionRecord(model=self.model, why=self.why, detail=self.detail)


@dataclass(frozen=True, slots=True)
class Decision:
    """The router's choice for one step. Stored in graph state so a resumed run replays it."""

    agent: str
    step: str
    model: str | None
    provider: str | None
    location: str | None
    sensitivity: Sensitivity
    findings: tuple[Finding, ...]
    reasons: tuple[str, ...]
    rejected: tuple[Rejection, ...]
    estimated_cost_usd: float
    estimated_success: float | None
    quality_target: float
    input_tokens: int
    output_tokens: int
    fallbacks: tuple[str, ...] = ()
    cloud_reference: str | None = None
    memory: MemoryOffer | None = None
    """Memory items offered to the step: which were included, which left out, and the policy."""
    estimates: tuple[tuple[str, float], ...] = ()
    """(model, P(success)) of every candidate that survived the hard constraints."""

    @property
    def blocked(self) -> bool:
        """True when no model may run this step."""
        return self.model is None

    def to_dict(self) -> DecisionRecord:
        """The decision JSON (CLI ``--json``, API, logs). Findings carry spans, never values."""
        record: DecisionRecord = {
            "agent": self.agent,
            "step": self.step,
            "model": self.model,
            "provider": self.provider,
            "location": self.location,
            "blocked": self.blocked,
            "sensitivity": self.sensitivity.label,
            "findings": [f.to_dict() for f in self.findings],
            "reasons": list(self.reasons),
            "rejected": [r.to_dict() for r in self.rejected],
            "estimated_cost_usd": self.estimated_cost_usd,
            "estimated_success": self.estimated_success,
            "quality_target": self.quality_target,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "fallbacks": list(self.fallbacks),
            "cloud_reference": self.cloud_reference,
            "estimates": dict(self.estimates),
        }
        if self.memory is not None:
            record["memory"] = self.memory
        return record

    @classmethod
    def from_dict(cls, data: DecisionRecord) -> Decision:
        """Rebuild a stored decision (resume replays the same choice)."""
        return cls(
            agent=data["agent"], step=data["step"], model=data["model"],
            provider=data["provider"], location=data["location"],
            sensitivity=Sensitivity.parse(data["sensitivity"]),
            findings=tuple(Finding(f["detector"], f["start"], f["end"],
                                   Sensitivity.parse(f["sensitivity"]), f.get("part", "prompt"))
                           for f in data["findings"]),
            reasons=tuple(data["reasons"]),
            rejected=tuple(Rejection(r["model"], r["why"], r.get("detail", ""))
                           for r in data["rejected"]),
            estimated_cost_usd=data["estimated_cost_usd"],
            estimated_success=data["estimated_success"],
            quality_target=data["quality_target"],
            input_tokens=data["input_tokens"], output_tokens=data["output_tokens"],
            fallbacks=tuple(data.get("fallbacks", ())),
            cloud_reference=data.get("cloud_reference"),
            memory=data.get("memory"),
            estimates=tuple(data.get("estimates", {}).items()),
        )
