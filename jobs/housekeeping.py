"""Status changes driven by the clock: overdue invoices and expired VAs."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session, col, select

from models import Invoice, InvoiceStatus, Organisation, VAStatus, VirtualAccount

log = logging.getLogger(__name__)


def mark_overdue(session: Session, *, now: dt.datetime) -> int:
    """Mark issued invoices whose due date has passed in their organisation's zone."""
    marked = 0
    for organisation in session.exec(select(Organisation)).all():
        today = now.astimezone(ZoneInfo(organisation.timezone)).date()
        result = session.execute(
            update(Invoice)
            .where(
                Invoice.organisation_id == organisation.id,
                Invoice.status == InvoiceStatus.ISSUED,
                Invoice.due_date < today,
            )
            .values(status=InvoiceStatus.OVERDUE)
            .execution_options(synchronize_session=False)
        )
        marked += int(result.rowcount or 0)  # type: ignore[attr-defined]
    if marked:
        log.info("Marked %s invoices overdue", marked)
    return marked


def expire_virtual_accounts(session: Session, *, now: dt.datetime) -> int:
    """Close open VAs past their expiry and mark their unpaid invoices expired.

    The VA rows are locked first (on PostgreSQL), so a payment that is being recorded for
    one of them either finishes before or finds the VA expired.
    """
    query = select(VirtualAccount.id, VirtualAccount.invoice_id).where(
        VirtualAccount.status == VAStatus.OPEN, VirtualAccount.expires_at < now
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = session.exec(query).all()
    if not rows:
        return 0
    account_ids = [account_id for account_id, _ in rows]
    invoice_ids = [invoice_id for _, invoice_id in rows]
    session.execute(
        update(VirtualAccount)
        .where(col(VirtualAccount.id).in_(account_ids))
        .values(status=VAStatus.EXPIRED, closed_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Invoice)
        .where(
            col(Invoice.id).in_(invoice_ids),
            col(Invoice.status).in_([InvoiceStatus.ISSUED, InvoiceStatus.OVERDUE]),
        )
        .values(status=InvoiceStatus.EXPIRED)
        .execution_options(synchronize_session=False)
    )
    log.info("Expired %s virtual accounts", len(account_ids))
    return len(account_ids)
