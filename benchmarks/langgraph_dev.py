"""hybridcrew's gateway side by side with LangGraph's own server (``langgraph dev``, in memory).

Both serve the same graph shape, plan → frontend ‖ backend → QA, whose nodes call a chat model
that answers at once (hybridcrew: its scripted model; LangGraph: langchain's fake chat model),
both execute up to 8 runs at once, and both are driven by the same closed loop: ``--clients``
clients each submit a run, follow its event stream to the end and submit the next.

- hybridcrew: ``POST /v1/runs``, then ``GET /v1/runs/{id}/events`` (SSE) to ``run_finished``.
- LangGraph: ``POST /threads``, then ``POST /threads/{id}/runs/stream`` (SSE) to its end; the
  submit time is the time to the stream's first event (the run's metadata).

Rounds alternate between the servers (this machine's speed drifts). Per round: runs/s, the
server's CPU per run (its process tree, from /proc: user + kernel, every thread), context
switches per run (the threads alive at the end of the round), submit p50/p90/p99, and what
bounds runs/s on a machine the clients share: the load generator's own CPU per run and how busy
the machine's CPUs were (/proc/stat). A server process that stays near one core while the
machine has CPU to spare is bound by its interpreter lock, not by the machine.

``langgraph dev`` is not a hybridcrew dependency; install it beside, e.g. in its own venv:
``python -m venv /tmp/lg && /tmp/lg/bin/pip install "langgraph-cli[inmem]"``, then

    python benchmarks/langgraph_dev.py --langgraph /tmp/lg/bin/langgraph [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from gateway_load import follow, free_port, percentile, serve, write_config
from httpx_sse import aconnect_sse
from machine import describe

GRAPH = '''
import operator
from typing import Annotated, TypedDict

from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langgraph.graph import END, START, StateGraph

MODEL = FakeListChatModel(responses=["done: app/limiter.py with a Limiter class"])


class State(TypedDict):
    task: str
    results: Annotated[list[str], operator.add]


def node(name):
    async def call(state):
        reply = await MODEL.ainvoke([("system", f"You are {name}."), ("user", state["task"])])
        return {"results": [f"{name}: {reply.content}"]}
    return call


builder = StateGraph(State)
for name in ("plan", "frontend", "backend", "qa"):
    builder.add_node(name, node(name))
builder.add_edge(START, "plan")
builder.add_edge("plan", "frontend")
builder.add_edge("plan", "backend")
builder.add_edge(["frontend", "backend"], "qa")
builder.add_edge("qa", END)
graph = builder.compile()
'''
QUIET = {"LANGSMITH_TRACING": "false", "LANGCHAIN_TRACING_V2": "false",
         "LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGSMITH_API_KEY": "",
         "LANGGRAPH_NO_VERSION_CHECK": "1", "LANGGRAPH_RUNTIME_EDITION": "inmem"}


def start_langgraph(cli: str, folder: Path, port: int, jobs: int) -> subprocess.Popen[bytes]:
    """``langgraph dev`` on the graph above, in memory, no reload, no browser."""
    (folder / "graph.py").write_text(GRAPH)
    (folder / "langgraph.json").write_text(
        '{"dependencies": ["."], "graphs": {"crew": "./graph.py:graph"}}')
    process = subprocess.Popen(  # noqa: S603 - the user's own langgraph CLI
        [cli, "dev", "--no-browser", "--no-reload", "--port", str(port),
         "--n-jobs-per-worker", str(jobs)],
        cwd=folder, env={**os.environ, **QUIET}, stdout=subprocess.DEVNULL,
        stderr=(folder / "langgraph.log").open("wb"))
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ok", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            log = (folder / "langgraph.log").read_text(errors="replace")[-2000:]
            raise SystemExit(f"langgraph dev did not start:\n{log}")
        time.sleep(0.3)


def tree(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        found.append(current := todo.pop())
        todo.extend(children.get(current, []))
    return found


@dataclass(frozen=True)
class Usage:
    """A process tree's CPU (every thread, ended ones included) and its live threads' switches."""

    user_s: float
    system_s: float
    switches: int


def usage(pid: int) -> Usage:
    """Read /proc for ``pid``'s process tree."""
    tick = os.sysconf("SC_CLK_TCK")
    user = system = 0.0
    switches = 0
    for member in tree(pid):
        stat = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        user, system = user + int(stat[11]) / tick, system + int(stat[12]) / tick
        for task in Path(f"/proc/{member}/task").iterdir():
            for line in (task / "status").read_text().splitlines():
                if line.endswith("ctxt_switches") or "ctxt_switches:" in line:
                    switches += int(line.split(":")[1])
    return Usage(user, system, switches)


