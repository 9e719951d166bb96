"""Many clients at once against a real gateway: submit runs, stream their events over SSE.

Starts ``hybridcrew serve`` (uvicorn, its own process) on a loopback port with every agent on
the scripted model, then N concurrent clients each submit a run and read its event stream to
the end; every client drops its stream once midway and reconnects with ``Last-Event-ID``.
Prints runs/s, p50/p99 submit latency, event delivery lag (event written → event read), and
events lost or duplicated (ids must be exactly 1..last for every run).

Then idle readers: a few runs wait for a human's approval and ``--idle-readers`` SSE streams
follow them; the server's CPU and the p99 of other requests (run detail, listing) are measured
without and with those readers, and every reader must see its run finish once approved.

    python benchmarks/gateway_load.py [--clients 200] [--idle-readers 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml
from httpx_sse import aconnect_sse
from machine import describe

VERDICT = json.dumps({"parts": {"frontend": {"approved": True, "findings": []},
                                "backend": {"approved": True, "findings": []}}})
CODE = "`app/limiter.py`\n```python\nclass Limiter:\n    pass\n```\n"
TERMINAL = {"run_finished", "run_failed", "run_blocked", "run_cancelled"}


@dataclass
class ClientResult:
    submit_s: float
    submitted_at: float = 0.0
    ended_at: float = 0.0
    ids: list[int] = field(default_factory=list)
    lags_s: list[float] = field(default_factory=list)
    last_kind: str = ""


def write_config(folder: Path, latency_s: float) -> Path:
    """Every agent on one scripted model that answers after ``latency_s`` (like a fast local
    model); slots high: the gateway's run threads are the limit."""
    model = {"provider": "scripted", "model": "scripted", "slots": 256,
             "options": {"latency_s": latency_s,
                         "rules": [{"match": "Review round", "reply": VERDICT},
                                   {"match": "Your part", "reply": CODE}]}}
    data = {"models": {"scripted": model},
            "agents": {a: {"role": f"You are {a}.", "model": "scripted"}
                       for a in ("cto", "frontend", "backend", "qa")}}
    path = folder / "hybridcrew.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def read_events(http: httpx.AsyncClient, run_id: str, result: ClientResult,
                      after: int, stop_after: int | None) -> None:
    headers = {"Last-Event-ID": str(after)} if after else {}
    async with aconnect_sse(http, "GET", f"/v1/runs/{run_id}/events", headers=headers) as src:
        async for sse in src.aiter_sse():
            data = json.loads(sse.data)
            result.ids.append(int(sse.id))
            result.lags_s.append(time.time() - data["ts"])
            result.last_kind = sse.event
            if sse.event in TERMINAL or (stop_after and len(result.ids) >= stop_after):
                return


async def client(http: httpx.AsyncClient, number: int, delay_s: float) -> ClientResult:
    await asyncio.sleep(delay_s)
    started = time.perf_counter()
    answer = await http.post("/v1/runs", json={"task": f"Add rate limiting, variant {number}"})
    result = ClientResult(time.perf_counter() - started, submitted_at=started)
    answer.raise_for_status()
    run_id = answer.json()["id"]
    await read_events(http, run_id, result, 0, stop_after=3)  # drop the stream midway...
    if result.last_kind not in TERMINAL:  # ...and reconnect after the last event seen
        await read_events(http, run_id, result, result.ids[-1], stop_after=None)
    result.ended_at = time.perf_counter()
    return result


def in_flight(results: list[ClientResult]) -> int:
    """The most runs submitted and not yet finished at one moment."""
    changes = sorted([(r.submitted_at, 1) for r in results] + [(r.ended_at, -1) for r in results])
    most = current = 0
    for _, step in changes:
        current += step
        most = max(most, current)
    return most


async def load(base: str, clients: int, ramp_s: float) -> tuple[list[ClientResult], float]:
    """Clients arrive evenly over ``ramp_s`` seconds and stay until their run ends."""
    limits = httpx.Limits(max_connections=clients * 2, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
        started = time.perf_counter()
        results = await asyncio.gather(*(client(http, i, ramp_s * i / clients)
                                         for i in range(clients)))
        return list(results), time.perf_counter() - started


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Quiet:
    """Server CPU and other requests' latency over one measuring window."""

    cpu_percent: float
    p99_ms: float


async def measure(http: httpx.AsyncClient, pid: int, run_ids: list[str], seconds: float
                  ) -> Quiet:
    """CPU of the server over ``seconds`` while a client asks for run details and listings."""
    latencies: list[float] = []
    cpu_before, wall_before = cpu_seconds(pid), time.perf_counter()
    while time.perf_counter() - wall_before < seconds:
        for path in [f"/v1/runs/{run_ids[len(latencies) % len(run_ids)]}", "/v1/runs?limit=20"]:
            started = time.perf_counter()
            (await http.get(path)).raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.05)  # a steady trickle, not a load test of its own
    cpu = (cpu_seconds(pid) - cpu_before) / (time.perf_counter() - wall_before) * 100
    return Quiet(cpu, percentile(latencies, 0.99))


