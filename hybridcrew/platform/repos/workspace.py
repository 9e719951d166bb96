"""A run's own git worktree and branch: where its edits land and its checks run.

The worktree is created under the data dir on branch ``hybridcrew/<run-id>``, from the commit
the user's checkout is on; the user's working tree and current branch are never touched. Each
step's edits become one commit whose subject names the step, so a resumed run finds what it
already applied and never applies it twice; uncommitted leftovers of a crash are discarded
first. The baseline (checks before any change) is kept beside the worktree.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hybridcrew.agents.repos import RepoSpec
from hybridcrew.errors import ConfigError
from hybridcrew.graphs.workspace import CheckRecord, Edits, RepoContext, WorkspaceReport
from hybridcrew.platform.memory.vector_cache import VectorCache
from hybridcrew.platform.repos.checks import detect_test_command, read_counts
from hybridcrew.platform.repos.context import RepoIndex, denied
from hybridcrew.platform.repos.git import IDENTITY, git, git_ok
from hybridcrew.platform.repos.sandbox import Limits, run_sandboxed
from hybridcrew.routing.privacy.default import scrub

BRANCH_PREFIX = "hybridcrew/"
COMMIT_PREFIX = "hybridcrew: "


class EditRejected(ValueError):
    """An edit that cannot be applied; the message is the exact reason, for its author."""


@dataclass(frozen=True)
class Places:
    """Where a run's workspace lives."""

    worktree: Path
    meta: Path
    hidden: tuple[Path, ...]
    """Paths a check may not see (the data dir, the user's home)."""


def open_checkout(spec: RepoSpec, source: str, data_dir: Path | None = None) -> Path:
    """The top folder of the git checkout ``spec`` names, or a :class:`ConfigError`.

    With ``data_dir``: refused when the data dir is inside the checkout (the run's worktree
    would be too).
    """
    path = Path(spec.path).expanduser()
    try:
        top = Path(git(path, "rev-parse", "--show-toplevel").strip()).resolve()
        git(path, "rev-parse", "--verify", "HEAD")
    except (subprocess.CalledProcessError, OSError):
        raise ConfigError.single(source, "repo", "not a git checkout with at least one commit",
                                 "give the path of a git repository (run `git init` and "
                                 "commit first)") from None
    if data_dir is not None and data_dir.resolve().is_relative_to(top):
        raise ConfigError.single(source, "repo", "the data dir is inside the repository, so "
                                 "the run's worktree would be too",
                                 "run hybridcrew from another folder, or set "
                                 "HYBRIDCREW_DATA_DIR to a folder outside the repository")
    return top


