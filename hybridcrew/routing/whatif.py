"""Signal overrides for what-if analysis: ``anthropic=down``, ``gpu_free_gb=2.5``, ...

Used by ``hybridcrew route explain --signal`` (and the gateway's explain endpoint) to ask "what
would the router do if..." without changing anything live.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from hybridcrew.errors import ConfigError
from hybridcrew.routing.catalog import CatalogEntry
from hybridcrew.routing.gpu import GpuState
from hybridcrew.routing.signals import Health, Signals

SOURCE = "--signal"
_UP_DOWN = {"up": True, "down": False}
_NUMERIC_KEYS = ("gpu_free_gb", "budget_left_usd", "queue_depth")


def _fix(catalog: Mapping[str, CatalogEntry]) -> str:
    targets = sorted({*catalog, *(e.provider for e in catalog.values())})
    return ("use KEY=VALUE with KEY one of: " + ", ".join(targets) + " (=up|down), "
            "gpu_free_gb=<GiB>|unknown, gpu_loaded=<model,...>, budget_left_usd=<USD>, "
            "queue_depth[.<model|provider>]=<calls>")


def apply_overrides(signals: Signals, overrides: Iterable[str],
                    catalog: Mapping[str, CatalogEntry], endpoints: Mapping[str, str]) -> Signals:
    """Return ``signals`` with each ``KEY=VALUE`` override applied, or raise a clear error."""
    for raw in overrides:
        key, sep, value = raw.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise ConfigError.single(SOURCE, raw, "expected KEY=VALUE", _fix(catalog))
        signals = _apply_one(signals, key, value, raw=raw, catalog=catalog, endpoints=endpoints)
    return signals


def _apply_one(signals: Signals, key: str, value: str, *, raw: str,
               catalog: Mapping[str, CatalogEntry], endpoints: Mapping[str, str]) -> Signals:
    if key == "gpu_loaded":
        names = frozenset(v.strip() for v in value.split(",") if v.strip())
        models = frozenset(catalog[n].spec.model if n in catalog else n for n in names)
        return signals.replace(gpu=_gpu(signals, loaded=models, source="what-if"))
    if key == "gpu_free_gb" and value == "unknown":
        return signals.replace(gpu=_gpu(signals, free_gb=None, source="what-if"))
    base, _, target = key.partition(".")
    if base in _NUMERIC_KEYS and (not target or base == "queue_depth"):
        number = _number(value, raw, catalog)
        if base == "gpu_free_gb":
            return signals.replace(gpu=_gpu(signals, free_gb=number, source="what-if"))
        if base == "budget_left_usd":
            return signals.replace(budget_left_usd=number)
        chosen = _targets(target, catalog) if target else [n for n, e in catalog.items()
                                                           if e.is_local]
        if not chosen:
            raise ConfigError.single(SOURCE, raw, f"unknown model or provider '{target}'",
                                     _fix(catalog))
        depth = dict.fromkeys((endpoints[n] for n in chosen), int(number))
        return signals.replace(queue_depth={**signals.queue_depth, **depth})
    targets = _targets(key, catalog)
    if not targets:
        raise ConfigError.single(SOURCE, raw, f"unknown signal '{key}'", _fix(catalog))
    if value not in _UP_DOWN:
        raise ConfigError.single(SOURCE, raw, f"'{key}' takes up or down, not '{value}'",
                                 f"use {key}=up or {key}=down")
    health = dict(signals.health)
    for name in targets:
        health[name] = Health(_UP_DOWN[value], f"what-if: {key}={value}")
    return signals.replace(health=health)


def _targets(key: str, catalog: Mapping[str, CatalogEntry]) -> list[str]:
    return [n for n, e in catalog.items() if key in (n, e.provider)]


def _number(value: str, raw: str, catalog: Mapping[str, CatalogEntry]) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ConfigError.single(SOURCE, raw, f"'{value}' is not a number",
                                 _fix(catalog)) from None
    if number < 0:
        raise ConfigError.single(SOURCE, raw, "must not be negative", _fix(catalog))
    return number


def _gpu(signals: Signals, **changes: object) -> GpuState:
    return dataclasses.replace(signals.gpu, **changes)  # type: ignore[arg-type]
