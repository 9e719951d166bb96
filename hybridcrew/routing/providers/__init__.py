"""hybridcrew routing/providers."""
