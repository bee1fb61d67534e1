"""Payments through a real uvicorn server: throughput and latency on SQLite and PostgreSQL.

For each database the benchmark migrates a fresh database, issues bills, starts one
`tagih serve` process on a free 127.0.0.1 port and sends signed SNAP payments, each into
its own VA, from an asyncio load generator in this process. A bare FastAPI route in its own
uvicorn process is measured the same way, as the floor the machine allows.

Two runs per target:
- saturation: CONCURRENCY requests in flight until SATURATION_REQUESTS have a response;
  reports accepted payments per second;
- fixed rate: RATE requests per second for RATE_SECONDS; reports p50 and p99 latency.

Each run also reports the 1-minute load average at its end and the server process's CPU
time per response (user + system, read from /proc on Linux), which depends far less on
other work on the machine than throughput does.

PostgreSQL is measured when BENCH_DATABASE_URL or TEST_DATABASE_URL names a server; the
benchmark creates and drops its own database there.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "32"))
SATURATION_REQUESTS = int(os.environ.get("BENCH_SATURATION_REQUESTS", "2000"))
RATE = int(os.environ.get("BENCH_RATE", "100"))
RATE_SECONDS = int(os.environ.get("BENCH_RATE_SECONDS", "10"))
COMPANY_CODE = "77001"
PAYMENT_PATH = "/snap/v1.0/transfer-va/payment"

BARE_APP = """
from fastapi import FastAPI, Request
app = FastAPI()

@app.post("/bare")
async def bare(request: Request) -> dict:
    await request.body()
    return {"responseCode": "2002500"}
"""


@dataclass
class Run:
    label: str
    requests: int
    accepted: int
    seconds: float
    latencies_ms: list[float]
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


def _cpu_seconds(pid: int) -> float:
    """Return a process's user + system CPU time from /proc, or NaN where there is none."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    # utime and stime are fields 14 and 15 of the stat line, counted in clock ticks.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measured(pid: int, run_once: Callable[[], Run]) -> Run:
    """Run the load once and add the server's CPU time and the load average to the result."""
    before = _cpu_seconds(pid)
    run = run_once()
    run.server_cpu_seconds = _cpu_seconds(pid) - before
    run.load_average = os.getloadavg()[0]
    return run


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server at {url} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"the server at {url} did not start")


def _start(command: list[str], env: dict[str, str], probe: str) -> subprocess.Popen:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    _wait_for(probe, process)
    return process


def _prepare_database(url: str, bills: int) -> list[str]:
    """Migrate a fresh database and issue `bills` bills; return their VA numbers."""
    from billing.invoices import InvoiceDraft, LineDraft, issue_invoices
    from billing.orgs import create_organisation
    from models.db import dispose_engines, session_scope, upgrade_to_head

    upgrade_to_head(url)
    due = dt.date.today() + dt.timedelta(days=30)  # noqa: DTZ011
    numbers: list[str] = []
    with session_scope(write=True, url=url) as session:
        organisation = create_organisation(
            session,
            slug="bench",
            kind="invoice",
            name="Bench Merchant",
            company_code=COMPANY_CODE,
            admin_phone="081234567890",
        )
        for start in range(0, bills, 1000):
            drafts = [
                InvoiceDraft(
                    number=f"B-{index:06d}",
                    customer_name=f"Customer {index}",
                    due_date=due,
                    lines=[LineDraft("Item", 1, 125_000, 125_000)],
                    phone="+6281234500000",
                )
                for index in range(start, min(bills, start + 1000))
            ]
            numbers += [
                item.virtual_account.number
                for item in issue_invoices(session, organisation, drafts)
            ]
    dispose_engines()
    return numbers


def _signed_requests(base_url: str, numbers: list[str]) -> list[tuple[bytes, dict[str, str]]]:
    """Sign every payment before the clock starts, so signing costs no load-generator time."""
    from billing.snap.signature import format_timestamp, hmac_signature, string_to_sign
    from models.types import utcnow
    from tagih.banksim.client import BankSimulator
    from tagih.settings import get_settings

    with BankSimulator.from_settings(get_settings(), base_url=base_url) as bank:
        token = bank.token()
        prepared = []
        for index, number in enumerate(numbers):
            payload = bank.payment_payload(number, COMPANY_CODE, 125_000)
            body = json.dumps(payload, separators=(",", ":")).encode()
            stamp = format_timestamp(utcnow())
            headers = {
                "Content-Type": "application/json",
                "Authorization": f"Bearer {token}",
                "X-TIMESTAMP": stamp,
                "X-PARTNER-ID": bank.client_id,
                "X-EXTERNAL-ID": f"bench-{index}-{uuid.uuid4().hex[:8]}",
                "CHANNEL-ID": "95221",
                "X-SIGNATURE": hmac_signature(
                    bank.client_secret, string_to_sign("POST", PAYMENT_PATH, token, body, stamp)
                ),
            }
            prepared.append((body, headers))
    return prepared


