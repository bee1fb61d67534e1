"""The SNAP endpoints end to end through the simulator: token, inquiry, payment."""

from __future__ import annotations

from sqlmodel import select

from models import Invoice, InvoiceStatus, Notice, NoticeKind, Payment, VAStatus, VirtualAccount
from models.db import session_scope
from tagih.banksim.client import BankSimulator
from tests.bank.conftest import COMPANY_CODE, make_bills


def test_inquiry_shows_bill(bank: BankSimulator) -> None:
    bill = make_bills(1)[0]
    reply = bank.inquiry(bill.va_number, COMPANY_CODE)
    assert reply.response_code == "2002400"
    data = reply.body["virtualAccountData"]
    assert data["inquiryStatus"] == "00"
    assert data["totalAmount"] == {"value": "350000.00", "currency": "IDR"}
    assert data["virtualAccountName"] == "Pelanggan 1"
    assert data["inquiryReason"]["indonesia"]


def test_payment_marks_invoice_paid(bank: BankSimulator) -> None:
    bill = make_bills(1)[0]
    reply = bank.pay(bill.va_number, COMPANY_CODE, bill.amount, request_id="req-1")
    assert reply.response_code == "2002500", reply.body
    assert reply.body["virtualAccountData"]["paymentFlagStatus"] == "00"
    with session_scope() as session:
        invoice = session.get(Invoice, bill.invoice_id)
        assert invoice.status == InvoiceStatus.PAID
        account = session.exec(select(VirtualAccount)).one()
        assert account.status == VAStatus.PAID
        payments = session.exec(select(Payment)).all()
        assert len(payments) == 1
        kinds = sorted(n.kind for n in session.exec(select(Notice)).all())
    assert NoticeKind.RECEIPT in kinds
    assert kinds.count(NoticeKind.STAFF_PAYMENT) == 2

    again = bank.pay(bill.va_number, COMPANY_CODE, bill.amount, request_id="req-2")
    assert again.response_code == "4042514"
