"""``/ui/agents``, ``/ui/models``, ``/ui/routing``: the crew's assignments, capacity, routing.

The agents page changes an assignment through the REST API's own handler (``PUT
/v1/agents/{name}``), so the console checks and words problems exactly as the API does.
"""

from __future__ import annotations

from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from hybridcrew.agents.spec import Assignment
from hybridcrew.errors import ConfigError
from hybridcrew.platform.api.console.render import back, needs, page
from hybridcrew.platform.api.console.session import PREFIX, ConsoleCaller, CsrfChecked
from hybridcrew.platform.api.deps import ServiceDep
from hybridcrew.platform.api.errors import problem_lines, redactor_of
from hybridcrew.platform.api.routes import agents as agents_api
from hybridcrew.platform.api.routes import models as models_api
from hybridcrew.platform.api.schemas import ExplainRequest
from hybridcrew.platform.inventory import models_inventory
from hybridcrew.platform.service import RunService

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Names = Annotated[str, Form(max_length=2000)]


@router.get("/agents")
async def agents_page(request: Request, caller: ConsoleCaller, service: ServiceDep,
                      saved: str = "") -> HTMLResponse:
    """Each agent's assignment; admins get a form to change it."""
    listed = await to_thread.run_sync(agents_api.list_agents, caller, service)
    known = saved if saved in service.config.agents else ""
    return page(request, "agents.html", caller, agents=listed, saved=known)


@router.post("/agents/{name}", dependencies=[CsrfChecked])
async def assign(request: Request, name: str, caller: ConsoleCaller, service: ServiceDep, *,
                 model: Annotated[str, Form(max_length=200)], candidates: Names = "",
                 fallbacks: Names = "") -> Response:
    """Save an assignment (admins); the API's problems are shown next to the form."""
    needs(caller, "admin")
    try:
        body = Assignment(model=model.strip(), candidates=_names(candidates),
                          fallbacks=_names(fallbacks))
        await to_thread.run_sync(agents_api.assign_agent, name, body, caller, service)
    except (ConfigError, ValidationError) as exc:
        listed = await to_thread.run_sync(agents_api.list_agents, caller, service)
        return page(request, "agents.html", caller, status_code=422, agents=listed,
                    problems={"agent": name, "lines": _problems(exc, request)})
    return back(f"{PREFIX}/agents?saved={name}")


@router.get("/models")
async def models_page(request: Request, caller: ConsoleCaller, service: ServiceDep
                      ) -> HTMLResponse:
    """Models: availability, clearance, prices, slots, queues, breakers; GPU headroom."""
    return page(request, "models.html", caller, **_capacity(service))


@router.get("/routing")
async def routing_page(request: Request, caller: ConsoleCaller, service: ServiceDep
                       ) -> HTMLResponse:
    """The explain form."""
    return page(request, "routing.html", caller, agents=list(service.config.agents),
                agent="", step="default", prompt="", signals="", d=None)


@router.post("/routing", dependencies=[CsrfChecked])
async def explain(request: Request, caller: ConsoleCaller, service: ServiceDep, *,
                  agent: Annotated[str, Form(max_length=200)],
                  prompt: Annotated[str, Form(max_length=100_000)],
                  step: Annotated[str, Form(max_length=50)] = "default",
                  signals: Annotated[str, Form(max_length=2000)] = "") -> HTMLResponse:
    """Which model would take the step and why, live or what-if (nothing is called)."""
    names = list(service.config.agents)
    form: dict[str, Any] = {"agents": names, "agent": agent, "step": step, "prompt": prompt,
                            "signals": signals, "d": None}
    if agent not in names:
        return page(request, "routing.html", caller, status_code=422, **form,
                    error="agent: not one of this configuration's agents")
    overrides = [line.strip() for line in signals.splitlines() if line.strip()]
    try:
        body = ExplainRequest(agent=agent, prompt=prompt, step=step or "default",
                              signals=overrides)
        decision = await to_thread.run_sync(models_api.explain_route, body, caller, service)
    except (ConfigError, ValidationError) as exc:
        return page(request, "routing.html", caller, status_code=422, **form,
                    error="; ".join(_problems(exc, request)))
    return page(request, "routing.html", caller, **{**form, "d": decision})


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def _problems(exc: ConfigError | ValidationError, request: Request) -> list[str]:
    """The API's words for what is wrong: field, problem, fix (never the submitted value)."""
    return problem_lines(redactor_of(request), exc)


def _capacity(service: RunService) -> dict[str, Any]:
    runtime = service.crew.runtime
    inventory = models_inventory(service.config, runtime.signals.current)
    gate, breakers = runtime.gate, runtime.breakers
    rows = []
    for row in inventory["models"]:
        endpoint = runtime.endpoints.get(row["name"], "")
        rows.append({**row, "slots": gate.slots.get(endpoint),
                     "in_use": gate.in_use.get(endpoint, 0),
                     "waiting": gate.waiting.get(endpoint, 0),
                     "breaker": breakers.state(endpoint).value if endpoint else "-"})
    return {"models": rows, "gpu": inventory["gpu"]}
