"""Every store backend, for the one conformance suite."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hybridcrew.platform.store import SqliteStore, Store
from hybridcrew.platform.store.redis import RedisStore

_prefixes = itertools.count()


@pytest.fixture(params=["sqlite", "redis"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Open (another client of) one fresh store of each backend."""
    opened: list[Store] = []
    prefix = f"t{next(_prefixes)}:"

    def make() -> Store:
        if request.param == "sqlite":
            store: Store = SqliteStore(tmp_path / "store.sqlite")
        else:
            store = RedisStore(request.getfixturevalue("redis_url"), prefix=prefix)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Callable[[], Store]) -> Store:
    """A fresh store of each backend."""
    return open_store()
