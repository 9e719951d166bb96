"""``/v1/agents``: the crew's agents, and changing which models serve one at runtime."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from hybridcrew.agents.spec import AgentSpec, Assignment
from hybridcrew.platform.api.deps import Admin, ServiceDep, Viewer
from hybridcrew.platform.api.errors import NotFound
from hybridcrew.platform.api.schemas import AgentView, ErrorBody
from hybridcrew.routing.config import with_assignments

router = APIRouter(prefix="/v1/agents", tags=["agents"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}})


def _view(name: str, agent: AgentSpec, overridden: bool) -> AgentView:
    return AgentView(name=name, role=agent.role, model=agent.model, candidates=agent.candidates,
                     fallbacks=agent.fallbacks, privacy=agent.privacy.label,
                     overridden=overridden)


@router.get("", response_model=list[AgentView])
def list_agents(_: Viewer, service: ServiceDep) -> list[AgentView]:
    """Every agent of the configuration, with the assignment runs started now would use."""
    overrides = service.store.assignments()
    config = with_assignments(service.config, overrides, "assignments")
    return [_view(name, agent, name in overrides)
            for name, agent in config.agents.items()]


@router.put("/{name}", response_model=AgentView,
            responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody}})
def assign_agent(name: Annotated[str, Path(max_length=100)], body: Assignment, _: Admin,
                 service: ServiceDep) -> AgentView:
    """Change the models that serve an agent, for runs started from now on.

    Checked like hybridcrew.yaml (the same messages), then persisted in the store.
    """
    if name not in service.config.agents:
        raise NotFound(f"no agent '{name}'; GET /v1/agents lists them")
    assignment = body.model_dump()
    checked = with_assignments(service.config, {name: assignment}, "assignment")
    service.store.set_assignment(name, assignment)
    return _view(name, checked.agents[name], True)