async def hybridcrew_run(http: httpx.AsyncClient, number: int) -> tuple[float, bool]:
    """Submit a run and follow it to its end: (submit seconds, finished)."""
    started = time.perf_counter()
    answer = await http.post("/v1/runs", json={"task": f"Add rate limiting, variant {number}"})
    submitted = time.perf_counter() - started
    answer.raise_for_status()
    return submitted, await follow(http, answer.json()["id"]) == "run_finished"


async def langgraph_run(http: httpx.AsyncClient, number: int) -> tuple[float, bool]:
    """Create a thread, stream a run on it to its end: (time to the first event, finished)."""
    started = time.perf_counter()
    thread = (await http.post("/threads", json={})).json()["thread_id"]
    body = {"assistant_id": "crew", "stream_mode": ["updates"],
            "input": {"task": f"Add rate limiting, variant {number}", "results": []}}
    submitted, updates = 0.0, 0
    async with aconnect_sse(http, "POST", f"/threads/{thread}/runs/stream", json=body) as src:
        async for sse in src.aiter_sse():
            if not submitted:
                submitted = time.perf_counter() - started
            updates += sse.event == "updates"
    return submitted, updates == 4


@dataclass
class Round:
    """One server's round."""

    server: str
    runs: int
    seconds: float
    submits_ms: list[float]
    before: Usage
    after: Usage
    unfinished: int
    client_cpu_s: float
    """The load generator's CPU during the round (this process: user + kernel)."""
    machine_busy: float
    """The share of the machine's CPU time that was not idle during the round."""


