"""A real Prometheus (the Debian package) scraping loopback targets, for dashboard tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.support.ports import free_port
from tests.support.processes import answers, running, until

SCRAPE_INTERVAL_S = 0.5


def prometheus_binary() -> str:
    """The ``prometheus`` executable, or skip (``.ci/run`` installs it: ``apt-get install
    prometheus``)."""
    found = shutil.which("prometheus")
    if found is None:
        pytest.skip("needs Prometheus: apt-get install prometheus")
    return found


@contextmanager
def prometheus(targets: dict[str, str], workdir: Path) -> Iterator[str]:
    """Run Prometheus scraping ``targets`` (job name → host:port) twice a second; yield its URL."""
    config = {"global": {"scrape_interval": f"{int(SCRAPE_INTERVAL_S * 1000)}ms"},
              "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [target]}]}
                                 for job, target in targets.items()]}
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running([prometheus_binary(), f"--config.file={workdir / 'prometheus.yml'}",
                  f"--storage.tsdb.path={workdir / 'data'}",
                  f"--web.listen-address=127.0.0.1:{port}"],
                 answers(f"{base}/-/ready"), "Prometheus", workdir / "prometheus.log",
                 timeout=30):
        yield base


def query(base: str, expr: str) -> dict[str, Any]:
    """An instant query; the API's ``data`` (raises with Prometheus's error if it fails)."""
    response = httpx.get(f"{base}/api/v1/query", params={"query": expr}, timeout=10)
    body: dict[str, Any] = response.json()
    if body.get("status") != "success":
        raise AssertionError(f"{expr!r}: {body.get('errorType')}: {body.get('error')}")
    data: dict[str, Any] = body["data"]
    return data


def wait_scrapes(base: str, job: str, count: int = 2) -> None:
    """Wait until ``job`` has been scraped ``count`` more times (all up)."""
    def scraped() -> float:
        result = query(base, f'count_over_time(up{{job="{job}"}}[1h])')["result"]
        return float(result[0]["value"][1]) if result else 0.0

    target = scraped() + count
    until(lambda: scraped() >= target, f"Prometheus to scrape {job}", timeout=30)
    assert query(base, f'min(up{{job="{job}"}})')["result"][0]["value"][1] == "1"
