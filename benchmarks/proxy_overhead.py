"""What the OpenAI-compatible endpoint adds to a model call.

An upstream that answers chat completions at once (an OpenAI-compatible server on loopback,
its own process) is called two ways with the real ``openai`` SDK, alternately: directly, and
through ``hybridcrew serve`` (its own process), where the call is routed (privacy scan,
constraints), sent through the model's provider, accounted and logged. Prints p50/p90/p99 of
each and of the difference per call pair, for a two-message question (the target: ≤ 5 ms
added at p99) and for a coding tool's session (``--long`` messages and ten file tools, all
sent again on every call).

    python benchmarks/proxy_overhead.py [--calls 500] [--long 40]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import openai
import yaml
from gateway_load import free_port, percentile, serve
from machine import describe
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

UPSTREAM = """
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
BODY = json.dumps({"id": "chatcmpl-1", "object": "chat.completion", "created": 0,
    "model": "upstream", "choices": [{"index": 0, "finish_reason": "stop",
    "message": {"role": "assistant", "content": "A token bucket per key; 429 after."}}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21}}).encode()
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # as real servers do: headers and body go out at once
    def log_message(self, *args): pass
    def do_GET(self):
        self._send(json.dumps({"object": "list", "data": [{"id": "upstream"}]}).encode())
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self._send(BODY)
    def _send(self, body):
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""
ASK: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "You are a backend engineer."},
       {"role": "user", "content": "How should the orders API rate-limit its clients?"}]


TOOLS: list[ChatCompletionToolParam] = [{"type": "function", "function": {
    "name": f"{verb}_file", "description": f"{verb.capitalize()} a file of the repository: the "
    "path is relative to its root; the result says what changed, or why nothing did.",
    "parameters": {"type": "object", "required": ["path"], "properties": {
        "path": {"type": "string", "description": "the file, relative to the repository root"},
        "text": {"type": "string", "description": "what to write, search or insert"},
        "lines": {"type": "array", "items": {"type": "integer"}},
        "mode": {"type": "string", "enum": ["exact", "regex", "fuzzy"]}}}}}
    for verb in ("read", "write", "edit", "search", "list", "delete", "move", "copy", "diff",
                 "test")]
"""What a coding tool offers its model on every call: ten file tools with parameter schemas."""


SHORT = "2 messages"


def session(length: int) -> list[ChatCompletionMessageParam]:
    """A coding session ``length`` messages long: the system prompt, then turns whose replies
    carry code (~1 KB each, as a coding model's answers do)."""
    turns: list[ChatCompletionMessageParam] = [ASK[0]]
    for turn in range(1, length):
        if turn % 2:
            turns.append({"role": "user", "content": f"Step {turn}: add the limiter to route "
                          f"/orders/{turn} and show the test."})
        else:
            handlers = "".join(f"@app.get('/orders/{turn}/{n}')\n@limit(per_minute=100)\n"
                               f"async def orders_{turn}_{n}():\n"
                               f"    return await store.orders(page={n})\n\n"
                               for n in range(8))
            turns.append({"role": "assistant", "content": f"The handlers of step {turn}, each "
                          f"behind the limiter:\n```python\n{handlers}```\nThe test asserts a "
                          "429 after 100 calls in a minute."})
    return turns


def start_upstream(port: int) -> subprocess.Popen[bytes]:
    """The instant upstream, in its own process."""
    process = subprocess.Popen([sys.executable, "-c", UPSTREAM, str(port)])  # noqa: S603
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1)
            return process
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise SystemExit("the upstream did not start") from None
            time.sleep(0.1)


def write_config(folder: Path, upstream: str) -> Path:
    """One local OpenAI-compatible model: the upstream."""
    data = {"models": {"upstream": {"provider": "openai_compatible", "model": "upstream",
                                    "endpoint": upstream, "clearance": "secret",
                                    "context_window": 32768}},
            "agents": {"backend": {"role": "You are a backend engineer.",
                                   "model": "upstream"}}}
    path = folder / "hybridcrew.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--long", type=int, default=40,
                        help="messages in the longer session (0: skip it)")
    args = parser.parse_args()
    shapes: dict[str, tuple[list[ChatCompletionMessageParam], list[ChatCompletionToolParam]]]
    shapes = {SHORT: (ASK, [])}
    if args.long:
        shapes[f"{args.long} messages, {len(TOOLS)} tools"] = (session(args.long), TOOLS)
    with tempfile.TemporaryDirectory() as folder:
        upstream_port, gateway_port = free_port(), free_port()
        upstream = start_upstream(upstream_port)
        upstream_url = f"http://127.0.0.1:{upstream_port}/v1"
        gateway = serve(write_config(Path(folder), upstream_url), Path(folder) / "data",
                        gateway_port, 4)
        direct = openai.OpenAI(base_url=upstream_url, api_key="none", max_retries=0)
        proxied = openai.OpenAI(base_url=f"http://127.0.0.1:{gateway_port}/openai/v1",
                                api_key="none", max_retries=0)
        results: dict[str, dict[str, list[float]]] = {}
        try:
            for shape, (messages, tools) in shapes.items():
                results[shape] = _alternate(direct, proxied, messages, tools, args.calls)
        finally:
            for process in (gateway, upstream):
                process.terminate()
                process.wait(timeout=30)
    print(f"machine: {describe()}")
    print(f"{args.calls} non-streaming calls each way, alternating, one client, loopback")
    for shape, samples in results.items():
        added = _report(shape, samples)
        if shape == SHORT:
            p99 = percentile(added, 0.99)
            print(f"target p99 added <= 5 ms: {'met' if p99 <= 5 else 'NOT met'} "
                  f"({p99:.2f} ms)")


def _alternate(direct: openai.OpenAI, proxied: openai.OpenAI,
               messages: list[ChatCompletionMessageParam], tools: list[ChatCompletionToolParam],
               calls: int) -> dict[str, list[float]]:
    """Milliseconds per call, direct and through the gateway, one after the other."""
    samples: dict[str, list[float]] = {"direct": [], "proxied": []}
    offered = tools or openai.omit
    for _ in range(50):  # warm up: connections, code paths
        direct.chat.completions.create(model="upstream", messages=messages, tools=offered)
        proxied.chat.completions.create(model="backend", messages=messages, tools=offered)
    for _ in range(calls):
        for name, client, model in (("direct", direct, "upstream"),
                                    ("proxied", proxied, "backend")):
            started = time.perf_counter()
            client.chat.completions.create(model=model, messages=messages, tools=offered)
            samples[name].append((time.perf_counter() - started) * 1000)
    return samples


def _report(shape: str, samples: dict[str, list[float]]) -> list[float]:
    added = [p - d for d, p in zip(samples["direct"], samples["proxied"], strict=True)]
    print(f"{shape}:")
    for name, values in (*samples.items(), ("added", added)):
        print(f"{name:>10}: p50 {statistics.median(values):6.2f} ms  "
              f"p90 {percentile(values, 0.9):6.2f} ms  p99 {percentile(values, 0.99):6.2f} ms")
    return added


if __name__ == "__main__":
    main()
