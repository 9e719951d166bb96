"""The crew as data: who the agents are, which models may serve them, what each step asks.

``hybridcrew.yaml`` (packaged here) declares the models, the agents (CTO, frontend, backend,
QA) and the routing policy; :mod:`~hybridcrew.agents.spec` is the schema of one agent and
:mod:`~hybridcrew.agents.instructions` what a plan, implement or review step is asked to do.
Nothing here runs: it is read by ``routing/`` and ``graphs/``.
"""