def own_cpu_s() -> float:
    """This process's CPU so far (user + kernel)."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def machine_ticks() -> tuple[int, int]:
    """(all, idle) CPU ticks of the machine so far, from /proc/stat (idle includes iowait)."""
    ticks = [int(t) for t in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(ticks), ticks[3] + ticks[4]


async def closed_loop(base: str, pid: int, server: str, clients: int, seconds: float
                      ) -> Round:
    """``clients`` clients run after run for ``seconds``."""
    one = hybridcrew_run if server == "hybridcrew" else langgraph_run
    submits: list[float] = []
    outcomes: list[bool] = []
    limits = httpx.Limits(max_connections=clients * 2, max_keepalive_connections=clients * 2)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:

        async def client(number: int, until: float, record: bool) -> None:
            runs = 0
            while time.perf_counter() < until:
                submitted, finished = await one(http, number * 100_000 + runs)
                runs += 1
                if record:
                    submits.append(submitted * 1000)
                    outcomes.append(finished)

        await asyncio.gather(*(client(i, time.perf_counter() + 2, False)
                               for i in range(clients)))  # warm up
        before, started = usage(pid), time.perf_counter()
        client_before, ticks_before = own_cpu_s(), machine_ticks()
        await asyncio.gather(*(client(i, started + seconds, True) for i in range(clients)))
        wall, after = time.perf_counter() - started, usage(pid)
        client_cpu, ticks_after = own_cpu_s() - client_before, machine_ticks()
    ticks, idle = (a - b for a, b in zip(ticks_after, ticks_before, strict=True))
    return Round(server, len(outcomes), wall, submits, before, after, outcomes.count(False),
                 client_cpu, 1.0 - idle / ticks if ticks else 0.0)


def report(rounds: list[Round], clients: int, jobs: int) -> None:
    """Print every round, then each server's medians and the ratio."""
    print(f"machine: {describe()}")
    print(f"closed loop: {clients} clients, model calls take 0 s, {jobs} runs execute at once "
          "on each server; rounds alternate between the servers")
    print(f"{'round':>5} {'server':<14} {'runs/s':>7} {'CPU ms/run':>11} {'user':>6} "
          f"{'kernel':>7} {'switches/run':>13} {'submit p50':>11} {'p90':>7} {'p99':>7} "
          f"{'server cores':>13} {'client ms/run':>14} {'machine busy':>13}")
    rates: dict[str, list[float]] = {}
    cpus: dict[str, list[float]] = {}
    for number, r in enumerate(rounds, 1):
        user = (r.after.user_s - r.before.user_s) * 1000 / r.runs
        kernel = (r.after.system_s - r.before.system_s) * 1000 / r.runs
        switches = (r.after.switches - r.before.switches) / r.runs
        rates.setdefault(r.server, []).append(r.runs / r.seconds)
        cpus.setdefault(r.server, []).append(user + kernel)
        print(f"{(number + 1) // 2:>5} {r.server:<14} {r.runs / r.seconds:7.1f} "
              f"{user + kernel:11.1f} {user:6.1f} {kernel:7.1f} {switches:13.0f} "
              f"{percentile(r.submits_ms, 0.5):9.1f} ms {percentile(r.submits_ms, 0.9):5.1f} "
              f"{percentile(r.submits_ms, 0.99):7.1f} "
              f"{(user + kernel) * r.runs / r.seconds / 1000:13.2f} "
              f"{r.client_cpu_s * 1000 / r.runs:14.1f} {r.machine_busy:13.0%}")
    print(f"runs not finished: {sum(r.unfinished for r in rounds)}")
    ours, theirs = (sorted(rates[s])[len(rates[s]) // 2] for s in ("hybridcrew", "langgraph"))
    print(f"median runs/s: hybridcrew {ours:.1f}, langgraph dev {theirs:.1f} "
          f"({ours / theirs:.2f}x; target >= 1.5x)")
    ours_cpu, theirs_cpu = (sorted(cpus[s])[len(cpus[s]) // 2] for s in cpus)
    print(f"median CPU per run: hybridcrew {ours_cpu:.1f} ms, langgraph dev {theirs_cpu:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--langgraph", default=shutil.which("langgraph") or "langgraph",
                        help="the langgraph CLI, installed with langgraph-cli[inmem]")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--jobs", type=int, default=8, help="runs executing at once")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per server")
    parser.add_argument("--round-seconds", type=float, default=10.0)
    args = parser.parse_args()
    # Absolute: langgraph dev runs in a project folder of its own.
    given = Path(args.langgraph)
    cli = str(given.resolve()) if given.exists() else shutil.which(args.langgraph)
    if cli is None:
        sys.exit("langgraph dev not found: install langgraph-cli[inmem] (see the docstring) "
                 "and pass --langgraph PATH")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "lg").mkdir()
        ours_port, theirs_port = free_port(), free_port()
        gateway = serve(write_config(root, 0.0), root / "data", ours_port, args.jobs)
        langgraph = start_langgraph(cli, root / "lg", theirs_port, args.jobs)
        gc.collect()
        gc.freeze()  # the load generator's collections would count as server latency
        servers = {"hybridcrew": (ours_port, gateway.pid),
                   "langgraph": (theirs_port, langgraph.pid)}
        rounds: list[Round] = []
        try:
            for _ in range(args.rounds):
                for name, (port, pid) in servers.items():
                    rounds.append(asyncio.run(closed_loop(
                        f"http://127.0.0.1:{port}", pid, name, args.clients,
                        args.round_seconds)))
        finally:
            for process in (gateway, langgraph):
                process.terminate()
                process.wait(timeout=30)
    report(rounds, args.clients, args.jobs)


if __name__ == "__main__":
    main()
