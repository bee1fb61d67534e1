"""CPU time of one SNAP payment in-process, without HTTP: handle_request called in a loop.

For each database the benchmark migrates a fresh database, issues bills, signs one payment
per VA and calls `billing.snap.service.handle_request` for each, first on the calling
thread and then from a pool of worker threads as the web app does. It reports CPU time
(`time.process_time`) and wall time per accepted payment. CPU time depends far less on
other work on the machine than the throughput of the HTTP benchmark does.

PostgreSQL is measured when BENCH_DATABASE_URL or TEST_DATABASE_URL names a server.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.bench_payments import (
    COMPANY_CODE,
    PAYMENT_PATH,
    _drop_postgres,
    _postgres_database,
    _prepare_database,
)

PAYMENTS = int(os.environ.get("BENCH_CPU_PAYMENTS", "1000"))
WARM_UP = 50
THREADS = (0, 8)  # 0: the calling thread


def _signed_requests(numbers: list[str]) -> tuple[list, object]:
    """Return a signed SnapRequest per VA and the SnapConfig of the default connection."""
    from billing.snap.auth import issue_token
    from billing.snap.connections import default_connection
    from billing.snap.service import SnapConfig, SnapRequest
    from billing.snap.signature import format_timestamp, hmac_signature, string_to_sign
    from models.db import session_scope
    from models.types import utcnow
    from tagih.banksim.client import BankSimulator
    from tagih.settings import get_settings

    settings = get_settings()
    connection = default_connection(settings)
    with session_scope(write=True) as session:
        token = issue_token(session, client_id=connection.client_id, now=utcnow(), ttl_seconds=900)
    # The simulator only builds payloads here; it sends nothing.
    bank = BankSimulator.from_settings(settings, base_url="http://127.0.0.1:9")
    requests = []
    for index, number in enumerate(numbers):
        payload = bank.payment_payload(number, COMPANY_CODE, 125_000)
        body = json.dumps(payload, separators=(",", ":")).encode()
        stamp = format_timestamp(utcnow())
        message = string_to_sign("POST", PAYMENT_PATH, token, body, stamp)
        headers = {
            "content-type": "application/json",
            "authorization": f"Bearer {token}",
            "x-timestamp": stamp,
            "x-partner-id": bank.client_id,
            "x-external-id": f"cpu-{index}-{uuid.uuid4().hex[:8]}",
            "channel-id": "95221",
            "x-signature": hmac_signature(bank.client_secret, message),
        }
        requests.append(SnapRequest("POST", PAYMENT_PATH, "", headers, body, utcnow()))
    return requests, SnapConfig(default_connection=connection)


def _measure(name: str, url: str) -> list[str]:
    from billing.snap import codes
    from billing.snap.service import handle_request
    from models.db import dispose_engines
    from tagih.settings import reset_settings_cache

    os.environ["DATABASE_URL"] = url
    reset_settings_cache()
    per_run = WARM_UP + PAYMENTS
    numbers = _prepare_database(url, per_run * len(THREADS))
    lines = []
    try:
        for run, threads in enumerate(THREADS):
            requests, config = _signed_requests(numbers[run * per_run : (run + 1) * per_run])

            def pay(request: object, config: object = config) -> None:
                response = handle_request(codes.SERVICE_PAYMENT, request, config)
                assert response.body["responseCode"] == "2002500", response.body

            for request in requests[:WARM_UP]:
                pay(request)
            started_cpu, started_wall = time.process_time(), time.perf_counter()
            if threads:
                with ThreadPoolExecutor(threads) as pool:
                    list(pool.map(pay, requests[WARM_UP:]))
            else:
                for request in requests[WARM_UP:]:
                    pay(request)
            cpu_ms = 1000 * (time.process_time() - started_cpu) / PAYMENTS
            wall_ms = 1000 * (time.perf_counter() - started_wall) / PAYMENTS
            where = f"{threads} threads" if threads else "calling thread"
            lines.append(
                f"{name:<11} {where:<15} {PAYMENTS:>5} payments  CPU {cpu_ms:5.2f} ms  "
                f"wall {wall_ms:5.2f} ms per payment  load {os.getloadavg()[0]:4.2f}"
            )
    finally:
        dispose_engines()
    return lines


def main() -> None:
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        os.environ["SNAP_DEV_KEY_FILE"] = str(folder / "bank-key.pem")
        lines += _measure("SQLite", f"sqlite:///{folder / 'cpu.sqlite3'}")
        postgres = _postgres_database()
        if postgres is None:
            print("PostgreSQL skipped: set BENCH_DATABASE_URL to a server to measure it")
        else:
            try:
                lines += _measure("PostgreSQL", postgres[0])
            finally:
                _drop_postgres(*postgres)
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
