"""A `tagih serve` process killed with SIGKILL mid-load loses no accepted payment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlmodel import select

from models import Payment
from models.db import session_scope
from tagih.banksim.client import BankReply, BankSimulator
from tagih.settings import get_settings
from tests.bank.conftest import COMPANY_CODE, OpenBill, free_port, make_bills

BILLS = 80


def _start_server(
    database: str, key_file: Path, log: Path, *options: str, log_level: str = "WARNING"
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "SNAP_DEV_KEY_FILE": str(key_file),
        "LOG_LEVEL": log_level,
    }
    command = [
        sys.executable,
        "-c",
        "from tagih.cli.serve import serve; serve()",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *options,
    ]
    with log.open("ab") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"tagih serve did not start; see {log}")


def test_sigkill_loses_no_accepted_payment(
    database: str, dev_key_file: Path, tmp_path: Path
) -> None:
    bills = make_bills(BILLS)
    log = tmp_path / "serve.log"
    process, url = _start_server(database, dev_key_file, log)
    bank = BankSimulator.from_settings(get_settings(), url)
    bank.token()
    payloads = [
        bank.payment_payload(bill.va_number, COMPANY_CODE, bill.amount, request_id=f"kill-{i}")
        for i, bill in enumerate(bills)
    ]
    replies: dict[str, BankReply | None] = {}
    lock = threading.Lock()
    answered = threading.Event()

    def send(payload: dict) -> None:
        simulator = BankSimulator(
            base_url=url,
            client_id=bank.client_id,
            client_secret=bank.client_secret,
            private_key_pem=bank.private_key_pem,
            _token=bank._token,
            _token_expires=bank._token_expires,
            timeout=5,
        )
        try:
            reply: BankReply | None = simulator.send_payment(payload)
        except httpx.HTTPError:
            reply = None
        finally:
            simulator.close()
        with lock:
            replies[payload["paymentRequestId"]] = reply
            if sum(1 for r in replies.values() if r is not None) >= BILLS // 4:
                answered.set()

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(send, payload) for payload in payloads]
        answered.wait(30)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        for future in futures:
            future.result()
    bank.close()

    accepted = {rid for rid, reply in replies.items() if reply and reply.accepted}
    unknown = [p for p in payloads if replies.get(p["paymentRequestId"]) is None]
    assert accepted, "no payment was answered before the kill"
    assert unknown, "the kill came after every payment was answered"

    process, url = _start_server(database, dev_key_file, log)
    try:
        with BankSimulator.from_settings(get_settings(), url) as retrier:
            # The bank retries every payment it got no response for, with the same request id.
            for payload in unknown:
                reply = retrier.send_payment({**payload, "flagAdvise": "Y"})
                assert reply.response_code == "2002500", reply.body
                accepted.add(payload["paymentRequestId"])
    finally:
        process.terminate()
        process.wait(10)

    with session_scope() as session:
        payments = session.exec(select(Payment)).all()
    stored = [payment.payment_request_id for payment in payments]
    assert len(stored) == len(set(stored))
    assert accepted <= set(stored)
    assert len(stored) == len(accepted)


def test_two_workers_share_the_work(database: str, dev_key_file: Path, tmp_path: Path) -> None:
    bills = make_bills(20)
    log = tmp_path / "serve.log"
    process, url = _start_server(database, dev_key_file, log, "--workers", "2", log_level="INFO")

    def pay(bill: OpenBill) -> BankReply:
        with BankSimulator.from_settings(get_settings(), url) as bank:
            return bank.pay(bill.va_number, COMPANY_CODE, bill.amount)

    try:
        with ThreadPoolExecutor(8) as pool:
            replies = list(pool.map(pay, bills))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    assert [reply.response_code for reply in replies] == ["2002500"] * len(bills)
    assert process.returncode == 0
    # Each worker process sets up logging itself, with the level and format of LOG_LEVEL.
    responded = [line for line in log.read_text().splitlines() if "responded 2002500" in line]
    assert len(responded) == len(bills)
    assert all(" INFO billing.snap.service SNAP payment" in line for line in responded)
    with session_scope() as session:
        paid = session.exec(select(Payment.virtual_account_id)).all()
    assert len(paid) == len(set(paid)) == len(bills)
