"""Memory in Qdrant: local mode under the data dir by default, a Qdrant server by URL.

Payload fields are indexed where a server supports it (tenant, kind, sensitivity, run); every
search filters by tenant first, so one tenant's items never reach another's prompts.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from qdrant_client import QdrantClient, models

from hybridcrew.graphs.ports import Hit, MemoryItem, SearchFilter
from hybridcrew.platform.memory.base import VectorMemory
from hybridcrew.platform.memory.embedders import Embedder
from hybridcrew.sensitivity import Sensitivity

COLLECTION = "hybridcrew_memory"


class QdrantMemory(VectorMemory):
    """``path`` for local mode (one process at a time), or ``url`` for a server."""

    def __init__(self, embedder: Embedder, *, path: Path | None = None, url: str | None = None,
                 api_key: str | None = None, timeout_s: float = 10.0) -> None:
        self.embedder = embedder
        if url:
            self.client = QdrantClient(url=url, api_key=api_key, timeout=int(timeout_s))
        else:
            assert path is not None  # one of the two, by construction in open_memory
            path.mkdir(parents=True, exist_ok=True)
            self.client = QdrantClient(path=str(path))
        self.collection = f"{COLLECTION}_{embedder.dim}"
        if not self.client.collection_exists(self.collection):
            self.client.create_collection(self.collection, vectors_config=models.VectorParams(
                size=embedder.dim, distance=models.Distance.COSINE))
            if url:  # payload indexes make filtered search fast on a server
                for key, schema in (("tenant", models.PayloadSchemaType.KEYWORD),
                                    ("kind", models.PayloadSchemaType.KEYWORD),
                                    ("run_id", models.PayloadSchemaType.KEYWORD),
                                    ("sensitivity", models.PayloadSchemaType.INTEGER)):
                    self.client.create_payload_index(self.collection, key, schema)

    def add(self, items: list[MemoryItem]) -> list[str]:
        """Embed and upsert."""
        if not items:
            return []
        vectors = self.embedder.passages([_embedded_text(i) for i in items])
        ids = [i.id or str(uuid.uuid4()) for i in items]
        now = time.time()
        self.client.upsert(self.collection, points=[
            models.PointStruct(id=point_id, vector=vector.tolist(),
                               payload=_payload(item, now))
            for point_id, item, vector in zip(ids, items, vectors, strict=True)])
        return ids

    def search(self, query: str, where: SearchFilter, limit: int = 5) -> list[Hit]:
        """Nearest items the filter admits."""
        points = self.client.query_points(
            self.collection, query=self.embedder.query(query).tolist(),
            query_filter=_filter(where), limit=limit, with_payload=True).points
        return [Hit(_item(str(p.id), p.payload or {}), float(p.score)) for p in points]

    def get(self, ids: list[str], tenant: str) -> list[MemoryItem]:
        """Items by id, only the tenant's."""
        found = {str(p.id): _item(str(p.id), p.payload or {})
                 for p in self.client.retrieve(self.collection, ids=ids, with_payload=True)}
        return [found[i] for i in ids if i in found and found[i].tenant == tenant]

    def ping(self) -> None:
        """One request."""
        self.client.collection_exists(self.collection)

    def close(self) -> None:
        """Close the client (local mode releases its lock on the folder)."""
        self.client.close()


def _embedded_text(item: MemoryItem) -> str:
    return f"{item.title}\n{item.text}" if item.title else item.text


def _payload(item: MemoryItem, now: float) -> dict[str, Any]:
    return {"text": item.text, "tenant": item.tenant, "kind": item.kind,
            "sensitivity": int(item.sensitivity), "run_id": item.run_id, "agent": item.agent,
            "title": item.title, "created_at": item.created_at or now}


def _item(point_id: str, p: dict[str, Any]) -> MemoryItem:
    return MemoryItem(text=p["text"], tenant=p["tenant"], kind=p["kind"],
                      sensitivity=Sensitivity(p["sensitivity"]), run_id=p.get("run_id"),
                      agent=p.get("agent"), title=p.get("title", ""),
                      created_at=p.get("created_at", 0.0), id=point_id)


def _filter(where: SearchFilter) -> models.Filter:
    must: list[models.Condition] = [
        models.FieldCondition(key="tenant", match=models.MatchValue(value=where.tenant))]
    if where.max_sensitivity is not None:
        must.append(models.FieldCondition(key="sensitivity", range=models.Range(
            lte=int(where.max_sensitivity))))
    if where.kinds:
        must.append(models.FieldCondition(key="kind", match=models.MatchAny(
            any=list(where.kinds))))
    must_not: list[models.Condition] = []
    if where.exclude_run:
        must_not.append(models.FieldCondition(key="run_id", match=models.MatchValue(
            value=where.exclude_run)))
    return models.Filter(must=must, must_not=must_not or None)
