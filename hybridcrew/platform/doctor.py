"""Checks of every backend hybridcrew can use: found or not, and exactly how to fix it."""

from __future__ import annotations

import socket
import tempfile
from dataclasses import dataclass
from urllib.parse import urlparse

from hybridcrew.routing.gpu import GpuState
from hybridcrew.routing.runtime import RoutingRuntime
from hybridcrew.routing.signals import Signals
from hybridcrew.settings import Settings


@dataclass(frozen=True)
class Check:
    """One line of ``hybridcrew doctor``."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = False


def run_checks(runtime: RoutingRuntime, signals: Signals) -> list[Check]:
    """Config, every model backend, GPU, data dir, and the optional shared services."""
    checks = [Check("config", True, f"loaded {runtime.config.source}", required=True)]
    for name, entry in runtime.config.catalog.items():
        health = signals.health_of(name)
        checks.append(Check(f"model {name}", bool(health.up),
                            f"{entry.provider} {entry.spec.model} ({entry.location}): "
                            f"{health.detail}", health.fix))
    any_up = any(c.ok for c in checks if c.name.startswith("model "))
    checks.append(Check("at least one model", any_up,
                        "a model backend is available" if any_up else "no model backend is up",
                        "" if any_up else "pip install 'hybridcrew[embedded]' for the embedded "
                        "model, or set ANTHROPIC_API_KEY, or start Ollama", required=True))
    checks.append(_gpu_check(signals.gpu))
    checks.append(_data_dir_check(runtime.settings))
    timeout = runtime.settings.probe_timeout_s
    checks.append(_service_check("redis", runtime.settings.redis_url, 6379, timeout,
                                 "HYBRIDCREW_REDIS_URL=redis://HOST:6379 (multi-worker mode)"))
    checks.append(_service_check("qdrant", runtime.settings.qdrant_url, 6333, timeout,
                                 "HYBRIDCREW_QDRANT_URL=http://HOST:6333 (else local mode)"))
    return checks


def _gpu_check(gpu: GpuState) -> Check:
    if gpu.free_gb is None:
        return Check("gpu", False, "no GPU signal (NVML found no NVIDIA GPU); local models run "
                     "on CPU and routing.gpu.on_unknown decides for GPU-sized models",
                     "install the NVIDIA driver if this machine has a GPU")
    return Check("gpu", True, f"{gpu.free_gb:.1f} of {gpu.total_gb or 0:.1f} GiB free "
                 f"({gpu.source})")


def _data_dir_check(settings: Settings) -> Check:
    path = settings.data_dir
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path):
            pass
    except OSError as exc:
        return Check("data dir", False, f"{path} is not writable ({exc.strerror})",
                     "set HYBRIDCREW_DATA_DIR to a writable folder", required=True)
    return Check("data dir", True, f"{path.resolve()} is writable", required=True)


def _service_check(name: str, url: str | None, default_port: int, timeout: float, how: str
                   ) -> Check:
    if not url:
        return Check(name, True, "not configured (optional)", f"to use it: {how}")
    parsed = urlparse(url)
    host, port = parsed.hostname or "localhost", parsed.port or default_port
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        return Check(name, False, f"{host}:{port} unreachable ({exc.__class__.__name__})",
                     f"start {name} or fix {how.split('=', maxsplit=1)[0]}")
    return Check(name, True, f"{host}:{port} reachable")
