"""Concurrent payments into one VA, concurrent retries, and a payment during an import."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlmodel import func, select

from billing.invoices import InvoiceDraft, LineDraft, issue_invoices
from billing.orgs import get_organisation
from models import Notice, NoticeKind, Payment
from models.db import session_scope
from models.types import utcnow
from tagih.banksim.client import BankReply, BankSimulator
from tests.bank.conftest import COMPANY_CODE, make_bills

WORKERS = 50


def _clone(bank: BankSimulator) -> BankSimulator:
    """A simulator with its own HTTP client and the same token, for one thread."""
    bank.token()
    return dataclasses.replace(bank, _client=None)


def _all_at_once(bank: BankSimulator, send) -> list[BankReply]:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(WORKERS)
    clones = [_clone(bank) for _ in range(WORKERS)]

    def run(index: int) -> BankReply:
        barrier.wait()
        with clones[index] as simulator:
            return send(simulator, index)

    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(run, range(WORKERS)))


def _payments(invoice_id: int | None = None) -> list[Payment]:
    with session_scope() as session:
        query = select(Payment)
        if invoice_id is not None:
            query = query.where(Payment.invoice_id == invoice_id)
        return list(session.exec(query).all())


def test_concurrent_payments_one_accepted(bank: BankSimulator) -> None:
    bill = make_bills(1)[0]
    replies = _all_at_once(
        bank,
        lambda simulator, index: simulator.pay(
            bill.va_number, COMPANY_CODE, bill.amount, request_id=f"race-{index}"
        ),
    )
    codes = sorted(reply.response_code for reply in replies)
    assert codes.count("2002500") == 1
    assert codes.count("4042514") == WORKERS - 1
    assert len(_payments()) == 1
    with session_scope() as session:
        receipts = session.exec(
            select(func.count()).select_from(Notice).where(Notice.kind == NoticeKind.RECEIPT)
        ).one()
    assert receipts == 1


def test_concurrent_identical_retries(bank: BankSimulator) -> None:
    bill = make_bills(1)[0]
    payload = bank.payment_payload(bill.va_number, COMPANY_CODE, bill.amount, request_id="same")
    replies = _all_at_once(bank, lambda simulator, _index: simulator.send_payment(payload))
    codes = {reply.response_code for reply in replies}
    assert codes == {"2002500"}
    bodies = {str(reply.body) for reply in replies}
    assert len(bodies) == 1
    assert len(_payments()) == 1


def test_payment_during_open_import(bank: BankSimulator) -> None:
    """The import's VA is paid while the import is still open: the payment waits for it."""
    make_bills(1)
    opened = threading.Event()
    finished = threading.Event()
    created: dict[str, int | str] = {}

    def import_slowly() -> None:
        with session_scope(write=True) as session:
            organisation = get_organisation(session, "toko-maju")
            issued = issue_invoices(
                session,
                organisation,
                [
                    InvoiceDraft(
                        number="INV-LATE",
                        customer_name="Pelanggan Telat",
                        due_date=utcnow().date() + dt.timedelta(days=7),
                        lines=[LineDraft("Gula", 1, 90_000, 90_000)],
                        phone="+6281299990000",
                    )
                ],
            )
            session.flush()
            created["va"] = issued[0].virtual_account.number
            created["invoice"] = issued[0].invoice.id
            opened.set()
            finished.wait(1.5)

    importer = threading.Thread(target=import_slowly)
    importer.start()
    assert opened.wait(10)
    simulator = _clone(bank)
    payload = simulator.payment_payload(str(created["va"]), COMPANY_CODE, 90_000)
    codes = []
    for _attempt in range(5):
        # The bank retries after a 5xx response; anything else is final.
        reply = simulator.send_payment(payload)
        codes.append(reply.response_code)
        if not reply.response_code.startswith("5"):
            break
    importer.join()
    simulator.close()
    assert codes[-1] == "2002500", codes
    assert "4042512" not in codes
    assert len(_payments(int(created["invoice"]))) == 1
