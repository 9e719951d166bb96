"""Test-wide guards: no network beyond loopback, no host environment leaking into tests."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.redis_server import redis_server

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo
TEST_LEASE_S = 3.0
LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class OutboundNetworkBlocked(RuntimeError):
    """A test tried to reach beyond this machine."""


def _is_local(host: object) -> bool:
    if not isinstance(host, str):
        return False
    if host in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _check(sock: socket.socket, address: Any) -> None:
    if sock.family == socket.AF_UNIX:
        return
    host = address[0] if isinstance(address, tuple) else address
    if not _is_local(host):
        raise OutboundNetworkBlocked(f"test tried to connect to {address!r}; tests must stay on "
                                     "loopback (start a replay server instead)")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _check(self, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _check(self, address)
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else host
    if name is not None and not _is_local(name):
        raise OutboundNetworkBlocked(f"test tried to resolve {name!r}; tests must stay on loopback")
    return _real_getaddrinfo(host, *args, **kwargs)


def pytest_configure(config: pytest.Config) -> None:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _guarded_getaddrinfo


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for assembled model files, shared by the session (assembly takes a second)."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """One real Redis 8 for the session (started on first use); tests keep apart by key
    prefix or by flushing."""
    with redis_server() as url:
        yield url


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, models_dir: Path
                 ) -> Path:
    """No host keys or settings, a fresh data dir, and a working directory without a config."""
    for name in list(os.environ):
        if name.startswith(("HYBRIDCREW_", "ANTHROPIC_", "OPENAI_", "OLLAMA_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HYBRIDCREW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HYBRIDCREW_MODELS_DIR", str(models_dir))
    monkeypatch.setenv("HYBRIDCREW_PROBE_TIMEOUT_S", "0.5")
    # Memory (embeddings + Qdrant) is exercised by its own tests; elsewhere it only slows runs.
    monkeypatch.setenv("HYBRIDCREW_MEMORY", "false")
    # Short leases: a killed executor's runs are taken over within seconds, not half a minute.
    monkeypatch.setenv("HYBRIDCREW_LEASE_S", str(TEST_LEASE_S))
    monkeypatch.setenv("HYBRIDCREW_HEARTBEAT_S", "0.5")
    # Anything that would default to a real host gets a closed loopback port instead.
    monkeypatch.setenv("HYBRIDCREW_OLLAMA_HOST", "http://127.0.0.1:9")
    monkeypatch.setenv("HYBRIDCREW_ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("HYBRIDCREW_OPENAI_COMPATIBLE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_guard_blocks_outbound() -> None:
    """The guard itself: an outbound connection fails loudly."""
    with pytest.raises(OutboundNetworkBlocked), socket.create_connection(("93.184.216.34", 80)):
        pass