class GitWorkspace:
    """:class:`hybridcrew.graphs.workspace.Workspace` on a git worktree."""

    def __init__(self, run_id: str, spec: RepoSpec, places: Places,
                 vectors: VectorCache | None = None, *, require_isolation: bool = False) -> None:
        self.run_id, self.spec, self.places = run_id, spec, places
        self.branch = BRANCH_PREFIX + run_id
        self._vectors = vectors
        self._require_isolation = require_isolation
        self._lock = threading.Lock()
        self._index: tuple[str, RepoIndex] | None = None
        self._meta: dict[str, Any] = {}

    # -- life cycle --------------------------------------------------------------------------

    def prepare(self) -> None:
        """Create the worktree and record the baseline, unless a previous executor did.

        The base commit is written before the baseline runs: an executor that dies in between
        leaves a worktree whose start is known, and the next one only runs the baseline.
        """
        with self._lock:
            meta = self.places.meta
            if meta.is_file():
                self._meta = json.loads(meta.read_text("utf-8"))
            else:
                checkout = open_checkout(self.spec, "repo", self.places.worktree.parent)
                base = git(checkout, "rev-parse", "HEAD").strip()
                wt = self.places.worktree
                if not (wt / ".git").exists():
                    wt.parent.mkdir(parents=True, exist_ok=True)
                    if git_ok(checkout, "rev-parse", "--verify", f"refs/heads/{self.branch}"):
                        git(checkout, "worktree", "add", str(wt), self.branch)
                    else:
                        git(checkout, "worktree", "add", "-b", self.branch, str(wt), base)
                self._meta = {"base": base, "checkout": str(checkout)}
                meta.write_text(json.dumps(self._meta), "utf-8")
            if "baseline" not in self._meta:  # no step has run yet: the branch is at its base
                self._meta["baseline"] = self._run_checks()[1]
                meta.write_text(json.dumps(self._meta), "utf-8")

    @property
    def base(self) -> str:
        """The commit the branch started from."""
        return str(self._meta["base"])

    # -- what steps see ------------------------------------------------------------------------

    def context(self, query: str, limit: int) -> RepoContext:
        """The repo map and the files most relevant to ``query`` (as the branch has them)."""
        with self._lock:
            head = git(self.places.worktree, "rev-parse", "HEAD").strip()
            if self._index is None or self._index[0] != head:
                self._index = (head, RepoIndex(self.places.worktree, self.spec.deny,
                                               self._vectors))
            return self._index[1].context(query, limit)

    def diff(self, limit: int) -> str:
        """The branch's changes since its base."""
        text = git(self.places.worktree, "diff", self.base, "HEAD")
        return text if len(text) <= limit else text[:limit] + "\n[... diff cut ...]\n"

    # -- what steps change ---------------------------------------------------------------------

    def apply(self, step_key: str, edits: Edits) -> str | None:
        """One commit for the step's edits, or the exact reason none was made."""
        wt = self.places.worktree
        with self._lock:
            if self._committed(step_key):
                return None  # applied before a crash: the branch already has it
            git(wt, "reset", "--quiet", "--hard", "HEAD")
            git(wt, "clean", "--quiet", "-fd")
            try:
                changed = self._edited(edits)
            except EditRejected as exc:
                return str(exc)
            for path, text in changed.items():
                target = wt / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, "utf-8")
            git(wt, "add", "--all", "--", *changed)
            git(wt, *IDENTITY, "commit", "--quiet", "--no-verify", "-m",
                 f"{COMMIT_PREFIX}{step_key}", "-m", edits.summary)
            return None

    def _committed(self, step_key: str) -> bool:
        subjects = git(self.places.worktree, "log", "--format=%s", f"{self.base}..HEAD")
        return f"{COMMIT_PREFIX}{step_key}" in subjects.splitlines()

    def _edited(self, edits: Edits) -> dict[str, str]:
        """The new text of every file the edits touch (nothing written yet)."""
        out: dict[str, str] = {}
        for number, edit in enumerate(edits.edits, 1):
            path = self._checked_path(edit.path, number)
            target = self.places.worktree / path
            current = out.get(path)
            if current is None and target.is_file():
                current = target.read_text("utf-8", "replace")
            if not edit.search:
                if current is not None:
                    raise EditRejected(f"edit {number}: {path} exists; to change it, give the "
                                       "exact text to replace in search")
                out[path] = edit.replace
                continue
            if current is None:
                raise EditRejected(f"edit {number}: {path} does not exist; to create it, "
                                   "leave search empty")
            found = current.count(edit.search)
            if found != 1:
                where = "does not occur" if found == 0 else f"occurs {found} times"
                raise EditRejected(f"edit {number}: the search text {where} in {path}; copy "
                                   "it exactly from the file, with enough lines to be unique")
            out[path] = current.replace(edit.search, edit.replace)
        if all((self.places.worktree / p).is_file() and
               (self.places.worktree / p).read_text("utf-8", "replace") == t
               for p, t in out.items()):
            raise EditRejected("the edits change nothing")
        return out

    def _checked_path(self, raw: str, number: int) -> str:
        path = posixpath.normpath(raw.strip().replace("\\", "/")).removeprefix("./")
        if path.startswith(("/", "../")) or path in ("..", ".") or ":" in path.split("/")[0]:
            raise EditRejected(f"edit {number}: {raw!r} is not a path inside the repository")
        worktree = self.places.worktree.resolve()
        if not (worktree / path).resolve().is_relative_to(worktree) or any(
                (worktree / part).is_symlink() for part in _prefixes(path)):
            raise EditRejected(f"edit {number}: {path} goes through a symbolic link; edit the "
                               "file it points to instead")
        if denied(path, self.spec.deny):
            raise EditRejected(f"edit {number}: {path} is on the deny list; it may not be "
                               "read or changed")
        allowed = self.spec.allowed_paths
        if not any(posixpath.normpath(path) == a or _glob(path, a) for a in allowed):
            raise EditRejected(f"edit {number}: {path} is outside the allowed paths "
                               f"({', '.join(allowed)})")
        return path

    # -- checks ---------------------------------------------------------------------------------

    def check(self) -> CheckRecord:
        """The checks on the branch now, against the baseline."""
        with self._lock:
            command, now = self._run_checks()
        baseline = set(self._meta["baseline"]["failing"])
        new = [f for f in now["failing"] if f not in baseline]
        return CheckRecord(
            command=scrub(command), passed=now["passed"], failed=now["failed"],
            failing=new + [f for f in now["failing"] if f in baseline], new_failures=new,
            baseline_failed=sorted(baseline), ok=not new and now["stopped"] is None,
            stopped=now["stopped"], isolation=now["isolation"], output=now["output"])

    def _run_checks(self) -> tuple[str, dict[str, Any]]:
        """Every check command, in the sandbox; their counts added up."""
        wt = self.places.worktree
        test = self.spec.test_command or detect_test_command(wt)
        commands = [c for c in (test, *self.spec.checks) if c]
        limits = Limits(wall_s=self.spec.timeout_s, cpu_s=int(self.spec.timeout_s))
        passed = failed = 0
        failing: list[str] = []
        stopped, isolation, output = None, "", []
        for command in commands:
            outcome = run_sandboxed(command, wt, list(self.places.hidden), limits,
                                    require_isolation=self._require_isolation)
            counts = read_counts(command, outcome)
            passed, failed = passed + counts.passed, failed + counts.failed
            # Events and reports show the command: a credential written into it is not shown.
            label = scrub(command)
            failing += [label if name == command else name for name in counts.failing]
            stopped = stopped or (f"{label}: {outcome.stopped}" if outcome.stopped else None)
            isolation = outcome.isolation
            output.append(f"$ {label}\n{outcome.output[-4000:]}")
        return " && ".join(commands) or "(no checks found)", {
            "passed": passed, "failed": failed, "failing": failing, "stopped": stopped,
            "isolation": isolation or "none", "output": "\n".join(output)[-6000:]}

    # -- the end --------------------------------------------------------------------------------

    def finish(self, folder: str) -> WorkspaceReport:
        """``patch.diff`` in ``folder``, and the branch, head and diff stat for the report."""
        wt = self.places.worktree
        with self._lock:
            patch = git(wt, "diff", "--binary", self.base, "HEAD")
            head = git(wt, "rev-parse", "HEAD").strip()
            stat = git(wt, "diff", "--stat", self.base, "HEAD")
            numbers = git(wt, "diff", "--numstat", self.base, "HEAD").splitlines()
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / "patch.diff").write_text(patch, "utf-8")
        counted = [line.split("\t") for line in numbers if line.strip()]
        return WorkspaceReport(
            branch=self.branch, commit=head, base=self.base, files_changed=len(counted),
            insertions=sum(int(c[0]) for c in counted if c[0].isdigit()),
            deletions=sum(int(c[1]) for c in counted if c[1].isdigit()), diffstat=stat)


