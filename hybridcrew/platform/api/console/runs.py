"""``/ui``: signing in, the tenant's runs, and a run's page (live over the REST event stream).

A run's page shows its steps with their decision records, verdicts, artifacts and patch, and
the answer buttons while it waits; ``console.js`` refreshes it as events arrive. Everything
works without JavaScript, a reload away.
"""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from hybridcrew.graphs.lifecycle import FINAL_STATUSES, RunStatus
from hybridcrew.platform.api.console.render import back, needs, page
from hybridcrew.platform.api.console.session import (
    PREFIX,
    ConsoleCaller,
    CsrfChecked,
    sign_in,
    sign_out,
)
from hybridcrew.platform.api.deps import ServiceDep
from hybridcrew.platform.api.routes import runs
from hybridcrew.platform.idempotency import KEY_PATTERN, IdempotencyKey, KeyReused
from hybridcrew.platform.keys import AuthError, Caller, authenticate
from hybridcrew.platform.service import RunService
from hybridcrew.platform.store import RunRow

router = APIRouter(prefix=PREFIX, include_in_schema=False)
PAGE = 50
MAX_PATCH_LINES = 2_000


# -- signing in -----------------------------------------------------------------------------------

@router.get("/login")
def login_form(request: Request) -> HTMLResponse:
    """The sign-in form."""
    return page(request, "login.html", None)


@router.post("/login", dependencies=[CsrfChecked])
async def login(request: Request, service: ServiceDep,
                key: Annotated[str, Form(max_length=200)]) -> Response:
    """Check the key; keep it in the session cookie."""
    try:
        await to_thread.run_sync(authenticate, service.store, key)
    except AuthError as exc:
        return page(request, "login.html", None, status_code=401, error=str(exc))
    response = back(PREFIX)
    sign_in(request, response, key)
    return response


@router.post("/logout", dependencies=[CsrfChecked])
def logout() -> Response:
    """Forget the session."""
    response = back(f"{PREFIX}/login")
    sign_out(response)
    return response


# -- runs -----------------------------------------------------------------------------------------

@router.get("")
async def runspage(request: Request, caller: ConsoleCaller, service: ServiceDep,
                    status: Annotated[RunStatus | None, Query()] = None,
                    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> HTMLResponse:
    """The tenant's runs, newest first."""
    rows = await service.store.aread(service.store.list_runs, tenant=caller.tenant,
                                     status=status, limit=PAGE + 1, offset=offset)
    return page(request, "runs.html", caller, runs=[_listed(r) for r in rows[:PAGE]],
                 submission=secrets.token_urlsafe(16),
                 statuses=[s.value for s in RunStatus], status=status.value if status else "",
                 next_offset=offset + PAGE if len(rows) > PAGE else None)


@router.post("/runs", dependencies=[CsrfChecked])
async def start_run(caller: ConsoleCaller, service: ServiceDep,
                    task: Annotated[str, Form(min_length=1, max_length=20_000)],
                    approval: Annotated[bool, Form()] = False,
                    submission: Annotated[str | None, Form(pattern=KEY_PATTERN)] = None
                    ) -> Response:
    """Start a run (operators), then show it.

    The form carries a token of its own: posted twice (a double click, a resent form), it
    starts one run. Changed and posted again with the same token, it starts another.
    """
    needs(caller, "operator")
    row = None
    if submission is not None:
        # A space cannot occur in an API client's key: the console's keys are its own.
        once = IdempotencyKey.of(caller.tenant, f"console {submission}",
                                 {"task": task, "approval": approval})
        with contextlib.suppress(KeyReused):
            row, _ = await service.asubmit_once(once, task, caller.tenant, gate=approval)
    if row is None:
        row = await service.asubmit(task, caller.tenant, gate=approval)
    return back(f"{PREFIX}/runs/{row.id}")


@router.get("/runs/{run_id}")
async def runpage(request: Request, run_id: str, caller: ConsoleCaller, service: ServiceDep
                   ) -> HTMLResponse:
    """A run: live steps, decisions, verdicts, artifacts, and its question if it waits."""
    context = await _run_context(service, caller, run_id)
    return page(request, "run.html", caller, **context)


@router.get("/runs/{run_id}/live")
async def run_live(request: Request, run_id: str, caller: ConsoleCaller, service: ServiceDep
                   ) -> HTMLResponse:
    """The live part of a run's page (what ``console.js`` swaps in as events arrive)."""
    context = await _run_context(service, caller, run_id)
    return page(request, "_live.html", caller, **context)


@router.post("/runs/{run_id}/answer", dependencies=[CsrfChecked])
async def answer(run_id: str, caller: ConsoleCaller, service: ServiceDep,
                 choice: Annotated[str, Form(pattern="^(approve|reject|local)$")]) -> Response:
    """Answer a waiting run (operators); back to its page."""
    needs(caller, "operator")
    await to_thread.run_sync(service.answer, run_id, caller.tenant, {"choice": choice})
    return back(f"{PREFIX}/runs/{run_id}")


def _listed(row: RunRow) -> dict[str, Any]:
    totals = row.summary.get("totals") or {}
    steps = totals.get("steps")
    return {"id": row.id, "task": row.task, "status": row.status.value,
            "created_at": row.created_at, "cost": totals.get("cost_usd"),
            "cloud": totals.get("all_cloud_cost_usd"),
            "local": f"{totals['local_steps']}/{steps}" if steps else "—"}


async def _run_context(service: RunService, caller: Caller, run_id: str) -> dict[str, Any]:
    store = service.store
    run = await store.aread(store.get_run, run_id, caller.tenant)
    detail = await runs.get_run(run, service)
    patch = await to_thread.run_sync(_patch, Path(run.folder))
    return {"run": run, "steps": detail.steps, "pending": detail.pending,
            "error_text": detail.error, "artifacts": detail.artifacts, "patch": patch,
            "totals": detail.report["totals"] if detail.report else None,
            "final": run.status in FINAL_STATUSES}


def _patch(folder: Path) -> list[dict[str, str]]:
    """A repository run's patch as lines marked added, removed or hunk headers."""
    path = folder / "patch.diff"
    if not path.is_file():
        return []
    lines = path.read_text("utf-8", errors="replace").splitlines()[:MAX_PATCH_LINES]
    kinds = {"+": "add", "-": "del", "@": "hunk"}
    return [{"kind": kinds.get(line[:1], "ctx"), "text": line} for line in lines]
