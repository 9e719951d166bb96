"""hybridcrew: a crew of software agents, each step routed between Claude and local models."""

__version__ = "0.1.0"
