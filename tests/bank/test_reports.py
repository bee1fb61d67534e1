"""The invoice report: statuses, payments and notice delivery per channel."""

from __future__ import annotations

import datetime as dt
import io

from openpyxl import load_workbook
from sqlmodel import select

from billing.orgs import get_organisation
from billing.reports import build_invoice_report
from models import (
    Customer,
    Invoice,
    InvoiceStatus,
    Notice,
    NoticeAttempt,
    NoticeKind,
    NoticeStatus,
    Payment,
)
from models.db import session_scope
from tagih.banksim.client import BankSimulator
from tests.bank.conftest import COMPANY_CODE, make_bills
from tests.text_cells import FORMULA_LIKE, formula_cells


def _rows(content: bytes, sheet: int = 0) -> list[tuple]:
    workbook = load_workbook(io.BytesIO(content))
    return list(workbook.worksheets[sheet].iter_rows(values_only=True))


def test_report_statuses_and_payments(bank: BankSimulator) -> None:
    paid, delivered, overdue, voided, issued = make_bills(5)
    assert bank.pay(paid.va_number, COMPANY_CODE, paid.amount, reference_no="BNK777").accepted
    with session_scope(write=True) as session:
        notice = session.exec(
            select(Notice).where(
                Notice.invoice_id == delivered.invoice_id,
                Notice.kind == NoticeKind.INVOICE_ISSUED,
            )
        ).one()
        notice.status = NoticeStatus.DELIVERED
        notice.channel = "whatsapp"
        session.add(notice)
        session.add(NoticeAttempt(notice_id=notice.id, channel="email", status="failed"))
        late = session.get(Invoice, overdue.invoice_id)
        late.due_date = dt.date(2020, 1, 31)
        session.add(late)
        void = session.get(Invoice, voided.invoice_id)
        void.status = InvoiceStatus.VOID
        session.add(void)

    with session_scope() as session:
        organisation = get_organisation(session, "toko-maju")
        content = build_invoice_report(session, organisation, start=None, end=None, language="en")
    rows = _rows(content)
    header, body = rows[0], {row[0]: row for row in rows[1:]}
    assert header[:5] == ("Invoice number", "Customer", "Issued", "Due date", "Status")
    assert body[paid.number][4] == "paid"
    assert body[paid.number][8] == "BNK777"
    assert body[paid.number][5] == 350_000
    assert isinstance(body[paid.number][7], dt.datetime)
    assert body[delivered.number][4] == "delivered"
    assert body[delivered.number][header.index("Notice: whatsapp")] == "delivered"
    assert body[delivered.number][header.index("Notice: email")] == "failed"
    assert body[overdue.number][4] == "overdue"
    assert body[voided.number][4] == "void"
    assert body[issued.number][4] == "issued"
    payments = _rows(content, 1)
    assert len(payments) == 2
    assert payments[1][1] == paid.number


def test_report_date_range_in_indonesian(sqlite_database: str) -> None:
    make_bills(2)
    with session_scope() as session:
        organisation = get_organisation(session, "toko-maju")
        tomorrow = dt.date.today() + dt.timedelta(days=2)  # noqa: DTZ011
        empty = build_invoice_report(
            session, organisation, start=tomorrow, end=None, language="id"
        )
        everything = build_invoice_report(
            session, organisation, start=None, end=tomorrow, language="id"
        )
    assert len(_rows(empty)) == 1
    rows = _rows(everything)
    assert rows[0][0] == "Nomor tagihan"
    assert [row[4] for row in rows[1:]] == ["terbit", "terbit"]


def test_report_keeps_formula_like_text(bank: BankSimulator) -> None:
    bills = make_bills(len(FORMULA_LIKE))
    assert bank.pay(bills[0].va_number, COMPANY_CODE, bills[0].amount).accepted
    with session_scope(write=True) as session:
        for bill, text in zip(bills, FORMULA_LIKE, strict=True):
            invoice = session.get(Invoice, bill.invoice_id)
            invoice.number = text
            customer = session.get(Customer, invoice.customer_id)
            customer.name = f"{text} Budi"
            session.add_all([invoice, customer])
        payment = session.exec(
            select(Payment).where(Payment.invoice_id == bills[0].invoice_id)
        ).one()
        payment.reference_no = '=HYPERLINK("http://evil.example.com","x")'
        payment.payment_request_id = "@SUM(A1)"
        payment.channel_code = "-5"
        session.add(payment)

    with session_scope() as session:
        organisation = get_organisation(session, "toko-maju")
        content = build_invoice_report(session, organisation, start=None, end=None, language="en")

    assert formula_cells(content) == []
    rows = _rows(content)
    assert sorted(row[0] for row in rows[1:]) == sorted(FORMULA_LIKE)
    assert sorted(row[1] for row in rows[1:]) == sorted(f"{text} Budi" for text in FORMULA_LIKE)
    paid = next(row for row in rows[1:] if row[0] == FORMULA_LIKE[0])
    assert paid[8] == '=HYPERLINK("http://evil.example.com","x")'
    assert paid[9] == "-5"
    payments = _rows(content, 1)
    assert payments[1][1] == FORMULA_LIKE[0]
    assert payments[1][4] == '=HYPERLINK("http://evil.example.com","x")'
    assert payments[1][5] == "@SUM(A1)"
