"""What a privacy scan reports: detector names and spans, never the matched text."""

from __future__ import annotations

from dataclasses import dataclass

from hybridcrew.sensitivity import Sensitivity


@dataclass(frozen=True, slots=True)
class Finding:
    """One detection: which detector, where (character span), and how sensitive it is."""

    detector: str
    start: int
    end: int
    sensitivity: Sensitivity
    part: str = "prompt"

    def to_dict(self) -> dict[str, object]:
        """JSON form used in decision records (no value, by design)."""
        return {"detector": self.detector, "start": self.start, "end": self.end,
                "part": self.part, "sensitivity": self.sensitivity.label}
