"""The sandbox repository checks run in: no network, only the worktree writable, limits."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hybridcrew.platform.repos.sandbox import BWRAP, Limits, Outcome, bwrap_path, run_sandboxed

pytestmark = pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap is not installed")
LIMITS = Limits(wall_s=5, cpu_s=3, output_kb=8)


@pytest.fixture
def places(tmp_path: Path) -> tuple[Path, Path]:
    """A data dir holding a secret, and a worktree inside it (as runs have)."""
    data = tmp_path / "data"
    (data / "worktrees" / "run").mkdir(parents=True)
    (data / "store.sqlite").write_text("private")
    return data, data / "worktrees" / "run"


def _run(command: str, places: tuple[Path, Path], limits: Limits = LIMITS) -> Outcome:
    data, worktree = places
    outcome = run_sandboxed(command, worktree, [data, Path.home()], limits)
    assert outcome.isolation == BWRAP
    return outcome


def test_the_worktree_is_writable_and_python_is_the_running_one(places: tuple[Path, Path]
                                                                 ) -> None:
    done = _run("echo built > out.txt && cat out.txt && python -c "
                "'import sys; print(sys.executable)'", places)
    assert done.exit_code == 0
    assert done.output.splitlines() == ["built", sys.executable]
    assert (places[1] / "out.txt").read_text() == "built\n"


def test_no_network_not_even_loopback(places: tuple[Path, Path]) -> None:
    done = _run("python -c 'import socket; socket.create_connection((\"127.0.0.1\", 22), "
                "timeout=2)'", places)
    assert done.exit_code != 0
    assert "ConnectionRefusedError" in done.output or "Network is unreachable" in done.output


def test_writes_outside_the_worktree_fail_or_vanish(places: tuple[Path, Path],
                                                    tmp_path: Path) -> None:
    target = tmp_path / "escaped.txt"
    done = _run(f"echo x > {target}; echo x > /etc/hybridcrew-escape; "
                f"echo x > {places[0]}/planted; echo done", places)
    assert "Read-only file system" in done.output
    assert not target.exists()
    assert not Path("/etc/hybridcrew-escape").exists()
    assert not (places[0] / "planted").exists()


def test_the_data_dir_and_home_are_hidden(places: tuple[Path, Path]) -> None:
    done = _run(f"cat {places[0]}/store.sqlite", places)
    assert "private" not in done.output
    assert "No such file" in done.output


def test_a_check_that_runs_forever_is_stopped(places: tuple[Path, Path]) -> None:
    assert _run("sleep 60", places, Limits(wall_s=1)).stopped == "timeout"
    assert _run("python -c 'while True: pass'", places, Limits(cpu_s=1)).stopped == "cpu time"


def test_flooding_output_is_cut_and_stopped(places: tuple[Path, Path]) -> None:
    done = _run("yes", places, Limits(output_kb=4))
    assert done.stopped == "output"
    assert len(done.output) < 5000
    assert "bytes cut" in done.output


def test_a_check_that_cannot_run_says_so(places: tuple[Path, Path]) -> None:
    assert _run("no-such-test-runner --all", places).stopped == "command not found"
