"""Real processes for tests: start one, wait until it answers, stop or kill it.

Every server a test starts (a gateway, llama.cpp, Redis, Prometheus) goes through
:func:`running` or :func:`hybridcrew`, and every wait through :func:`until`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx


def hybridcrew(config: Path, *args: str, env: dict[str, str] | None = None,
               log: Path | None = None) -> subprocess.Popen[str]:
    """``python -m hybridcrew --config CONFIG ARGS`` with this test's environment (+ ``env``).

    Output goes to ``log`` (appended: a restarted process keeps one log) or is discarded.
    """
    out = log.open("a") if log is not None else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-m", "hybridcrew", "--config", str(config), *args],
                            env={**os.environ, **(env or {})}, stdout=out,
                            stderr=subprocess.STDOUT, text=True)


def until(check: Callable[[], bool], what: str, timeout: float = 60,
          process: subprocess.Popen[Any] | None = None) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` (or the process that died)."""
    deadline = time.monotonic() + timeout
    while not check():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the process exited ({process.returncode}) before {what}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def answers(url: str) -> Callable[[], bool]:
    """A check: ``url`` answers 200."""
    def check() -> bool:
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False
    return check


@contextmanager
def running(args: list[str], ready: Callable[[], bool], what: str, log: Path | None = None,
            timeout: float = 60, env: dict[str, str] | None = None
            ) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``args`` (output to ``log``: a full pipe would stall it), yield once ``ready``.

    ``env`` is added to this test's environment. Fails with the end of the log if the process
    exits or does not get ready in time; on exit it is terminated (killed if it hangs).
    """
    with contextlib.ExitStack() as stack:
        if log is None:
            log = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "process.log"
        with log.open("ab") as out:
            process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                       env={**os.environ, **(env or {})})
        try:
            try:
                until(ready, f"{what} to get ready", timeout=timeout, process=process)
            except AssertionError as exc:
                raise RuntimeError(f"{exc}; its log ends:\n"
                                   + log.read_text(errors="replace")[-2000:]) from None
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def serve(config: Path, port: int, *, env: dict[str, str] | None = None,
          log: Path | None = None) -> subprocess.Popen[str]:
    """A gateway process on ``port``, returned once it answers ``/healthz``."""
    process = hybridcrew(config, "serve", "--port", str(port), env=env, log=log)
    until(answers(f"http://127.0.0.1:{port}/healthz"), "the gateway to answer", process=process)
    return process


def kill(process: subprocess.Popen[str], sig: int = signal.SIGKILL) -> int:
    """Send ``sig`` and reap the process; returns its exit status."""
    process.send_signal(sig)
    return process.wait(timeout=60)
