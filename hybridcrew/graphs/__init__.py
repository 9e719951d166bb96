"""How a run flows: workflows compiled into LangGraph state graphs, one node per agent step.

:mod:`~hybridcrew.graphs.workflow` validates a workflow (nodes, ``depends_on``, one review
loop), :mod:`~hybridcrew.graphs.compile` turns it into a graph, and
:mod:`~hybridcrew.graphs.steps` runs one step: route, call with fallback, validate, account.
:mod:`~hybridcrew.graphs.lifecycle` names a run's statuses and events;
:mod:`~hybridcrew.graphs.ports` says what a run needs from a run log and a memory (both
implemented in ``platform/``).
"""
