"""How many threads the embedded llama.cpp model generates on: one per physical core."""

from __future__ import annotations

import os
from pathlib import Path

from hybridcrew.routing.providers.llama_chat import usable_cores


def _cgroup(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text + "\n")
    return root


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
    assert usable_cores(root, tmp_path / "no-cgroup") == len(cpus)


def test_hyperthread_siblings_share_one_core(tmp_path: Path) -> None:
    cpus = _allowed()
    pairs = {cpu: f"{cpu - cpu % 2}-{cpu - cpu % 2 + 1}" for cpu in cpus}
    root = _topology(tmp_path, pairs)
    assert usable_cores(root, tmp_path / "no-cgroup") == len(set(pairs.values()))


def test_without_a_cpu_topology_the_library_default_stays(tmp_path: Path) -> None:
    assert usable_cores(tmp_path / "missing") is None


def test_a_container_s_cpu_quota_caps_the_threads(tmp_path: Path) -> None:
    cpus = _allowed()
    root = _topology(tmp_path / "cpus", {cpu: str(cpu) for cpu in cpus})
    half = _cgroup(tmp_path / "v2", {"cpu.max": "50000 100000"})
    assert usable_cores(root, half) == 1
    unlimited = _cgroup(tmp_path / "v2-max", {"cpu.max": "max 100000"})
    assert usable_cores(root, unlimited) == len(cpus)
    generous = _cgroup(tmp_path / "v1", {"cpu/cpu.cfs_quota_us": str(100_000 * (len(cpus) + 4)),
                                         "cpu/cpu.cfs_period_us": "100000"})
    assert usable_cores(root, generous) == len(cpus)
    v1_limited = _cgroup(tmp_path / "v1-one", {"cpu/cpu.cfs_quota_us": "150000",
                                               "cpu/cpu.cfs_period_us": "100000"})
    assert usable_cores(root, v1_limited) == min(2, len(cpus))
