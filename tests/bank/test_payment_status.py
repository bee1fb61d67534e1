"""The safety net: a payment whose notice was lost is found by inquiry-status."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import select

from jobs.payment_status import AccessTokens, check_pending_payments
from models import Invoice, InvoiceStatus, Payment, VirtualAccount
from models.db import session_scope
from models.types import utcnow
from tagih.banksim.client import BankSimulator
from tagih.banksim.ledger import Ledger
from tagih.banksim.server import create_simulator_app
from tagih.settings import get_settings, reset_settings_cache
from tests.bank.conftest import COMPANY_CODE, ServerThread, make_bills


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "ledger.sqlite3")


@pytest.fixture
def bank_api(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch, database: str
) -> Iterator[ServerThread]:
    settings = get_settings()
    app = create_simulator_app(
        ledger, client_secret=settings.snap_client_secret.get_secret_value()
    )
    with ServerThread(app) as running:
        monkeypatch.setenv("SNAP_BANK_BASE_URL", running.url + "/snap")
        reset_settings_cache()
        yield running


async def test_lost_notice_recorded(
    bank: BankSimulator, bank_api: ServerThread, ledger: Ledger
) -> None:
    lost, unpaid, quiet = make_bills(3)
    for bill in (lost, unpaid):
        assert bank.inquiry(bill.va_number, COMPANY_CODE).accepted
    payload = bank.payment_payload(lost.va_number, COMPANY_CODE, lost.amount, request_id="lost")
    ledger.record(COMPANY_CODE, payload)

    result = await check_pending_payments(utcnow() + dt.timedelta(minutes=5))
    assert result == {"checked": 2, "recorded": 1, "not_paid": 1, "errors": 0, "skipped": 0}
    with session_scope() as session:
        payments = session.exec(select(Payment)).all()
        statuses = {invoice.id: invoice.status for invoice in session.exec(select(Invoice)).all()}
    assert [payment.source for payment in payments] == ["inquiry_status"]
    assert statuses[lost.invoice_id] == InvoiceStatus.PAID
    assert statuses[unpaid.invoice_id] == InvoiceStatus.ISSUED
    assert statuses[quiet.invoice_id] == InvoiceStatus.ISSUED

    # The notice turns up late: it gets the success response, and nothing is recorded twice.
    late = bank.send_payment({**payload, "flagAdvise": "Y"})
    assert late.response_code == "2002500"
    again = await check_pending_payments(utcnow() + dt.timedelta(minutes=10))
    assert again["recorded"] == 0
    with session_scope() as session:
        assert len(session.exec(select(Payment)).all()) == 1


async def test_recent_inquiry_waits(bank: BankSimulator, bank_api: ServerThread) -> None:
    bill = make_bills(1)[0]
    assert bank.inquiry(bill.va_number, COMPANY_CODE).accepted
    result = await check_pending_payments(utcnow())
    assert result["checked"] == 0


async def test_unreachable_bank_counted(
    bank: BankSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    bill = make_bills(1)[0]
    with session_scope(write=True) as session:
        session.exec(
            update(VirtualAccount)
            .where(VirtualAccount.number == bill.va_number)
            .values(last_inquiry_at=utcnow() - dt.timedelta(minutes=30))
        )
    monkeypatch.setenv("SNAP_BANK_BASE_URL", "http://127.0.0.1:9/snap")
    reset_settings_cache()
    result = await check_pending_payments()
    assert result["errors"] == 1
    assert result["recorded"] == 0


async def test_non_object_answer_counted(
    bank: BankSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    bill = make_bills(1)[0]
    assert bank.inquiry(bill.va_number, COMPANY_CODE).accepted
    monkeypatch.setenv("SNAP_BANK_BASE_URL", "http://127.0.0.1:9/snap")
    reset_settings_cache()

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/access-token/b2b"):
            body = {"responseCode": "2007300", "accessToken": "t-1", "expiresIn": "900"}
            return httpx.Response(200, json=body)
        return httpx.Response(200, json=["not", "an", "object"])

    result = await check_pending_payments(
        utcnow() + dt.timedelta(minutes=5),
        transport=httpx.MockTransport(answer),
        tokens=AccessTokens(),
    )
    assert result["errors"] == 1
    assert result["recorded"] == 0
