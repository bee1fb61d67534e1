"""A fake SMS gateway on 127.0.0.1: a real HTTP server for tests and the benchmark.

It accepts the JSON body of bot.channels.sms.JsonGatewayProvider and drops a request whose
Idempotency-Key it has already accepted. It can enforce a rate limit, returning 429 with
Retry-After when the limit is exceeded, and it can inject 429 responses at a given rate.
"""

from __future__ import annotations

import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeSmsServer:
    def __init__(
        self,
        *,
        rate_limit: float | None = None,
        injected_429_rate: float = 0.0,
        injected_retry_after: float = 0.1,
        seed: int = 7,
    ):
        self.rate_limit = rate_limit
        self.injected_429_rate = injected_429_rate
        self.injected_retry_after = injected_retry_after
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.requests = 0
        self.throttled = 0
        self.injected = 0
        self.accepted: dict[str, dict] = {}
        self.duplicates = 0
        self.accepted_times: list[float] = []
        self._tokens = rate_limit or 0.0
        self._refilled = time.monotonic()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/sms"

    def __enter__(self) -> FakeSmsServer:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def _take_token(self) -> float | None:
        """Return None when a message may pass, else the seconds until the next token."""
        if self.rate_limit is None:
            return None
        now = time.monotonic()
        self._tokens = min(
            self.rate_limit, self._tokens + (now - self._refilled) * self.rate_limit
        )
        self._refilled = now
        if self._tokens >= 1:
            self._tokens -= 1
            return None
        return (1 - self._tokens) / self.rate_limit

    def answer(self, body: dict, key: str | None) -> tuple[int, dict[str, str], dict]:
        with self.lock:
            self.requests += 1
            wait = self._take_token()
            if wait is not None:
                self.throttled += 1
                return 429, {"Retry-After": f"{wait:.3f}"}, {"error": "rate limited"}
            if self.injected_429_rate and self.random.random() < self.injected_429_rate:
                self.injected += 1
                retry_after = {"Retry-After": f"{self.injected_retry_after:.3f}"}
                return 429, retry_after, {"error": "injected"}
            key = key or f"anonymous-{self.requests}"
            if key in self.accepted:
                self.duplicates += 1
            else:
                self.accepted[key] = body
                self.accepted_times.append(time.monotonic())
            return 200, {}, {"id": f"sms-{key}"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real gateways allow
            # Headers and body leave in separate writes, which Nagle's algorithm would
            # otherwise delay until the client acknowledges the first one.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                status, headers, answer = fake.answer(body, self.headers.get("Idempotency-Key"))
                content = json.dumps(answer).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                content = json.dumps(fake.stats()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return

        return Handler

    def stats(self) -> dict:
        """Return the counters, and the seconds between the first and last acceptance."""
        with self.lock:
            times = self.accepted_times
            return {
                "requests": self.requests,
                "throttled": self.throttled,
                "injected": self.injected,
                "accepted": len(self.accepted),
                "duplicates": self.duplicates,
                "window": times[-1] - times[0] if len(times) > 1 else 0.0,
            }


def serve_in_child(connection, options: dict) -> None:  # type: ignore[no-untyped-def]
    """Run a FakeSmsServer in this (child) process until the parent closes the pipe.

    A separate process keeps the server's threads from competing with the sender for
    the parent's GIL, which would understate the sender's throughput.
    """
    with FakeSmsServer(**options) as server:
        connection.send(server.url)
        try:
            connection.recv()
        except EOFError:
            pass
