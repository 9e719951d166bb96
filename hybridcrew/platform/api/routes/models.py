"""``/v1/models`` and ``/v1/route/explain``: the catalog, live availability, and what-if routing."""

from __future__ import annotations

from fastapi import APIRouter

from hybridcrew.errors import ConfigError
from hybridcrew.platform.api.deps import ServiceDep, Viewer
from hybridcrew.platform.api.schemas import ErrorBody, ExplainRequest
from hybridcrew.platform.inventory import Inventory, models_inventory
from hybridcrew.platform.service import RunService
from hybridcrew.routing.decision import DecisionRecord
from hybridcrew.routing.router import RouteRequest
from hybridcrew.routing.signals import Signals
from hybridcrew.routing.whatif import apply_overrides

router = APIRouter(prefix="/v1", tags=["models"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}})


@router.get("/models", response_model=Inventory)
def list_models(_: Viewer, service: ServiceDep) -> Inventory:
    """Every configured model with live availability and prices, and GPU headroom."""
    return models_inventory(service.config, service.crew.runtime.signals.current)


@router.post("/route/explain", response_model=DecisionRecord,
             responses={422: {"model": ErrorBody}})
def explain_route(body: ExplainRequest, _: Viewer, service: ServiceDep) -> DecisionRecord:
    """Which model would run this step and why: the decision record (nothing is called)."""
    request = RouteRequest.for_prompt(body.agent, body.prompt, step=body.step,
                                      labels=tuple(body.labels))
    return service.crew.runtime.decide(request, _what_if(service, body.signals)).to_dict()


def _what_if(service: RunService, overrides: list[str]) -> Signals | None:
    """The live signals with ``overrides`` applied (None: none given, the live ones)."""
    if not overrides:
        return None
    runtime = service.crew.runtime
    signals = runtime.signals.current
    for i, override in enumerate(overrides):
        try:
            signals = apply_overrides(signals, [override], service.config.catalog,
                                      runtime.endpoints)
        except ConfigError as exc:  # named by position: the override itself is not echoed
            problem = exc.problems[0]
            raise ConfigError.single("explain", f"signals[{i}]", problem.problem,
                                     problem.fix) from None
    return signals
