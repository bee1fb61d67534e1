"""Payments through a real uvicorn server: throughput and latency on SQLite and PostgreSQL.

For each database the benchmark migrates a fresh database, issues bills, starts one
`tagih serve` process on a free 127.0.0.1 port and sends signed SNAP payments, each into
its own VA, from the asyncio load generator of bench.http_load in this process. A bare
FastAPI route in its own uvicorn process is measured the same way, as the floor the
machine allows.

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
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.http_load import Run, encode_post, fixed_rate, saturate

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


def _signed_requests(base_url: str, numbers: list[str]) -> list[bytes]:
    """Sign and encode every payment before the clock starts, so that costs no load time."""
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
            prepared.append(encode_post(base_url + PAYMENT_PATH, body, headers))
    return prepared


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
        # Each run is signed just before it starts, so no X-TIMESTAMP leaves the window.
        requests = _signed_requests(base, numbers[:SATURATION_REQUESTS])
        saturation = _measured(
            process.pid,
            lambda: asyncio.run(
                saturate(base + PAYMENT_PATH, requests, f"{name} saturation", CONCURRENCY)
            ),
        )
        requests = _signed_requests(base, numbers[SATURATION_REQUESTS:])
        rate = _measured(
            process.pid,
            lambda: asyncio.run(
                fixed_rate(base + PAYMENT_PATH, requests, f"{name} at {RATE}/s", RATE)
            ),
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
        request = encode_post(base + "/bare", body, {"Content-Type": "application/json"})
        requests = [request] * (SATURATION_REQUESTS + RATE * RATE_SECONDS)
        saturation = _measured(
            process.pid,
            lambda: asyncio.run(
                saturate(
                    base + "/bare",
                    requests[:SATURATION_REQUESTS],
                    "bare FastAPI saturation",
                    CONCURRENCY,
                )
            ),
        )
        rate = _measured(
            process.pid,
            lambda: asyncio.run(
                fixed_rate(
                    base + "/bare",
                    requests[SATURATION_REQUESTS:],
                    f"bare FastAPI at {RATE}/s",
                    RATE,
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
        # The server and the signing client must use the same key, so it is set before any
        # code reads (and caches) the settings.
        os.environ["SNAP_DEV_KEY_FILE"] = str(key_file)
        from tagih.settings import reset_settings_cache

        reset_settings_cache()
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
