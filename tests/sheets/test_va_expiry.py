"""VA expiry: one rule for bulk imports and single VAs, capped instead of overflowing."""

from __future__ import annotations

import datetime as dt

from sqlmodel import select

from billing.invoices import InvoiceDraft, LineDraft, issue_invoices
from billing.va import LATEST_EXPIRY, open_virtual_accounts, va_expiry
from models import VirtualAccount
from models.db import session_scope
from models.org import Organisation

NOW = dt.datetime(2026, 12, 4, 8, 0, tzinfo=dt.UTC)


def test_expiry_counts_from_due_date() -> None:
    expiry = va_expiry(dt.date(2031, 1, 15), NOW, 60)
    assert expiry == dt.datetime(2031, 3, 16, 23, 59, 59, tzinfo=dt.UTC)


def test_expiry_of_overdue_counts_from_now() -> None:
    assert va_expiry(dt.date(2026, 11, 1), NOW, 60) == NOW + dt.timedelta(days=60)


def test_expiry_capped_near_year_9999() -> None:
    assert va_expiry(dt.date(9999, 12, 31), NOW, 60) == LATEST_EXPIRY
    assert va_expiry(dt.date(9999, 11, 1), NOW, 60) == LATEST_EXPIRY
    assert va_expiry(dt.date(9999, 10, 1), NOW, 60) < LATEST_EXPIRY
    assert va_expiry(dt.date(9999, 12, 31), NOW, 0) == LATEST_EXPIRY


def test_far_due_date_issued_and_stored(shop: Organisation) -> None:
    draft = InvoiceDraft(
        number="INV-9999",
        customer_name="Budi Santoso",
        due_date=dt.date(9999, 12, 31),
        lines=[LineDraft("Sewa", 1, 500000, 500000)],
        phone="+6281234567890",
    )
    with session_scope(write=True) as session:
        organisation = session.get(Organisation, shop.id)
        issued = issue_invoices(session, organisation, [draft])
    assert issued[0].virtual_account.expires_at == LATEST_EXPIRY
    with session_scope() as session:
        stored = session.exec(select(VirtualAccount.expires_at)).all()
    assert stored == [LATEST_EXPIRY]
    with session_scope(write=True) as session:
        organisation = session.get(Organisation, shop.id)
        # An invoice has one VA, so this second one is checked and then rolled back.
        single = open_virtual_accounts(session, organisation, [issued[0].invoice])
        assert single[0].expires_at == LATEST_EXPIRY
        session.rollback()
