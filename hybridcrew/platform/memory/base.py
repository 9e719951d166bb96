"""Long-term semantic memory: what earlier runs planned, built and were told, for later prompts.

Items carry tenant, run, agent, kind and sensitivity; a search only ever sees the caller's
tenant, and can be capped at a sensitivity (what a model is cleared for).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from hybridcrew.graphs.ports import Hit, MemoryItem, SearchFilter


class VectorMemory(ABC):
    """A memory backend: what a run needs (:class:`~hybridcrew.graphs.ports.Memory`) and more.

    Every backend keeps these promises; the conformance suite checks them.
    """

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
