"""Allow ``python -m hybridcrew``."""

from hybridcrew.platform.cli import main

main()
