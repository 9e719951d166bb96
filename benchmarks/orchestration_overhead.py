"""What hybridcrew adds per node over a bare LangGraph graph of the same shape.

Both run plan → (frontend, backend) → qa with the same scripted model and zero model latency.
The bare graph only calls the model; hybridcrew adds routing (privacy scan, constraints),
decision records, the slot gate, output validation, accounting, events and SQLite checkpoints.

    python benchmarks/orchestration_overhead.py [--runs 30]
"""

from __future__ import annotations

import argparse
import json
import operator
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any, TypedDict

import yaml
from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.graph import END, START, StateGraph
from machine import describe

from hybridcrew.platform.config import parse_config
from hybridcrew.platform.crew import Crew
from hybridcrew.platform.settings import load_settings
from hybridcrew.routing.providers.scripted import ScriptedChatModel

NODES = ("plan", "frontend", "backend", "qa")
TASK = "Add rate limiting to the orders API: 100 requests per minute per API key, 429 after."
VERDICT = json.dumps({"parts": {"frontend": {"approved": True, "findings": []},
                                "backend": {"approved": True, "findings": []}}})
CODE = "`app/limiter.py`\n```python\nclass Limiter:\n    pass\n```\n"


class BareState(TypedDict, total=False):
    task: str
    results: Annotated[list[str], operator.add]


def bare_graph() -> Any:
    """The same shape, nodes that only call the scripted model."""
    model = ScriptedChatModel(rules=[{"match": "qa", "reply": VERDICT},
                                     {"match": "end", "reply": CODE}])

    def node(name: str) -> Any:
        def call(state: BareState) -> dict[str, Any]:
            reply = model.invoke([SystemMessage(f"You are {name}."),
                                  HumanMessage(f"{state['task']}\n{''.join(state['results'])}")])
            return {"results": [str(reply.content)]}
        return call

    graph = StateGraph(BareState)
    for name in NODES:
        graph.add_node(name, node(name))
    graph.add_edge(START, "plan")
    graph.add_edge("plan", "frontend")
    graph.add_edge("plan", "backend")
    graph.add_edge(["frontend", "backend"], "qa")
    graph.add_edge("qa", END)
    return graph.compile()


def hybridcrew_crew(data_dir: Path) -> Crew:
    """The built-in delivery workflow with every agent on a scripted model."""
    model = {"provider": "scripted", "model": "scripted", "slots": 4,
             "options": {"rules": [{"match": "Review round", "reply": VERDICT},
                                   {"match": "Your part", "reply": CODE}]}}
    data = {"models": {"scripted": model},
            "agents": {a: {"role": f"You are {a}.", "model": "scripted"}
                       for a in ("cto", "frontend", "backend", "qa")}}
    os.environ["HYBRIDCREW_DATA_DIR"] = str(data_dir)
    crew = Crew(parse_config(yaml.safe_dump(data), "benchmark"), load_settings())
    crew.runtime.signals.refresh()
    return crew


def run_without_step_checkpoints(crew: Crew) -> None:
    """The same hybridcrew graph, checkpointed only at the end (``durability="exit"``): what
    everything except durability costs. Not how hybridcrew runs: a crash would lose the run."""
    run_id = f"bench-{time.perf_counter_ns()}"
    folder = crew.settings.data_dir / "runs" / run_id
    crew.store.create_run(run_id, TASK, "delivery", folder, {})
    crew.workflow("delivery").graph.invoke(
        {"run_id": run_id, "folder": str(folder), "task": TASK, "generation": 0},
        {"configurable": {"thread_id": run_id}}, durability="exit")


def timed(run: Any, runs: int) -> list[float]:
    run()  # warm-up: imports, schema builds, first SQLite pages
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1e3)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    bare = bare_graph()
    with tempfile.TemporaryDirectory() as folder:
        crew = hybridcrew_crew(Path(folder))

        def crew_run() -> None:
            outcome = crew.start(TASK)
            if outcome.status != "finished":
                raise SystemExit(f"benchmark run did not finish: {outcome.error}")

        bare_ms = statistics.median(timed(lambda: bare.invoke({"task": TASK, "results": []}),
                                          args.runs))
        crew_ms = statistics.median(timed(crew_run, args.runs))
        undurable_ms = statistics.median(timed(lambda: run_without_step_checkpoints(crew),
                                               args.runs))
    per_node = (crew_ms - bare_ms) / len(NODES)
    durability = (crew_ms - undurable_ms) / len(NODES)
    print(f"machine: {describe()}")
    print(f"runs: {args.runs} each, median wall time per run of {len(NODES)} agent nodes")
    print(f"bare LangGraph:  {bare_ms:8.2f} ms  ({bare_ms / len(NODES):.2f} ms/node)")
    print(f"hybridcrew:      {crew_ms:8.2f} ms  ({crew_ms / len(NODES):.2f} ms/node)")
    print(f"added per node:  {per_node:8.2f} ms  (ratio {crew_ms / bare_ms:.1f}x)")
    print(f"  of which per-step checkpoints (LangGraph + SQLite): {durability:.2f} ms/node; "
          f"routing, validation, accounting and events: {per_node - durability:.2f} ms/node")
    print(f"target <= 2 ms added per node: {'met' if per_node <= 2.0 else 'NOT met'}")


if __name__ == "__main__":
    main()
