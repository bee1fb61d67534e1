"""The invoice report: statuses, payments and notice delivery per channel."""

from __future__ import annotations

import datetime as dt
import io

from openpyxl import load_workbook
from sqlmodel import select

from billing.orgs import get_organisation
from billing.reports import build_invoice_report
from models import Invoice, InvoiceStatus, Notice, NoticeAttempt, NoticeKind, NoticeStatus
from models.db import session_scope
from tagih.banksim.client import BankSimulator
from tests.bank.conftest import COMPANY_CODE, make_bills


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