async def follow(http: httpx.AsyncClient, run_id: str) -> str:
    """Read a run's stream to its end; the last event's kind."""
    last = ""
    async with aconnect_sse(http, "GET", f"/v1/runs/{run_id}/events") as source:
        async for sse in source.aiter_sse():
            last = sse.event
            if last in TERMINAL:
                break
    return last


async def idle_readers(base: str, pid: int, readers: int, runs: int, seconds: float
                       ) -> tuple[Quiet, Quiet, int]:
    """Measure without and with ``readers`` streams idling on ``runs`` waiting runs."""
    limits = httpx.Limits(max_connections=readers + 50, max_keepalive_connections=readers + 50)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
        ids = [(await http.post("/v1/runs", json={"task": f"Waiting run {i}", "approval": True})
                ).json()["id"] for i in range(runs)]
        for run_id in ids:
            while (await http.get(f"/v1/runs/{run_id}")).json()["status"] != "waiting":
                await asyncio.sleep(0.2)
        without = await measure(http, pid, ids, seconds)
        tasks = [asyncio.create_task(follow(http, ids[i % runs])) for i in range(readers)]
        await asyncio.sleep(3)  # every stream open and idle
        with_readers = await measure(http, pid, ids, seconds)
        for run_id in ids:
            (await http.post(f"/v1/runs/{run_id}/resume", json={"choice": "approve"})
             ).raise_for_status()
        ends = await asyncio.gather(*tasks)
    return without, with_readers, sum(kind == "run_finished" for kind in ends)


def serve(config: Path, data_dir: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HYBRIDCREW_DATA_DIR": str(data_dir), "HYBRIDCREW_CONFIG": str(config),
           "HYBRIDCREW_GATEWAY_WORKERS": str(workers), "HYBRIDCREW_MEMORY": "false",
           "HYBRIDCREW_MAX_STREAMS_PER_KEY": "5000"}
    process = subprocess.Popen([sys.executable, "-m", "hybridcrew", "serve", "--port", str(port)],  # noqa: S603
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the gateway did not become ready")
        time.sleep(0.2)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--ramp", type=float, default=2.0, help="seconds over which clients "
                        "arrive")
    parser.add_argument("--model-latency", type=float, default=0.5,
                        help="seconds each scripted model call takes")
    parser.add_argument("--workers", type=int, default=8, help="runs executing at once "
                        "(HYBRIDCREW_GATEWAY_WORKERS); the others wait queued")
    parser.add_argument("--idle-readers", type=int, default=1000,
                        help="SSE streams idling on waiting runs (0: skip that part)")
    parser.add_argument("--waiting-runs", type=int, default=10)
    parser.add_argument("--window", type=float, default=5.0, help="seconds per measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        gateway = serve(write_config(Path(folder), args.model_latency), Path(folder) / "data",
                        port, args.workers)
        # The load generator's own garbage-collection pauses would count as server latency.
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 50, 100)
        base = f"http://127.0.0.1:{port}"
        try:
            results, wall = asyncio.run(load(base, args.clients, args.ramp))
            idle = asyncio.run(idle_readers(base, gateway.pid, args.idle_readers,
                                            args.waiting_runs, args.window)
                               ) if args.idle_readers else None
        finally:
            gateway.terminate()
            gateway.wait(timeout=30)
    submits = [r.submit_s * 1000 for r in results]
    lags = [lag * 1000 for r in results for lag in r.lags_s]
    duplicated = sum(len(r.ids) - len(set(r.ids)) for r in results)
    lost = sum(max(r.ids) - len(set(r.ids)) for r in results)
    unfinished = sum(r.last_kind != "run_finished" for r in results)
    print(f"machine: {describe()}")
    print(f"clients: {args.clients}, arriving over {args.ramp:g} s; each submits one run and "
          "streams its events (one reconnect with Last-Event-ID midway)")
    print(f"model calls take {args.model_latency:g} s; up to {args.workers} runs execute at once;"
          f" most runs in flight at once: {in_flight(results)}")
    print(f"runs/s: {len(results) / wall:.1f}  ({len(results)} runs in {wall:.2f} s)")
    print(f"submit latency: p50 {statistics.median(submits):.1f} ms, "
          f"p99 {percentile(submits, 0.99):.1f} ms")
    print(f"event delivery lag: p50 {statistics.median(lags):.1f} ms, "
          f"p99 {percentile(lags, 0.99):.1f} ms over {len(lags)} events")
    print(f"events lost: {lost}, duplicated: {duplicated}, runs not finished: {unfinished}")
    ok = lost == 0 and duplicated == 0 and unfinished == 0 and percentile(submits, 0.99) < 50
    print(f"targets (0 lost or duplicated, p99 submit < 50 ms): {'met' if ok else 'NOT met'}")
    if idle is not None:
        without, with_readers, ended = idle
        print(f"idle readers: {args.idle_readers} streams on {args.waiting_runs} waiting runs")
        print(f"  server CPU: {without.cpu_percent:.1f}% without, "
              f"{with_readers.cpu_percent:.1f}% with them")
        print(f"  other requests p99: {without.p99_ms:.1f} ms without, "
              f"{with_readers.p99_ms:.1f} ms with them")
        print(f"  readers that saw their run finish once approved: {ended}/{args.idle_readers}")


if __name__ == "__main__":
    main()
