"""Property-based fuzzing of the OpenAPI document with schemathesis: no answer is a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.case import Case

from hybridcrew.platform.keys import create_key
from hybridcrew.platform.store import SqliteStore
from tests.support.crew import crew_config
from tests.support.gateway import gateway


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("fuzz")
    store = SqliteStore(Path(folder) / "store.sqlite")
    token = create_key(store, "acme", "admin")[1]
    with gateway(crew_config(), store=store, data_dir=folder / "data") as base:
        yield base, token


def _operations() -> list[str]:
    from hybridcrew.platform.api import create_app
    from hybridcrew.settings import load_settings

    spec = create_app(load_settings()).openapi()
    return [f"{method.upper()} {path}" for path, item in spec["paths"].items()
            for method in item]


# schemathesis' own strategies trip this Hypothesis deprecation; not our code.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
@pytest.mark.parametrize("operation", _operations())
def test_no_server_errors(served: tuple[str, str], operation: str) -> None:
    base, token = served
    method, path = operation.split(" ")
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    strategy = schema[path][method].as_strategy()

    @given(case=strategy)
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: Case) -> None:
        for headers in ({"Authorization": f"Bearer {token}"}, {}):
            response = case.call(headers=headers, timeout=10)
            assert response.status_code < 500, (operation, case.body, response.text[:300])

    check()
