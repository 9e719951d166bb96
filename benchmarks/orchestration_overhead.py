"""What hybridcrew adds per node over a bare LangGraph graph of the same shape.

Both run plan → (frontend, backend) → qa with the same scripted model and zero model latency.
The bare graph only calls the model; hybridcrew adds routing (privacy scan, constraints),
decision records, the slot gate, output validation, accounting, events and SQLite checkpoints.
A third run, the bare graph with the same SQLite checkpointer, shows how much of that is
LangGraph's own checkpointing.

    python benchmarks/orchestration_overhead.py [--runs 30]
"""

from __future__ import annotations

import argparse
import itertools
import json
import operator
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any, TypedDict

import yaml
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from machine import describe

from hybridcrew.platform.checkpoints import SqliteCheckpoints
from hybridcrew.platform.crew import Crew
from hybridcrew.platform.runloop import run_loop
from hybridcrew.platform.store.sqlite_schema import tune_for_durable_writes
from hybridcrew.routing.config import parse_config
from hybridcrew.routing.providers.scripted import ScriptedChatModel
from hybridcrew.settings import load_settings

NODES = ("plan", "frontend", "backend", "qa")
TASK = "Add rate limiting to the orders API: 100 requests per minute per API key, 429 after."
VERDICT = json.dumps({"parts": {"frontend": {"approved": True, "findings": []},
                                "backend": {"approved": True, "findings": []}}})
CODE = "`app/limiter.py`\n```python\nclass Limiter:\n    pass\n```\n"


class BareState(TypedDict, total=False):
    task: str
    results: Annotated[list[str], operator.add]


def bare_graph(checkpointer: BaseCheckpointSaver[Any] | None = None, *,
               asynchronous: bool = False) -> Any:
    """The same shape, nodes that only call the scripted model (awaiting it when async)."""
    model = ScriptedChatModel(rules=[{"match": "qa", "reply": VERDICT},
                                     {"match": "end", "reply": CODE}])

    def messages(name: str, state: BareState) -> list[BaseMessage]:
        return [SystemMessage(f"You are {name}."),
                HumanMessage(f"{state['task']}\n{''.join(state['results'])}")]

    def node(name: str) -> Any:
        def call(state: BareState) -> dict[str, Any]:
            return {"results": [str(model.invoke(messages(name, state)).content)]}

        async def acall(state: BareState) -> dict[str, Any]:
            return {"results": [str((await model.ainvoke(messages(name, state))).content)]}

        return acall if asynchronous else call

    graph = StateGraph(BareState)
    for name in NODES:
        graph.add_node(name, node(name))
    graph.add_edge(START, "plan")
    graph.add_edge("plan", "frontend")
    graph.add_edge("plan", "backend")
    graph.add_edge(["frontend", "backend"], "qa")
    graph.add_edge("qa", END)
    return graph.compile(checkpointer=checkpointer)


def hybridcrew_crew(data_dir: Path) -> Crew:
    """The built-in delivery workflow with every agent on a scripted model."""
    model = {"provider": "scripted", "model": "scripted", "slots": 4,
             "options": {"rules": [{"match": "Review round", "reply": VERDICT},
                                   {"match": "Your part", "reply": CODE}]}}
    data = {"models": {"scripted": model},
            "agents": {a: {"role": f"You are {a}.", "model": "scripted"}
                       for a in ("cto", "frontend", "backend", "qa")}}
    os.environ["HYBRIDCREW_DATA_DIR"] = str(data_dir)
    os.environ["HYBRIDCREW_MEMORY"] = "false"  # recall is per run, not per node: not measured
    crew = Crew(parse_config(yaml.safe_dump(data), "benchmark"), load_settings())
    crew.runtime.signals.refresh()
    return crew


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        connection = sqlite3.connect(Path(folder) / "bare.sqlite", check_same_thread=False)
        tune_for_durable_writes(connection)  # the same SQLite settings hybridcrew uses
        bare = bare_graph()
        durable = bare_graph(SqliteCheckpoints(connection), asynchronous=True)
        crew = hybridcrew_crew(Path(folder) / "crew")
        threads = itertools.count()
        loop = run_loop()  # where hybridcrew's runs execute; the async graph runs there too

        def durable_run() -> None:
            loop.run(durable.ainvoke({"task": TASK, "results": []}, {"configurable": {
                "thread_id": str(next(threads))}}, durability="sync"))

        def crew_run() -> None:
            outcome = crew.start(TASK)
            if outcome.status != "finished":
                raise SystemExit(f"benchmark run did not finish: {outcome.error}")

        # Interleaved rounds, so that drifts in this machine's speed hit all three alike.
        samples: dict[str, list[float]] = {"bare": [], "durable": [], "crew": []}
        runners = {"bare": lambda: bare.invoke({"task": TASK, "results": []}),
                   "durable": durable_run, "crew": crew_run}
        for run in runners.values():
            run()  # warm-up: imports, schema builds, first SQLite pages
        for _ in range(args.runs):
            for name, run in runners.items():
                started = time.perf_counter()
                run()
                samples[name].append((time.perf_counter() - started) * 1e3)
        bare_ms, durable_ms, crew_ms = (statistics.median(samples[k]) for k in runners)
    nodes = len(NODES)
    per_node = (crew_ms - bare_ms) / nodes
    langgraph = (durable_ms - bare_ms) / nodes
    print(f"machine: {describe()}")
    print(f"runs: {args.runs} interleaved rounds, median wall time per run of {nodes} agent "
          "nodes")
    print(f"bare LangGraph (invoke):                 {bare_ms:6.2f} ms  "
          f"({bare_ms / nodes:.2f} ms/node)")
    print(f"bare LangGraph, async, SQLite checkpoints: {durable_ms:4.2f} ms  "
          f"({durable_ms / nodes:.2f} ms/node)")
    print(f"hybridcrew:                              {crew_ms:6.2f} ms  "
          f"({crew_ms / nodes:.2f} ms/node)")
    print(f"added per node:  {per_node:.2f} ms  (ratio {crew_ms / bare_ms:.1f}x); of which "
          f"LangGraph's durable async execution {langgraph:.2f} ms, hybridcrew's routing, "
          f"validation, accounting and events {per_node - langgraph:.2f} ms")
    print(f"target <= 1 ms added per node: {'met' if per_node <= 1.0 else 'NOT met'}")


if __name__ == "__main__":
    main()
