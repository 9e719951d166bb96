"""Many clients at once against a real gateway: submit runs, stream their events over SSE.

Starts ``hybridcrew serve`` (uvicorn, its own process) on a loopback port with every agent on
the scripted model, then N concurrent clients each submit a run and read its event stream to
the end; every client drops its stream once midway and reconnects with ``Last-Event-ID``.
The clients come again for ``--rounds`` rounds on the same server (a later round must not be
slower). Per round: runs/s, p50/p90/p99 submit latency, event delivery lag (event written →
event read), and events lost or duplicated (ids must be exactly 1..last for every run).

Then idle readers: a few runs wait for a human's approval and ``--idle-readers`` SSE streams
follow them; the server's CPU and the p99 of other requests (run detail, listing) are measured
without and with those readers, and every reader must see its run finish once approved.

    python benchmarks/gateway_load.py [--clients 200] [--rounds 2] [--idle-readers 1000]

CPU-bound mode (``--cpu-bound``): model calls take no time and ``--loop-clients`` clients each
submit a run, follow its stream to the end and submit the next, for ``--rounds`` rounds of
``--round-seconds`` on the same server. Per round: runs/s, the server's CPU per run (user and
kernel) and context switches per run (the process's own ``getrusage``: every thread, including
those that ended), submit p50/p90/p99. Rounds should not drift.

    python benchmarks/gateway_load.py --cpu-bound [--loop-clients 32] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml
from httpx_sse import aconnect_sse
from machine import describe

VERDICT = json.dumps({"parts": {"frontend": {"approved": True, "findings": []},
                                "backend": {"approved": True, "findings": []}}})
CODE = "`app/limiter.py`\n```python\nclass Limiter:\n    pass\n```\n"
TERMINAL = {"run_finished", "run_failed", "run_blocked", "run_cancelled"}
TARGET_SUBMIT_MS = 20.0
T = TypeVar("T")


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
        # The load generator's own first request costs it ~25 ms (its HTTP stack starting up):
        # not the first client's submit latency.
        (await http.get("/readyz")).raise_for_status()
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


# The gateway, started so that SIGUSR1 makes it write its own resource usage (all threads, the
# ended ones included: /proc only shows the living) to the file named first.
LAUNCHER = """
import json, os, resource, signal, sys
report = sys.argv[1]
def write_usage(*_):
    u = resource.getrusage(resource.RUSAGE_SELF)
    with open(report + '.partial', 'w') as out:
        json.dump([u.ru_utime, u.ru_stime, u.ru_nvcsw + u.ru_nivcsw], out)
    os.replace(report + '.partial', report)
signal.signal(signal.SIGUSR1, write_usage)
from hybridcrew.platform.cli import app
app(sys.argv[2:], prog_name='hybridcrew')
"""


def serve(config: Path, data_dir: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HYBRIDCREW_DATA_DIR": str(data_dir), "HYBRIDCREW_CONFIG": str(config),
           "HYBRIDCREW_GATEWAY_WORKERS": str(workers), "HYBRIDCREW_MEMORY": "false",
           "HYBRIDCREW_MAX_STREAMS_PER_KEY": "5000"}
    process = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(data_dir / "rusage.json"),  # noqa: S603
                                "serve", "--port", str(port)],
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


@dataclass(frozen=True)
class Usage:
    """The gateway's resource usage so far."""

    user_s: float
    system_s: float
    switches: int


def usage(process: subprocess.Popen[bytes], report: Path) -> Usage:
    """Ask the gateway for its ``getrusage`` (SIGUSR1) and read the answer."""
    report.unlink(missing_ok=True)
    process.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 10
    while not report.exists():
        if time.monotonic() > deadline:
            raise SystemExit("the gateway did not report its resource usage")
        time.sleep(0.01)
    user, system, switches = json.loads(report.read_text())
    return Usage(user, system, switches)


@dataclass
class Round:
    """One round of the CPU-bound mode."""

    runs: int
    seconds: float
    submits_ms: list[float]
    before: Usage
    after: Usage
    unfinished: int


async def loop_client(http: httpx.AsyncClient, number: int, until_s: float,
                      submits_ms: list[float]) -> tuple[int, int]:
    """Submit a run, follow it to its end, again, until ``until_s``; (runs, unfinished)."""
    runs = unfinished = 0
    while time.perf_counter() < until_s:
        started = time.perf_counter()
        answer = await http.post("/v1/runs", json={"task": f"Rate limits {number}.{runs}"})
        submits_ms.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
        runs += 1
        unfinished += await follow(http, answer.json()["id"]) != "run_finished"
    return runs, unfinished


async def cpu_bound(base: str, gateway: subprocess.Popen[bytes], report: Path, clients: int,
                    *, rounds: int, seconds: float) -> list[Round]:
    """Closed-loop rounds on the same server."""
    limits = httpx.Limits(max_connections=clients * 2, max_keepalive_connections=clients * 2)
    done: list[Round] = []
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
        await asyncio.gather(*(loop_client(http, i, time.perf_counter() + 2, [])
                               for i in range(clients)))  # warm up: code paths, connections
        for _ in range(rounds):
            submits: list[float] = []
            before, started = usage(gateway, report), time.perf_counter()
            counts = await asyncio.gather(*(loop_client(http, i, started + seconds, submits)
                                            for i in range(clients)))
            wall = time.perf_counter() - started
            done.append(Round(sum(c[0] for c in counts), wall, submits, before,
                              usage(gateway, report), sum(c[1] for c in counts)))
    return done


