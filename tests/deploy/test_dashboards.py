"""The Grafana dashboards: well-formed, datasource-agnostic, and every panel query returns data
from a real Prometheus that scraped a real gateway during runs."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.observed import observed_gateway, run_scenario
from tests.support.prometheus import prometheus, query, wait_scrapes

DASHBOARDS = Path(__file__).parents[2] / "deploy" / "grafana" / "dashboards"
JOB = "hybridcrew-gateway"
# What Grafana puts in for its variables, at the scale of a test that lasts seconds.
VARIABLES = {"$__rate_interval": "30s", "$__range": "1h", "$tenant": ".*"}
# Series that are empty by nature on a machine without a GPU (NaN = unknown, by design).
NO_GPU_HERE = re.compile(r"hybridcrew_gpu_free_bytes")


def _dashboards() -> dict[str, dict[str, Any]]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def _targets() -> Iterator[tuple[str, str]]:
    for name, board in _dashboards().items():
        for panel in board["panels"]:
            for target in panel["targets"]:
                yield f"{name}: {panel['title']} [{target['refId']}]", target["expr"]


def _expand(expr: str) -> str:
    for variable, value in VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"a variable the test does not know: {expr}"
    return expr


def test_the_three_dashboards_exist_with_unique_ids() -> None:
    boards = _dashboards()
    titles = {b["title"] for b in boards.values()}
    assert titles == {"hybridcrew · Routing & cost", "hybridcrew · Runs & agents",
                      "hybridcrew · Capacity"}
    assert len({b["uid"] for b in boards.values()}) == len(boards)
    for board in boards.values():
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), f"{board['title']}: duplicate panel ids"


def test_panels_use_the_datasource_variable_not_a_uid() -> None:
    for board in _dashboards().values():
        variables = {v["name"]: v for v in board["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        for panel in board["panels"]:
            sources = [panel["datasource"], *(t["datasource"] for t in panel["targets"])]
            assert all(s == {"type": "prometheus", "uid": "${datasource}"} for s in sources), (
                f"{board['title']} / {panel['title']}: hard-coded data source")
            assert panel["targets"], f"{panel['title']}: no query"
            assert panel["description"], f"{panel['title']}: say what the panel shows"


@pytest.fixture(scope="module")
def prometheus_after_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Prometheus that scraped a gateway before, between and after two rounds of runs."""
    with observed_gateway(tmp_path_factory.mktemp("gateway")) as base, \
            prometheus({JOB: base.removeprefix("http://")},
                       tmp_path_factory.mktemp("prometheus")) as prom:
        wait_scrapes(prom, JOB)
        # Two rounds: series born in the first are seen increasing in the second.
        for _ in range(2):
            run_scenario(base)
            wait_scrapes(prom, JOB)
        yield prom


@pytest.mark.parametrize(("panel", "expr"), list(_targets()), ids=[t[0] for t in _targets()])
def test_every_panel_query_returns_data(prometheus_after_runs: str, panel: str, expr: str
                                        ) -> None:
    data = query(prometheus_after_runs, _expand(expr))
    series = data["result"]
    assert series, f"{panel}: no data for {expr}"
    values = [float(s["value"][1]) for s in series]
    if not NO_GPU_HERE.search(expr):
        assert any(math.isfinite(v) for v in values), f"{panel}: only NaN for {expr}"


def test_template_variables_resolve(prometheus_after_runs: str) -> None:
    for board in _dashboards().values():
        for variable in board["templating"]["list"]:
            if variable["type"] != "query":
                continue
            match = re.fullmatch(r"label_values\((\w+), (\w+)\)", variable["query"]["query"])
            assert match, f"{variable['name']}: unexpected variable query"
            metric, label = match.groups()
            response = httpx.get(f"{prometheus_after_runs}/api/v1/label/{label}/values",
                                 params={"match[]": metric}, timeout=10)
            assert "default" in response.json()["data"]
