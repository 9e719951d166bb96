"""Rich renderings of decision records and model inventories."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from hybridcrew.platform.doctor import Check
from hybridcrew.routing.decision import Decision
from hybridcrew.routing.runtime import RoutingRuntime
from hybridcrew.routing.signals import Signals


def decision_panel(decision: Decision) -> RenderableType:
    """A decision record for people: the choice, why, and what was ruled out."""
    if decision.blocked:
        title = Text(f"{decision.agent} · {decision.step} → BLOCKED", style="bold red")
    else:
        where = "local" if decision.location == "local" else "cloud"
        title = Text(f"{decision.agent} · {decision.step} → {decision.model} "
                     f"({decision.provider}, {where})", style="bold green")
    facts = Table.grid(padding=(0, 2))
    facts.add_row("sensitivity", decision.sensitivity.label)
    facts.add_row("reasons", Text(", ".join(decision.reasons)))
    if decision.estimated_success is not None:
        best = max((p for _, p in decision.estimates), default=decision.estimated_success)
        target = decision.quality_target
        facts.add_row("estimated success",
                      f"{decision.estimated_success:.2f} (needs {target * best:.2f}: "
                      f"{target:.0%} of the best candidate's {best:.2f})")
    facts.add_row("estimated cost", f"${decision.estimated_cost_usd:.6f} for "
                  f"~{decision.input_tokens} in + {decision.output_tokens} out tokens")
    if decision.fallbacks:
        facts.add_row("fallbacks", " → ".join(decision.fallbacks))
    if decision.estimates:
        facts.add_row("every candidate", ", ".join(f"{m} {p:.2f}" for m, p in decision.estimates))
    parts: list[RenderableType] = [facts]
    if decision.findings:
        found = Table("detector", "part", "span", "level", title="findings (values never shown)",
                      title_justify="left")
        for f in decision.findings:
            found.add_row(f.detector, f.part, f"{f.start}-{f.end}", f.sensitivity.label)
        parts.append(found)
    if decision.rejected:
        ruled = Table("model", "why", "detail", title="rejected", title_justify="left")
        for r in decision.rejected:
            ruled.add_row(r.model, r.why, Text(r.detail))
        parts.append(ruled)
    return Panel(Group(*parts), title=title, title_align="left")


def models_table(runtime: RoutingRuntime, signals: Signals) -> RenderableType:
    """Every catalog model with live availability, price, window, VRAM and clearance."""
    table = Table("model", "serves", "where", "status", "$/Mtok in·out", "context", "VRAM",
                  "clearance", title="models")
    notes: list[str] = []
    for name, entry in runtime.config.catalog.items():
        health, spec = signals.health_of(name), entry.spec
        label = {True: "up", False: "down", None: "unknown"}[health.up]
        if health.up is not True:
            notes.append(f"{name}: {health.detail}" + (f" → {health.fix}" if health.fix else ""))
        loaded = any(spec.model == m for m in signals.gpu.loaded)
        table.add_row(Text(name), Text(f"{entry.provider}:{spec.model}"), entry.location,
                      Text(label, style="green" if health.up else "red"),
                      f"{spec.price.input:g}·{spec.price.output:g}", f"{spec.context_window:,}",
                      f"{spec.vram_gb:g}G" + (" loaded" if loaded else ""), spec.clearance.label)
    if not notes:
        return table
    return Group(table, Text("\n".join(notes), style="dim"))


def gpu_line(signals: Signals) -> str:
    """One line about GPU headroom."""
    gpu = signals.gpu
    if gpu.free_gb is None:
        return "GPU: unknown (no NVML GPU found); local models run on CPU"
    return f"GPU: {gpu.free_gb:.1f} of {gpu.total_gb or 0:.1f} GiB free ({gpu.source})"


def checks_table(checks: list[Check]) -> RenderableType:
    """``hybridcrew doctor`` output."""
    table = Table("", "check", "result", "how to fix", title="hybridcrew doctor")
    for check in checks:
        mark = Text("✓", style="green") if check.ok else Text(
            "✗" if check.required else "·", style="red" if check.required else "yellow")
        fix = Text("" if check.ok else check.fix)
        table.add_row(mark, Text(check.name), Text(check.detail), fix)
    return table
