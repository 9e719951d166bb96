"""Runs on git repositories: the run's worktree and branch, context, edits, sandboxed checks.

:mod:`.workspace` implements :class:`hybridcrew.graphs.workspace.Workspace` on a git worktree
under the data dir (the user's checkout and branch are never touched); :mod:`.context` builds
the repo map and retrieves relevant files; :mod:`.checks` finds and reads the repository's
checks; :mod:`.sandbox` runs them isolated.
"""