def _prefixes(path: str) -> list[str]:
    """``a/b/c`` → ``a``, ``a/b``, ``a/b/c``."""
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _glob(path: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, pattern + "/*")


class RepoWorkspaces:
    """The workspaces of the runs this process drives (one per run with a repository)."""

    def __init__(self, data_dir: Path, vectors: VectorCache | None = None, *,
                 require_isolation: bool = False) -> None:
        self.data_dir = data_dir.resolve()
        self.vectors = vectors
        self.require_isolation = require_isolation
        self._open: dict[str, GitWorkspace] = {}
        self._lock = threading.Lock()

    def open(self, run_id: str, spec: RepoSpec) -> GitWorkspace:
        """The run's workspace, created (worktree, branch, baseline) on first use."""
        with self._lock:
            workspace = self._open.get(run_id)
            if workspace is None:
                folder = self.data_dir / "worktrees"
                workspace = GitWorkspace(run_id, spec, Places(
                    worktree=folder / run_id, meta=folder / f"{run_id}.json",
                    hidden=(self.data_dir, Path.home())), self.vectors,
                    require_isolation=self.require_isolation)
                self._open[run_id] = workspace
        workspace.prepare()
        return workspace

    def for_run(self, run_id: str) -> GitWorkspace | None:
        """The run's workspace if it has been opened in this process."""
        return self._open.get(run_id)

    def close(self, run_id: str) -> None:
        """Forget a run's workspace (its worktree and branch stay, for `runs apply`)."""
        with self._lock:
            self._open.pop(run_id, None)


def apply_to_checkout(repo: RepoSpec, folder: Path, run_id: str) -> str:
    """Apply a finished run's ``patch.diff`` to the user's checkout; what changed, or why not.

    Raises :class:`ConfigError` when the patch does not apply (nothing is changed then).
    """
    checkout = open_checkout(repo, "runs apply")
    patch = (folder / "patch.diff").resolve()
    if not patch.is_file():
        raise ConfigError.single("runs apply", run_id, "the run has no patch.diff",
                                 "only a finished run on a repository has one; see "
                                 f"`hybridcrew runs show {run_id}`")
    if not patch.read_text("utf-8").strip():
        return "the run changed nothing"
    if not git_ok(checkout, "apply", "--check", str(patch)):
        raise ConfigError.single("runs apply", run_id, "the patch does not apply to the "
                                 "checkout as it is now", f"merge the branch "
                                 f"{BRANCH_PREFIX}{run_id} instead, or commit or stash your "
                                 "changes first")
    git(checkout, "apply", str(patch))
    return git(checkout, "apply", "--stat", str(patch))
