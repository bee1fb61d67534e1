"""The receipt PDF: made for paid bills in both languages, with any script in names."""

from __future__ import annotations

import pytest

from billing.errors import NotFound
from billing.receipts import render_receipt_pdf
from models import Customer, Invoice
from models.db import session_scope
from tagih.banksim.client import BankSimulator
from tests.bank.conftest import COMPANY_CODE, make_bills


def test_receipt_needs_payment(sqlite_database: str) -> None:
    bill = make_bills(1)[0]
    with session_scope() as session, pytest.raises(NotFound):
        render_receipt_pdf(session, bill.invoice_id, "id")


@pytest.mark.parametrize("language", ["id", "en"])
def test_receipt_renders_any_script(bank: BankSimulator, language: str) -> None:
    bill = make_bills(1)[0]
    with session_scope(write=True) as session:
        invoice = session.get(Invoice, bill.invoice_id)
        customer = session.get(Customer, invoice.customer_id)
        customer.name = "Ибрагим 王小明 Ñuñez"
        session.add(customer)
    reply = bank.pay(bill.va_number, COMPANY_CODE, bill.amount, reference_no="REF123")
    assert reply.accepted
    with session_scope() as session:
        pdf = render_receipt_pdf(session, bill.invoice_id, language)
    assert pdf.startswith(b"%PDF-")
    assert len(pdf) > 1000


def test_printable_replaces_missing_glyphs() -> None:
    from billing.receipts import _close_fonts, _pdf, printable

    pdf = _pdf()
    try:
        assert printable(pdf, "Ñuñez 王 Ибрагим") == "Ñuñez ? Ибрагим"
    finally:
        _close_fonts(pdf)
