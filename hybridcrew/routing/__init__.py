"""How a step is routed: to Claude or to a local model, by privacy, cost, budget, quality, GPU.

:mod:`~hybridcrew.routing.config` loads and checks ``hybridcrew.yaml``;
:mod:`~hybridcrew.routing.router` decides a step from cached signals (pure CPU), after the
:mod:`~hybridcrew.routing.privacy` scan; :mod:`~hybridcrew.routing.runtime` keeps those
signals fresh and calls the chosen model through ``providers/`` with fallbacks.
"""
