"""Real llama.cpp pieces for tests: the packaged Gemma GGUF and a llama_cpp.server process."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from hybridcrew.routing.providers.embedded import packaged_gguf
from tests.support.ports import free_port

MODEL_ALIAS = "gemma-3-270m"


def gguf_path(models_dir: Path) -> Path:
    """The Gemma 3 270M GGUF assembled from its PyPI packages (cached in ``models_dir``)."""
    return packaged_gguf(models_dir)


@contextmanager
def llama_server(model: Path, n_ctx: int = 2048) -> Iterator[str]:
    """Run ``python -m llama_cpp.server`` on a free loopback port; yield its /v1 base URL."""
    port = free_port()
    # llama.cpp logs >100 KB while loading: a pipe would fill up and stall the server.
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
         "--port", str(port), "--chat_format", "gemma", "--n_ctx", str(n_ctx),
         "--model_alias", MODEL_ALIAS, "--n_threads", "2"],
        stdout=log, stderr=log,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError("llama_cpp.server exited: " + log.read().decode()[-2000:])
            try:
                if httpx.get(f"{base}/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("llama_cpp.server did not start within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
