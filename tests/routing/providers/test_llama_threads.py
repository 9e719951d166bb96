"""How many threads the embedded llama.cpp model generates on: one per physical core."""

from __future__ import annotations

import os
from pathlib import Path

from hybridcrew.routing.providers.llama_chat import physical_cores


def _topology(root: Path, siblings: dict[int, str]) -> Path:
    for cpu, listed in siblings.items():
        folder = root / f"cpu{cpu}" / "topology"
        folder.mkdir(parents=True)
        (folder / "thread_siblings_list").write_text(listed + "\n")
    return root


def _allowed() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def test_every_core_counts_once_without_hyperthreads(tmp_path: Path) -> None:
    cpus = _allowed()
    root = _topology(tmp_path, {cpu: str(cpu) for cpu in cpus})
    assert physical_cores(root) == len(cpus)


def test_hyperthread_siblings_share_one_core(tmp_path: Path) -> None:
    cpus = _allowed()
    pairs = {cpu: f"{cpu - cpu % 2}-{cpu - cpu % 2 + 1}" for cpu in cpus}
    root = _topology(tmp_path, pairs)
    assert physical_cores(root) == len(set(pairs.values()))


def test_without_a_cpu_topology_the_library_default_stays(tmp_path: Path) -> None:
    assert physical_cores(tmp_path / "missing") is None
