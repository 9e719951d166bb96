"""Run a repository's checks where they can do no harm.

With bubblewrap (``bwrap``): new network, PID, IPC and UTS namespaces (no network at all, not
even loopback), the whole file system read-only except the worktree and a private ``/tmp``,
the user's home and hybridcrew's data dir hidden behind empty directories, a clean
environment. Always: CPU-time, memory and file-size limits, a wall-clock timeout that kills
the whole process group, and output capped (first and last part kept).

Without bubblewrap only the limits apply (``isolation: "limits only"`` in every result, and
``HYBRIDCREW_SANDBOX=require`` refuses to run checks at all).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PRLIMIT = shutil.which("prlimit") or "prlimit"
TMP = Path("/tmp")  # noqa: S108 - inside the sandbox it is a private, empty tmpfs
BWRAP = "bubblewrap (no network, read-only system, worktree-only writes)"
LIMITS_ONLY = "limits only (bubblewrap not found: no network or file-system isolation)"


@dataclass(frozen=True)
class Limits:
    """What one command may use."""

    wall_s: float = 300.0
    cpu_s: int = 300
    memory_mb: int = 2048
    file_mb: int = 256
    output_kb: int = 64


@dataclass(frozen=True)
class Outcome:
    """How a sandboxed command ended."""

    exit_code: int | None
    output: str
    stopped: str | None
    """``timeout``, ``cpu``, ``memory``, ``output``: why the sandbox ended it, if it did."""
    isolation: str
    seconds: float


class SandboxUnavailable(RuntimeError):
    """Isolation was required and bubblewrap is not installed."""


def bwrap_path() -> str | None:
    """The bubblewrap binary, if installed."""
    return shutil.which("bwrap")


def run_sandboxed(command: str, worktree: Path, hidden: list[Path], limits: Limits,
                  *, require_isolation: bool = False) -> Outcome:
    """Run ``command`` (a shell line) in ``worktree``; ``hidden`` paths appear empty to it."""
    bwrap = bwrap_path()
    if bwrap is None and require_isolation:
        raise SandboxUnavailable("checks need bubblewrap (`apt-get install bubblewrap`), or "
                                 "set HYBRIDCREW_SANDBOX=auto to run them with limits only")
    # ``python`` in a check is the interpreter hybridcrew runs on, unless the command says.
    path = os.pathsep.join([str(Path(sys.executable).parent),
                            os.environ.get("PATH", "/usr/bin:/bin")])
    env = {"PATH": path, "HOME": "/tmp", "LANG": "C.UTF-8",  # noqa: S108
           "PYTHONDONTWRITEBYTECODE": "1", "CI": "true"}
    if bwrap is not None:
        args = [bwrap, "--unshare-all", "--die-with-parent", "--new-session",
                "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        args += _mounts(hidden, path)
        args += ["--bind", str(worktree), str(worktree), "--chdir", str(worktree),
                 "--clearenv", *[a for k, v in env.items() for a in ("--setenv", k, v)],
                 "--", "sh", "-c", command]
        isolation = BWRAP
    else:
        args, isolation = ["sh", "-c", command], LIMITS_ONLY
    return _run(args, worktree, env, limits, isolation)


def _mounts(hidden: list[Path], path: str) -> list[str]:
    """Empty folders over ``/tmp`` and the hidden ones; tools under them back, read-only.

    Applied outer folders first, so each mount shows through the ones above it: the data dir
    is hidden even inside a re-exposed tool folder, and the worktree (inside the data dir) is
    bound back last.
    """
    covered = [TMP, *sorted({p.resolve() for p in hidden if p.exists()})]
    mounts = [(folder, "--tmpfs") for folder in covered]
    mounts += [(tool, "--ro-bind") for tool in _tool_folders(path, covered)]
    mounts.sort(key=lambda m: (len(m[0].parts), m[1] != "--tmpfs"))
    args: list[str] = []
    for folder, kind in mounts:
        args += [kind, str(folder)] if kind == "--tmpfs" else [kind, str(folder), str(folder)]
    return args


def _tool_folders(path: str, covered: list[Path]) -> list[Path]:
    """The top folder, under a hidden one, of each ``PATH`` entry that lives there."""
    found: list[Path] = []
    for entry in path.split(os.pathsep):
        where = Path(entry).resolve() if entry else None
        for folder in covered:
            if where is not None and where != folder and where.is_relative_to(folder):
                top = folder / where.relative_to(folder).parts[0]
                if top not in found and top.exists():
                    found.append(top)
    return found


def _run(args: list[str], cwd: Path, env: dict[str, str], limits: Limits, isolation: str
         ) -> Outcome:
    # util-linux prlimit sets the limits before exec; they are inherited by everything the
    # command starts (a preexec_fn would be unsafe in a threaded gateway).
    memory, size = limits.memory_mb * 1024 * 1024, limits.file_mb * 1024 * 1024
    limited = [PRLIMIT, f"--cpu={limits.cpu_s}:{limits.cpu_s + 1}", f"--as={memory}",
               f"--fsize={size}", "--", *args]
    started = time.monotonic()
    process = subprocess.Popen(limited, cwd=cwd, env=env,  # noqa: S603 - the operator's check
                               stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)
    reader = _Capped(process, limits.output_kb * 1024)
    reader.start()
    stopped = None
    try:
        process.wait(timeout=limits.wall_s)
    except subprocess.TimeoutExpired:
        stopped = "timeout"
        _kill(process)
    reader.join(timeout=10)
    if reader.overflowed and stopped is None:
        stopped = "output"
    code = process.returncode
    if stopped is None and code is not None:
        # A signal ends the command directly (negative) or its shell reports 128 + signal.
        number = -code if code < 0 else code - _SHELL_SIGNAL if code > _SHELL_SIGNAL else 0
        stopped = _LIMIT_SIGNALS.get(number) or _SHELL_ERRORS.get(code)
    return Outcome(code, reader.text(), stopped, isolation, time.monotonic() - started)


_LIMIT_SIGNALS: dict[int, str] = {signal.SIGXCPU: "cpu time", signal.SIGXFSZ: "file size"}
_SHELL_ERRORS = {126: "command not executable", 127: "command not found"}
"""The check could not run at all: not a result the crew can be judged by."""
_SHELL_SIGNAL = 128
"""A shell reports a command killed by signal N as exit status 128 + N."""


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


class _Capped(threading.Thread):
    """Drains a process's output, keeping its first and last ``limit // 2`` bytes.

    Far beyond the limit the process is killed: a check that floods its output is stopped.
    """

    def __init__(self, process: subprocess.Popen[bytes], limit: int) -> None:
        super().__init__(daemon=True)
        self.process, self.limit = process, limit
        self.head, self.tail = bytearray(), bytearray()
        self.total = 0
        self.overflowed = False

    def run(self) -> None:
        stream = self.process.stdout
        assert isinstance(stream, io.BufferedReader)  # stdout=PIPE, binary
        half = self.limit // 2
        while chunk := stream.read1(65536):
            self.total += len(chunk)
            room = half - len(self.head)
            if room > 0:
                self.head += chunk[:room]
            self.tail = (self.tail + chunk)[-half:]
            if self.total > self.limit * 64 and not self.overflowed:
                self.overflowed = True
                _kill(self.process)

    def text(self) -> str:
        """What was kept, with a marker where output was cut."""
        if self.total <= len(self.head) + len(self.tail):
            rest = self.total - len(self.head)
            kept = bytes(self.head) + (bytes(self.tail[-rest:]) if rest > 0 else b"")
            return kept.decode("utf-8", "replace")
        cut = self.total - len(self.head) - len(self.tail)
        return (self.head.decode("utf-8", "replace") + f"\n[... {cut} bytes cut ...]\n"
                + self.tail.decode("utf-8", "replace"))
