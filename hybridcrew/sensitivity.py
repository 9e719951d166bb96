"""Sensitivity levels, ordered: public < internal < confidential < secret."""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer


class Sensitivity(IntEnum):
    """How sensitive a piece of data is; a model's clearance is the highest level it may receive."""

    PUBLIC = 0
    INTERNAL = 1
    CONFIDENTIAL = 2
    SECRET = 3

    @property
    def label(self) -> str:
        """The lower-case name used in YAML, JSON and metrics."""
        return self.name.lower()

    @classmethod
    def parse(cls, value: object) -> Sensitivity:
        """Accept a level or its name (any case); raise ``ValueError`` naming the valid ones."""
        if isinstance(value, Sensitivity):
            return value
        if isinstance(value, str) and value.upper() in cls.__members__:
            return cls[value.upper()]
        valid = ", ".join(m.label for m in cls)
        raise ValueError(f"must be one of {valid}")


SensitivityField = Annotated[
    Sensitivity,
    BeforeValidator(Sensitivity.parse),
    PlainSerializer(lambda s: s.label, return_type=str),
]
"""A pydantic field type that reads and writes sensitivity levels by name."""