async def _send(
    client: httpx.AsyncClient, url: str, request: tuple[bytes, dict[str, str]], run: Run
) -> None:
    started = time.perf_counter()
    try:
        response = await client.post(url, content=request[0], headers=request[1])
        code = str(response.json().get("responseCode", response.status_code))
    except (httpx.HTTPError, ValueError) as error:
        code = type(error).__name__
    ok = code == "2002500"
    if not ok:
        run.failures[code] += 1
    run.latencies_ms.append((time.perf_counter() - started) * 1000)
    run.requests += 1
    run.accepted += int(ok)


async def _saturate(url: str, requests: list, label: str) -> Run:
    run = Run(label, 0, 0, 0.0, [])
    queue = iter(requests)
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def worker() -> None:
            for request in queue:
                await _send(client, url, request, run)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        run.seconds = time.perf_counter() - started
    return run


async def _fixed_rate(url: str, requests: list, label: str) -> Run:
    run = Run(label, 0, 0, 0.0, [])
    async with httpx.AsyncClient(timeout=30) as client:
        started = time.perf_counter()
        tasks = []
        for index, request in enumerate(requests):
            delay = started + index / RATE - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(_send(client, url, request, run)))
        await asyncio.gather(*tasks)
        run.seconds = time.perf_counter() - started
    return run


def _measure_tagih(name: str, database_url: str, key_file: Path) -> list[Run]:
    bills = SATURATION_REQUESTS + RATE * RATE_SECONDS
    numbers = _prepare_database(database_url, bills)
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SNAP_DEV_KEY_FILE": str(key_file),
        "LOG_LEVEL": "WARNING",
    }
    command = [
        sys.executable,
        "-c",
        "from tagih.cli.serve import serve; serve()",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    base = f"http://127.0.0.1:{port}"
    process = _start(command, env, base + "/health")
    try:
        os.environ["SNAP_DEV_KEY_FILE"] = str(key_file)
        # Each run is signed just before it starts, so no X-TIMESTAMP leaves the window.
        requests = _signed_requests(base, numbers[:SATURATION_REQUESTS])
        saturation = _measured(
            process.pid,
            lambda: asyncio.run(_saturate(base + PAYMENT_PATH, requests, f"{name} saturation")),
        )
        requests = _signed_requests(base, numbers[SATURATION_REQUESTS:])
        rate = _measured(
            process.pid,
            lambda: asyncio.run(_fixed_rate(base + PAYMENT_PATH, requests, f"{name} at {RATE}/s")),
        )
    finally:
        process.terminate()
        process.wait(30)
    return [saturation, rate]


def _measure_bare(folder: Path) -> list[Run]:
    (folder / "bare_app.py").write_text(BARE_APP)
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bare_app:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    env = {**os.environ, "PYTHONPATH": str(folder)}
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    try:
        _wait_for(base + "/docs", process)
        body = json.dumps({"paymentRequestId": "x"}).encode()
        requests = [(body, {"Content-Type": "application/json"})] * (
            SATURATION_REQUESTS + RATE * RATE_SECONDS
        )
        saturation = _measured(
            process.pid,
            lambda: asyncio.run(
                _saturate(
                    base + "/bare", requests[:SATURATION_REQUESTS], "bare FastAPI saturation"
                )
            ),
        )
        rate = _measured(
            process.pid,
            lambda: asyncio.run(
                _fixed_rate(
                    base + "/bare", requests[SATURATION_REQUESTS:], f"bare FastAPI at {RATE}/s"
                )
            ),
        )
    finally:
        process.terminate()
        process.wait(30)
    return [saturation, rate]


def _postgres_database() -> tuple[str, str] | None:
    """Create a scratch PostgreSQL database; return (its URL, admin URL) or None."""
    admin_url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if not admin_url or not admin_url.startswith("postgres"):
        return None
    base = make_url(admin_url).set(drivername="postgresql+psycopg")
    name = f"tagih_bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False), base.render_as_string(
        hide_password=False
    )


def _drop_postgres(url: str, admin_url: str) -> None:
    name = make_url(url).database
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def main() -> None:
    print(
        f"concurrency {CONCURRENCY}, saturation {SATURATION_REQUESTS} payments, "
        f"fixed rate {RATE}/s for {RATE_SECONDS} s, {os.cpu_count()} CPUs"
    )
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        key_file = folder / "bank-key.pem"
        runs += _measure_bare(folder)
        runs += _measure_tagih("SQLite", f"sqlite:///{folder / 'bench.sqlite3'}", key_file)
        postgres = _postgres_database()
        if postgres is None:
            print("PostgreSQL skipped: set BENCH_DATABASE_URL to a server to measure it")
        else:
            try:
                runs += _measure_tagih("PostgreSQL", postgres[0], key_file)
            finally:
                _drop_postgres(*postgres)
    for run in runs:
        print(run.line())


if __name__ == "__main__":
    main()
