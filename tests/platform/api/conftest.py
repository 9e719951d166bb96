"""Fixtures shared by the API tests."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.crew import crew_config
from tests.support.gateway import gateway


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """A client of a real gateway on the scripted crew (model calls take 50 ms)."""
    with gateway(crew_config(latency=0.05)) as base, httpx.Client(base_url=base,
                                                                   timeout=30) as http:
        yield http
