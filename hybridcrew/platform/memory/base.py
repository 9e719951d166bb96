"""Long-term semantic memory: what earlier runs planned, built and were told, for later prompts.

Items carry tenant, run, agent, kind and sensitivity; a search only ever sees the caller's
tenant, and can be capped at a sensitivity (what a model is cleared for).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal

from hybridcrew.sensitivity import Sensitivity

Kind = Literal["plan", "artifact", "finding", "note", "document"]
KINDS: tuple[Kind, ...] = ("plan", "artifact", "finding", "note", "document")


@dataclass(frozen=True)
class MemoryItem:
    """One remembered text and where it came from."""

    text: str
    tenant: str
    kind: Kind
    sensitivity: Sensitivity = Sensitivity.INTERNAL
    run_id: str | None = None
    agent: str | None = None
    title: str = ""
    created_at: float = 0.0
    id: str = ""


@dataclass(frozen=True)
class Hit:
    """A search result: the item and its similarity to the query (cosine, higher is closer)."""

    item: MemoryItem
    score: float


@dataclass(frozen=True)
class SearchFilter:
    """What a search may return: always one tenant; optionally capped and narrowed."""

    tenant: str
    max_sensitivity: Sensitivity | None = None
    kinds: tuple[Kind, ...] = ()
    exclude_run: str | None = None


class VectorMemory(ABC):
    """Every backend keeps these promises; the conformance suite checks them."""

    @abstractmethod
    def add(self, items: list[MemoryItem]) -> list[str]:
        """Embed and store items; returns their ids."""

    @abstractmethod
    def search(self, query: str, where: SearchFilter, limit: int = 5) -> list[Hit]:
        """The items most similar to ``query`` that ``where`` admits, best first."""

    @abstractmethod
    def get(self, ids: list[str], tenant: str) -> list[MemoryItem]:
        """Items by id (only the tenant's), in the order asked."""

    @abstractmethod
    def ping(self) -> None:
        """Raise if the backend cannot be reached (readiness)."""

    @abstractmethod
    def close(self) -> None:
        """Release the backend."""
