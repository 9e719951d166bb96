"""hybridcrew platform."""
