"""hybridcrew agents."""
