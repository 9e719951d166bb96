"""hybridcrew graphs."""
