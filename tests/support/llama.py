"""Real llama.cpp pieces for tests: the packaged Gemma GGUF and a llama_cpp.server process."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hybridcrew.routing.providers.embedded import packaged_gguf
from tests.support.ports import free_port
from tests.support.processes import answers, running

MODEL_ALIAS = "gemma-3-270m"


def gguf_path(models_dir: Path) -> Path:
    """The Gemma 3 270M GGUF assembled from its PyPI packages (cached in ``models_dir``)."""
    return packaged_gguf(models_dir)


@contextmanager
def llama_server(model: Path, n_ctx: int = 2048) -> Iterator[str]:
    """Run ``python -m llama_cpp.server`` on a free loopback port; yield its /v1 base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}/v1"
    with running([sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host",
                  "127.0.0.1", "--port", str(port), "--chat_format", "gemma", "--n_ctx",
                  str(n_ctx), "--model_alias", MODEL_ALIAS, "--n_threads", "2"],
                 answers(f"{base}/models"), "llama_cpp.server"):
        yield base
