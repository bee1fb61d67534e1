"""A voided invoice frees its number for a corrected one, and stays visible by that number."""

from __future__ import annotations

import datetime as dt

from sqlmodel import select

from billing.invoices import InvoiceDraft, LineDraft, issue_invoices
from billing.invoices_void import find_invoice, void_invoice
from billing.orgs import create_organisation
from models import Invoice, InvoiceStatus
from models.db import session_scope


def _draft(amount: int) -> InvoiceDraft:
    return InvoiceDraft(
        number="INV-7",
        customer_name="Budi",
        phone="+6281234567890",
        due_date=dt.date(2031, 1, 15),
        lines=[LineDraft("Seragam", 1, amount, amount)],
    )


def test_corrected_invoice_after_void(database: str) -> None:
    with session_scope(write=True) as session:
        organisation = create_organisation(
            session,
            slug="toko",
            kind="invoice",
            name="Toko",
            company_code="88081",
            admin_phone="081200000001",
        )
        issue_invoices(session, organisation, [_draft(150000)])
    with session_scope(write=True) as session:
        organisation = session.get(type(organisation), organisation.id)
        void_invoice(session, organisation, "inv-7", reason="wrong amount", actor="+6281200000001")
    with session_scope(write=True) as session:
        organisation = session.get(type(organisation), organisation.id)
        assert find_invoice(session, organisation, "INV-7").status == InvoiceStatus.VOID
        issue_invoices(session, organisation, [_draft(175000)])
    with session_scope() as session:
        organisation = session.get(type(organisation), organisation.id)
        invoices = session.exec(select(Invoice).order_by(Invoice.id)).all()
        current = find_invoice(session, organisation, "INV-7")
    assert [invoice.status for invoice in invoices] == [InvoiceStatus.VOID, InvoiceStatus.ISSUED]
    assert [invoice.number for invoice in invoices] == ["INV-7", "INV-7"]
    assert current.total == 175000
