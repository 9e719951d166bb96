"""How long the web console's pages, and the API reads clients poll, take with 1,000 runs.

A data dir gets a few real runs (the scripted crew, so their pages have steps, decisions and
artifacts) and 1,000 finished runs more; ``hybridcrew serve`` (its own process) then serves
every console page, a run's detail and the run listing to a loopback client, which times each
request end to end (the server's time plus the client's, an upper bound of the server time).
Prints p50/p95/max per page and the server's CPU and context switches per request (its own
``getrusage``, every thread); the target is every page under 100 ms.

    python benchmarks/console_pages.py [--runs 1000] [--requests 50]
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from gateway_load import Usage, free_port, percentile, serve, usage, write_config
from machine import describe

from hybridcrew.graphs.lifecycle import RunStatus
from hybridcrew.platform.crew import Crew
from hybridcrew.routing.config import load_config
from hybridcrew.settings import load_settings

TARGET_MS = 100.0
REAL_RUNS = 3


def fill(config: Path, data_dir: Path, runs: int) -> str:
    """A few real runs and ``runs`` finished ones; returns a real run's id."""
    os.environ["HYBRIDCREW_MEMORY"] = "false"
    crew = Crew(load_config(config), load_settings(data_dir=data_dir))
    crew.runtime.signals.refresh()
    real = [crew.start(f"Add rate limiting to service {i}") for i in range(REAL_RUNS)]
    summary = crew.store.get_run(real[0].run_id).summary
    for i in range(runs):
        row = crew.submit(f"Task number {i}: add a health check to service {i % 37}")
        crew.store.set_status(row.id, RunStatus.FINISHED, summary)
    return real[-1].run_id


def timed(client: httpx.Client, method: str, path: str, requests: int, *,
          data: dict[str, str] | None, server: Callable[[], Usage]
          ) -> tuple[list[float], float, float]:
    """Milliseconds per request (after a few to warm up), and the server's CPU milliseconds and
    context switches per request."""
    for _ in range(5):
        answer = client.request(method, path, data=data)
        assert answer.status_code == 200, f"{method} {path}: {answer.status_code}"
    samples = []
    before = server()
    for _ in range(requests):
        started = time.perf_counter()
        client.request(method, path, data=data).raise_for_status()
        samples.append((time.perf_counter() - started) * 1000)
    after = server()
    cpu_ms = (after.user_s + after.system_s - before.user_s - before.system_s) * 1000
    return samples, cpu_ms / requests, (after.switches - before.switches) / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config, data_dir = write_config(Path(folder), 0.0), Path(folder) / "data"
        run_id = fill(config, data_dir, args.runs)
        port = free_port()
        gateway = serve(config, data_dir, port, 4)
        try:
            client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
            form = client.get("/ui/routing").text  # the CSRF cookie and token
            token = re.search(r'name="csrf" value="([^"]+)"', form)
            assert token is not None
            explain = {"csrf": token.group(1), "agent": "backend", "step": "implement",
                       "prompt": "Add rate limiting to the orders API"}
            pages = [("GET", "/ui", None), ("GET", "/ui?status=finished&offset=500", None),
                     ("GET", f"/ui/runs/{run_id}", None), ("GET", f"/ui/runs/{run_id}/live", None),
                     ("GET", "/ui/agents", None), ("GET", "/ui/models", None),
                     ("GET", "/ui/routing", None), ("POST", "/ui/routing", explain),
                     ("GET", f"/v1/runs/{run_id}", None),
                     ("GET", "/v1/runs?status=finished&offset=500", None)]
            steps = client.get(f"/ui/runs/{run_id}").text.count('class="step"')
            assert steps >= 4, "the run page shows the real run's steps"
            server = functools.partial(usage, gateway, data_dir / "rusage.json")
            results = [(f"{m} {p}", *timed(client, m, p, args.requests, data=d, server=server))
                       for m, p, d in pages]
        finally:
            gateway.terminate()
            gateway.wait(timeout=30)
    print(f"machine: {describe()}")
    print(f"{args.runs + REAL_RUNS} runs in the store; {args.requests} requests per page, one "
          "loopback client, end to end")
    for name, values, cpu_ms, switches in results:
        print(f"  {name[:48]:<48} p50 {statistics.median(values):6.1f} ms  "
              f"p95 {percentile(values, 0.95):6.1f} ms  max {max(values):6.1f} ms  "
              f"server CPU {cpu_ms:5.2f} ms, {switches:5.1f} switches")
    worst = max(percentile(v, 0.95) for _, v, _, _ in results)
    print(f"target every page < {TARGET_MS:.0f} ms (p95): "
          f"{'met' if worst < TARGET_MS else 'NOT met'} (slowest p95 {worst:.1f} ms)")


if __name__ == "__main__":
    main()
