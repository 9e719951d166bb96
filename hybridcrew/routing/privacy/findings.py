"""What a privacy scan reports: detector names and spans, never the matched text."""

from __future__ import annotations

from dataclasses import dataclass

from typing_extensions import TypedDict

from hybridcrew.sensitivity import Sensitivity


class FindingRecord(TypedDict):
    """A finding as JSON: detector, character span, part, sensitivity (never the text)."""

    detector: str
    start: int
    end: int
    part: str
    sensitivity: str


@dataclass(frozen=True, slots=True)
class Finding:
    """One detection: which detector, where (character span), and how sensitive it is."""

    detector: str
    start: int
    end: int
    sensitivity: Sensitivity
    part: str = "prompt"

    def to_dict(self) -> FindingRecord:
        """JSON form used in decision records (no value, by design)."""
        return FindingRecord(detector=self.detector, start=self.start, end=self.end,
                             part=self.part, sensitivity=self.sensitivity.label)
