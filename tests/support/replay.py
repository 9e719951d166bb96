"""A loopback HTTP server that replays recorded responses, for backends that cannot run here.

Routes map ``(METHOD, path)`` to a queue of :class:`Reply`; each request takes the next reply
(the last one repeats). Every request is recorded for assertions.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@dataclass
class Reply:
    """One recorded response: status, body (JSON, NDJSON lines or SSE events), headers, delay."""

    status: int = 200
    body: Any = None
    ndjson: list[Any] | None = None
    sse: list[tuple[str, Any]] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


def recorded(provider: str, name: str, fill: dict[str, str] | None = None, **overrides: Any
             ) -> Reply:
    """Load ``tests/fixtures/<provider>/<name>.json`` (documented shape + where it comes from).

    ``fill`` replaces ``{placeholder}`` strings a fixture leaves to the test (a file's path).
    """
    text = (FIXTURES / provider / f"{name}.json").read_text()
    for key, value in (fill or {}).items():
        text = text.replace("{" + key + "}", json.dumps(value)[1:-1])
    data = json.loads(text)
    sse = [(event, payload) for event, payload in data["sse"]] if "sse" in data else None
    fields = {"status": data.get("status", 200), "body": data.get("body"),
              "ndjson": data.get("ndjson"), "sse": sse, "headers": data.get("headers", {})}
    return Reply(**{**fields, **overrides})


def openai_completion(content: str, tokens: tuple[int, int] = (31, 9)) -> Reply:
    """A chat completion as OpenAI-compatible servers answer (OpenAI API reference: Chat)."""
    return Reply(200, {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1735689600, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": tokens[0], "completion_tokens": tokens[1],
                  "total_tokens": sum(tokens)}})


@dataclass
class Seen:
    """A request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes = b""
    peer: int = 0
    """The client's port: requests with the same one came over one kept-alive connection."""


class ReplayServer:
    """Serve replies on 127.0.0.1 at a free port; use as a context manager."""

    def __init__(self, routes: dict[tuple[str, str], list[Reply]] | None = None) -> None:
        self.routes: dict[tuple[str, str], list[Reply]] = routes or {}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:41234."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def route(self, method: str, path: str, *replies: Reply) -> None:
        """Set the replies for a route (replacing earlier ones)."""
        with self._lock:
            self.routes[(method, path)] = list(replies)

    def calls(self, method: str, path: str) -> list[Seen]:
        """Requests seen on a route."""
        return [s for s in self.seen if (s.method, s.path) == (method, path)]

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self, method: str, path: str) -> Reply:
        with self._lock:
            queue = self.routes.get((method, path))
            if not queue:
                return Reply(404, {"error": f"no replay for {method} {path}"})
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # As real servers do (TCP_NODELAY): else a kept-alive connection's next answer
            # waits ~40 ms for the client's delayed ACK of the headers written before the body.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                path = self.path.split("?")[0]
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                server.seen.append(Seen(self.command, path,
                                        {k.lower(): v for k, v in self.headers.items()}, body,
                                        raw, self.client_address[1]))
                reply = server._next(self.command, path)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.sse is not None:
                    payload = b"".join(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()
                                       for event, data in reply.sse)
                    ctype = "text/event-stream"
                elif reply.ndjson is not None:
                    payload = b"".join(json.dumps(x).encode() + b"\n" for x in reply.ndjson)
                    ctype = "application/x-ndjson"
                else:
                    payload = json.dumps(reply.body).encode()
                    ctype = "application/json"
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", ctype)
                    self.send_header("content-length", str(len(payload)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            do_GET = do_POST = do_PUT = _serve  # noqa: N815 - BaseHTTPRequestHandler's names

        return Handler


def closed_port_url() -> str:
    """A loopback URL on which nothing listens (connection refused)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
