"""A lean HTTP/1.1 load generator for benchmarks on 127.0.0.1.

The requests are encoded to bytes before the clock starts and sent over keep-alive
connections with asyncio streams, so the generator spends far less CPU per request than
an httpx client. That matters on a small machine, where the generator shares the CPUs
with the server under test and its database.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

ACCEPTED_CODE = "2002500"
# uvicorn closes a keep-alive connection after 5 idle seconds by default. A connection idle
# for longer than this is closed rather than reused, so no request meets a closed socket.
MAX_IDLE_SECONDS = 4.0


@dataclass
class Run:
    """The responses of one load run: counts, latencies and why requests failed."""

    label: str
    requests: int = 0
    accepted: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)  # response code or error name
    load_average: float = float("nan")  # 1-minute load average when the run ended
    server_cpu_seconds: float = float("nan")  # the server process's CPU time during the run

    @property
    def per_second(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    def line(self) -> str:
        cpu_ms = 1000 * self.server_cpu_seconds / self.requests if self.requests else 0.0
        return (
            f"{self.label:<34} {self.requests:>6} req  {self.accepted:>6} ok  "
            f"{self.per_second:8.1f}/s  p50 {self.percentile(0.50):7.1f} ms  "
            f"p99 {self.percentile(0.99):7.1f} ms  server CPU {cpu_ms:5.2f} ms/req  "
            f"load {self.load_average:4.2f}"
            + (f"  failures {dict(self.failures)}" if self.failures else "")
        )


def encode_post(url: str, body: bytes, headers: dict[str, str]) -> bytes:
    """Encode one POST request with a Content-Length and keep-alive."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Connection:
    """One keep-alive connection that sends a request and reads its whole response."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer
        self.idle_since = time.monotonic()

    @classmethod
    async def open(cls, url: str) -> Connection:
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> tuple[int, bytes, bool]:
        """Send a request and return the status, the body and whether the connection stays open."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        length = 0
        keep_alive = True
        for line in header_lines:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                keep_alive = False
        body = await self.reader.readexactly(length) if length else b""
        self.idle_since = time.monotonic()
        return status, body, keep_alive

    def close(self) -> None:
        self.writer.close()


class ConnectionPool:
    """Idle connections to one server. A request reuses one or opens a new one."""

    def __init__(self, url: str):
        self.url = url
        self.idle: list[Connection] = []

    async def _connection(self) -> Connection:
        while self.idle:
            connection = self.idle.pop()
            if time.monotonic() - connection.idle_since < MAX_IDLE_SECONDS:
                return connection
            connection.close()
        return await Connection.open(self.url)

    async def send(self, request: bytes) -> tuple[int, bytes]:
        connection = await self._connection()
        try:
            status, body, keep_alive = await connection.exchange(request)
        except BaseException:
            connection.close()
            raise
        if keep_alive:
            self.idle.append(connection)
        else:
            connection.close()
        return status, body

    def close(self) -> None:
        for connection in self.idle:
            connection.close()
        self.idle.clear()


def response_code(status: int, body: bytes) -> str:
    """Return the SNAP responseCode of a response, or its HTTP status when it has none."""
    try:
        data = json.loads(body)
    except ValueError:
        return str(status)
    code = data.get("responseCode") if isinstance(data, dict) else None
    return str(code) if code else str(status)


async def _send(pool: ConnectionPool, request: bytes, run: Run) -> None:
    started = time.perf_counter()
    try:
        code = response_code(*await pool.send(request))
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as error:
        code = type(error).__name__
    run.latencies_ms.append((time.perf_counter() - started) * 1000)
    run.requests += 1
    if code == ACCEPTED_CODE:
        run.accepted += 1
    else:
        run.failures[code] += 1


async def saturate(url: str, requests: list[bytes], label: str, concurrency: int) -> Run:
    """Keep `concurrency` requests in flight until every request has a response."""
    run = Run(label)
    pool = ConnectionPool(url)
    queue = iter(requests)

    async def worker() -> None:
        for request in queue:
            await _send(pool, request, run)

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        run.seconds = time.perf_counter() - started
        pool.close()
    return run


async def fixed_rate(url: str, requests: list[bytes], label: str, rate: float) -> Run:
    """Start one request every 1/rate seconds, whether or not earlier ones have answered."""
    run = Run(label)
    pool = ConnectionPool(url)
    tasks = []
    started = time.perf_counter()
    try:
        for index, request in enumerate(requests):
            delay = started + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(_send(pool, request, run)))
        await asyncio.gather(*tasks)
    finally:
        run.seconds = time.perf_counter() - started
        pool.close()
    return run
