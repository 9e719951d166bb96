"""The access log records method, path and status, never a secret.

Query strings are dropped (they carry search terms and, from careless clients, keys), and a path
value that holds a secret or personal data (an artifact path, a run id pasted with a token) is
replaced by ``[REDACTED:detector]`` by the same detectors that guard every prompt.
"""

from __future__ import annotations

import logging
from urllib.parse import quote, unquote

from hybridcrew.routing.privacy.default import scrub

ACCESS_LOGGER = "uvicorn.access"
_PATH_ARG = 2  # uvicorn logs (client, method, path with query, HTTP version, status)


class ScrubbedAccessLog(logging.Filter):
    """Rewrites the path of each access-log record before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Drop the query string and redact findings in the path; always keep the record."""
        args = record.args
        raw = args[_PATH_ARG] if isinstance(args, tuple) and len(args) > _PATH_ARG else None
        if isinstance(args, tuple) and isinstance(raw, str):
            path = unquote(raw.split("?", 1)[0])
            safe = quote(scrub(path), safe="/:[]@-._~")
            record.args = (*args[:_PATH_ARG], safe, *args[_PATH_ARG + 1:])
        return True


def install_access_log_filter() -> None:
    """Attach the filter to uvicorn's access logger (once per process)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, ScrubbedAccessLog) for f in logger.filters):
        logger.addFilter(ScrubbedAccessLog())
