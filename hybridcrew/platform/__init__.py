"""Everything that touches the outside world, on top of the layers below.

Adapters: ``store/`` (SQLite, Redis), ``memory/`` (Qdrant), checkpoints, the run queue, API
keys. Runners: :mod:`~hybridcrew.platform.crew` (drives runs durably), the gateway's run
service, workers, leases and recovery, metrics. Shells: ``api/`` (FastAPI) and ``cli/``
(Typer).
"""
