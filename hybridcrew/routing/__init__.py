"""hybridcrew routing."""