def print_rounds(rounds: list[Round], clients: int, workers: int) -> None:
    print(f"CPU-bound: model calls take 0 s; {clients} clients in a closed loop (submit, follow "
          f"to the end, again); up to {workers} runs execute at once; same server every round")
    print(f"{'round':>5} {'runs/s':>7} {'CPU ms/run':>11} {'user':>6} {'kernel':>7} "
          f"{'switches/run':>13} {'submit p50':>11} {'p90':>7} {'p99':>7}")
    for number, r in enumerate(rounds, 1):
        user = (r.after.user_s - r.before.user_s) * 1000 / r.runs
        kernel = (r.after.system_s - r.before.system_s) * 1000 / r.runs
        switches = (r.after.switches - r.before.switches) / r.runs
        print(f"{number:>5} {r.runs / r.seconds:7.1f} {user + kernel:11.1f} {user:6.1f} "
              f"{kernel:7.1f} {switches:13.0f} {percentile(r.submits_ms, 0.5):9.1f} ms "
              f"{percentile(r.submits_ms, 0.9):5.1f} {percentile(r.submits_ms, 0.99):7.1f}")
    unfinished = sum(r.unfinished for r in rounds)
    print(f"runs not finished: {unfinished}")


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
    parser.add_argument("--cpu-bound", action="store_true",
                        help="model calls take no time; closed-loop rounds (see above)")
    parser.add_argument("--loop-clients", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds on the same server (default 2; with --cpu-bound, 3)")
    parser.add_argument("--round-seconds", type=float, default=10.0)
    args = parser.parse_args()
    if args.cpu_bound:
        cpu_bound_main(args, args.rounds or 3)
        return
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        gateway = serve(write_config(Path(folder), args.model_latency), Path(folder) / "data",
                        port, args.workers)
        base = f"http://127.0.0.1:{port}"
        try:
            rounds = [uncollected(load(base, args.clients, args.ramp))
                      for _ in range(args.rounds or 2)]
            idle = asyncio.run(idle_readers(base, gateway.pid, args.idle_readers,
                                            args.waiting_runs, args.window)
                               ) if args.idle_readers else None
        finally:
            gateway.terminate()
            gateway.wait(timeout=30)
    print(f"machine: {describe()}")
    print(f"clients: {args.clients}, arriving over {args.ramp:g} s; each submits one run and "
          "streams its events (one reconnect with Last-Event-ID midway); the same server every "
          "round")
    print(f"model calls take {args.model_latency:g} s; up to {args.workers} runs execute at once;"
          f" most runs in flight at once: {in_flight(rounds[0][0])}")
    print(f"{'round':>5} {'runs/s':>7} {'submit p50':>11} {'p90':>7} {'p99':>7} {'lag p50':>8} "
          f"{'p99':>7} {'events':>7} {'lost':>5} {'dup':>4} {'unfinished':>10}")
    ok = True
    for number, (results, wall) in enumerate(rounds, 1):
        submits = [r.submit_s * 1000 for r in results]
        lags = [lag * 1000 for r in results for lag in r.lags_s]
        duplicated = sum(len(r.ids) - len(set(r.ids)) for r in results)
        lost = sum(max(r.ids) - len(set(r.ids)) for r in results)
        unfinished = sum(r.last_kind != "run_finished" for r in results)
        p90, p99 = percentile(submits, 0.9), percentile(submits, 0.99)
        print(f"{number:>5} {len(results) / wall:7.1f} {statistics.median(submits):8.1f} ms "
              f"{p90:7.1f} {p99:7.1f} {statistics.median(lags):5.1f} ms "
              f"{percentile(lags, 0.99):7.1f} {len(lags):7} {lost:5} {duplicated:4} "
              f"{unfinished:10}")
        ok = ok and lost == duplicated == unfinished == 0 and p99 <= TARGET_SUBMIT_MS  # p90 too
    print(f"targets (0 lost or duplicated; submit p90 and p99 <= {TARGET_SUBMIT_MS:g} ms in every "
          f"round): {'met' if ok else 'NOT met'}")
    if idle is not None:
        without, with_readers, ended = idle
        print(f"idle readers: {args.idle_readers} streams on {args.waiting_runs} waiting runs")
        print(f"  server CPU: {without.cpu_percent:.1f}% without, "
              f"{with_readers.cpu_percent:.1f}% with them")
        print(f"  other requests p99: {without.p99_ms:.1f} ms without, "
              f"{with_readers.p99_ms:.1f} ms with them")
        print(f"  readers that saw their run finish once approved: {ended}/{args.idle_readers}")


def uncollected(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` with the load generator's garbage collector off.

    Its pauses (20-25 ms for a young generation of 50,000 objects) would count as server
    latency; what the round leaves is collected after it.
    """
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        return asyncio.run(work)
    finally:
        gc.enable()
        gc.collect()


def cpu_bound_main(args: argparse.Namespace, rounds_wanted: int) -> None:
    """``--cpu-bound``: start a gateway with 0 s model calls and run the closed-loop rounds."""
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "data"
        port = free_port()
        gateway = serve(write_config(Path(folder), 0.0), data, port, args.workers)
        gc.collect()
        gc.freeze()
        try:
            rounds = asyncio.run(cpu_bound(f"http://127.0.0.1:{port}", gateway,
                                           data / "rusage.json", args.loop_clients,
                                           rounds=rounds_wanted, seconds=args.round_seconds))
        finally:
            gateway.terminate()
            gateway.wait(timeout=30)
    print(f"machine: {describe()}")
    print_rounds(rounds, args.loop_clients, args.workers)


if __name__ == "__main__":
    main()
