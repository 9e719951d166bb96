"""GPU headroom from NVML and Ollama ``/api/ps``: probed off the hot path."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx

from hybridcrew.http_client import shared_client

GIB = 1024**3


@dataclass(frozen=True)
class GpuState:
    """Free VRAM (``None`` = unknown: no NVML GPU) and the models Ollama holds in memory."""

    free_gb: float | None = None
    total_gb: float | None = None
    loaded: frozenset[str] = field(default_factory=frozenset)
    source: str = "none"

    @property
    def known(self) -> bool:
        """True when free VRAM was measured."""
        return self.free_gb is not None


def nvml_memory() -> tuple[float, float] | None:
    """(free, total) GiB of the GPU with the most free memory, or None without a usable GPU."""
    try:
        import pynvml  # noqa: PLC0415 - optional at run time; fails fast without a driver

        pynvml.nvmlInit()
    except Exception:  # noqa: BLE001 - NVMLError_LibraryNotFound and friends: "no GPU"
        return None
    try:
        best: tuple[float, float] | None = None
        for index in range(pynvml.nvmlDeviceGetCount()):
            info = pynvml.nvmlDeviceGetMemoryInfo(pynvml.nvmlDeviceGetHandleByIndex(index))
            pair = (info.free / GIB, info.total / GIB)
            best = pair if best is None or pair[0] > best[0] else best
        return best
    except Exception:  # noqa: BLE001
        return None
    finally:
        with contextlib.suppress(Exception):
            pynvml.nvmlShutdown()


def ollama_loaded(host: str, timeout: float) -> frozenset[str] | None:
    """Model names resident in an Ollama server (``GET /api/ps``), or None if it is silent."""
    try:
        response = shared_client().get(f"{host.rstrip('/')}/api/ps", timeout=timeout)
        response.raise_for_status()
    except httpx.HTTPError:
        return None
    return frozenset(m.get("name", "") for m in response.json().get("models", []))


def read_gpu(ollama_hosts: Iterable[str], timeout: float) -> GpuState:
    """Combine NVML and every Ollama host's resident models into one state."""
    memory = nvml_memory()
    loaded: set[str] = set()
    sources = ["nvml"] if memory else []
    for host in ollama_hosts:
        names = ollama_loaded(host, timeout)
        if names is not None:
            loaded |= names
            sources.append(f"ollama:{host}")
    return GpuState(
        free_gb=memory[0] if memory else None,
        total_gb=memory[1] if memory else None,
        loaded=frozenset(loaded),
        source=",".join(sources) or "none",
    )
