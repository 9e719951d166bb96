"""One module per API resource: runs, their events, agents, models and routing, memory, health.

Each module owns an ``APIRouter``; :func:`hybridcrew.platform.api.create_app` mounts them.
"""
