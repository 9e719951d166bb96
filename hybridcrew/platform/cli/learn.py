"""``hybridcrew route train``, ``route eval`` and ``route status``: the learned router."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from hybridcrew.errors import ConfigError
from hybridcrew.platform.cli.app import console, friendly_errors, settings_and_config
from hybridcrew.platform.cli.route import route_app
from hybridcrew.platform.learning import (
    RETRAIN_AFTER,
    compare,
    learned_path,
    plot,
    train,
    train_with_judged,
)
from hybridcrew.platform.store import open_store
from hybridcrew.routing.learning.estimator import PRIOR_OUTCOMES, LearnedEstimator
from hybridcrew.routing.learning.outcomes import read_outcomes

OutcomesArgument = Annotated[Path, typer.Argument(
    help='JSON Lines: {"prompt", "agent", "model", "success"[, "step"]} per line')]


@route_app.command("train")
@friendly_errors
def train_command(
    outcomes: OutcomesArgument,
    agent: Annotated[str | None, typer.Option(help="the agent of lines that name none")] = None,
    out: Annotated[Path | None, typer.Option(
        help="write the learned state here, from this file alone (default: under the data dir, "
             "with the steps runs judged, used by every process)")] = None,
) -> None:
    """Learn per model and agent which steps succeed, from recorded outcomes."""
    settings, config = settings_and_config()
    found = read_outcomes(outcomes, models=config.catalog, agents=config.agents, agent=agent)
    target = out or learned_path(settings.data_dir)
    if out is not None:
        learned = train(found, target)
        learned.save(target)
    else:
        learned = train_with_judged(found, open_store(settings), settings.data_dir)
    console.print(f"learned router version {learned.version} from {len(found)} outcomes "
                  f"and {learned.live} judged steps of runs", highlight=False)
    table = Table("model", "agent", "outcomes", "success rate")
    for (model, who), pair in sorted(learned.pairs.items()):
        table.add_row(model, who, str(pair.outcomes), f"{pair.success_rate:.0%}")
    console.print(table)
    console.print(f"written: {target.with_suffix('.npz')}", highlight=False)


@route_app.command("eval")
@friendly_errors
def eval_command(
    outcomes: OutcomesArgument,
    agent: Annotated[str, typer.Option(help="the agent the outcomes are for")],
    local: Annotated[str, typer.Option(help="the local model of the comparison")],
    cloud: Annotated[str, typer.Option(help="the cloud model of the comparison")],
    learned: Annotated[Path | None, typer.Option(help="learned state to evaluate "
                                                      "(default: the data dir's)")] = None,
    plot_to: Annotated[Path | None, typer.Option("--plot", help="write the curves as PNG")
                       ] = None,
) -> None:
    """Score the router's choice of which prompts need the cloud: APGR, CPT, local share."""
    settings, config = settings_and_config()
    for name, model in (("--local", local), ("--cloud", cloud)):
        if model not in config.catalog:
            raise ConfigError.single(name, "", "not a configured model",
                                     "use one of: " + ", ".join(sorted(config.catalog)))
    found = read_outcomes(outcomes, models=config.catalog, agents=config.agents, agent=agent)
    path = learned or learned_path(settings.data_dir)
    estimator = LearnedEstimator.load(path) if path.with_suffix(".json").is_file() else None
    result = compare(found, agent=agent, local=local, cloud=cloud, config=config,
                     learned=estimator)
    console.print(f"{result.prompts} prompts · {result.method}", highlight=False)
    table = Table("ranking", "APGR", "CPT(50%)", "CPT(80%)", "local share at 95%")
    for label, row in (("router", result.router), ("random", result.random),
                       ("oracle", result.oracle)):
        table.add_row(label, f"{row.apgr:.3f}", f"{row.cpt50:.0%}", f"{row.cpt80:.0%}",
                      f"{row.local_at_95:.0%}")
    console.print(table)
    if result.calibration_error is not None:
        console.print(f"calibration error (local estimates): {result.calibration_error:.3f}")
    targets = Table("quality_target", "local share", "quality (of cloud-only)",
                    title="what each routing.quality_target gives on these prompts",
                    title_justify="left")
    for point in result.targets:
        targets.add_row(f"{point.target:.2f}", f"{point.local_share:.0%}",
                        f"{point.quality:.1%}")
    console.print(targets)
    if plot_to is not None:
        plot(result, plot_to)
        console.print(f"plot: {plot_to}", highlight=False)


@route_app.command("status")
@friendly_errors
def status_command() -> None:
    """What the router has learned: outcomes per model and agent, and the shift from priors."""
    settings, config = settings_and_config()
    path = learned_path(settings.data_dir)
    judged = open_store(settings).judged_total()
    if not path.with_suffix(".json").is_file():
        console.print(f"nothing learned yet: the router uses the configured priors. Runs have "
                      f"judged {judged} steps; it learns from them after {RETRAIN_AFTER} "
                      "(or train with `hybridcrew route train OUTCOMES.jsonl`)", highlight=False)
        return
    learned = LearnedEstimator.load(path)
    console.print(f"learned router version {learned.version}: imported outcomes and "
                  f"{learned.live} judged steps of runs ({judged - learned.live} judged since; "
                  f"it trains again after {RETRAIN_AFTER})", highlight=False)
    table = Table("model", "agent", "outcomes", "prior", "observed", "weight of learning")
    for (model, agent), pair in sorted(learned.pairs.items()):
        prior = config.catalog[model].spec.prior_for(agent) if model in config.catalog else None
        table.add_row(model, agent, str(pair.outcomes),
                      "" if prior is None else f"{prior:.2f}", f"{pair.success_rate:.2f}",
                      f"{pair.outcomes / (pair.outcomes + PRIOR_OUTCOMES):.0%}")
    console.print(table)
