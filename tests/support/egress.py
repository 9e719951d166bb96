"""A tripwire for third-party clients: a loopback proxy that refuses and remembers every call.

The pytest guard (conftest.py) stops this process from leaving the machine; a client run as a
subprocess (Claude Code, Aider) is not covered by it. Pointing the client's ``HTTP(S)_PROXY`` at
a :class:`Tripwire` (with loopback in ``NO_PROXY``) makes each of its calls beyond loopback —
telemetry, update checks, price lists — fail at once and be listed, so a test asserts none.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Tripwire:
    """Refuse every proxied request with 403 and keep its request line; a context manager."""

    def __init__(self) -> None:
        self.tried: list[str] = []
        tried = self.tried

        class Refuse(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _refuse(self) -> None:
                tried.append(f"{self.command} {self.path}")
                self.send_response(403, "tests stay on loopback")
                self.send_header("content-length", "0")
                self.end_headers()

            do_CONNECT = do_GET = do_POST = do_PUT = do_HEAD = _refuse  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def env(self) -> dict[str, str]:
        """Environment variables that send a client's outbound calls here (not loopback's)."""
        url = f"http://127.0.0.1:{self._server.server_address[1]}"
        loopback = "127.0.0.1,localhost"
        return {"HTTPS_PROXY": url, "HTTP_PROXY": url, "https_proxy": url, "http_proxy": url,
                "NO_PROXY": loopback, "no_proxy": loopback}

    def __enter__(self) -> Tripwire:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
