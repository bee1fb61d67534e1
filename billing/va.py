"""VA numbers: the organisation's company code plus a customerNo that is never reused."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlmodel import Session

from models import Invoice, Organisation, VirtualAccount
from models.types import utcnow

DEFAULT_VA_LENGTH = 16
# The latest expiry a VA gets: a day before datetime.max, so the timestamp still fits when it
# is converted to any time zone (offsets reach +14:00).
LATEST_EXPIRY = dt.datetime(9999, 12, 30, 23, 59, 59, tzinfo=dt.UTC)


def va_length(organisation: Organisation) -> int:
    return int(organisation.preferences.get("va_length", DEFAULT_VA_LENGTH))


def reserve_customer_numbers(
    session: Session, organisation: Organisation, count: int
) -> list[str]:
    """Take the next `count` customerNo values of an organisation in one atomic update.

    The counter only grows and every VA row is kept (paid, voided or expired), so a number
    that reached a customer is never handed out again. A rolled-back transaction returns its
    numbers with it, which is safe because nobody saw them.
    """
    last = session.execute(
        text(
            "UPDATE organisation SET va_sequence = va_sequence + :count "
            "WHERE id = :id RETURNING va_sequence"
        ),
        {"count": count, "id": organisation.id},
    ).scalar_one()
    width = va_length(organisation) - len(organisation.company_code)
    first = last - count + 1
    numbers = [str(n).zfill(width) for n in range(first, last + 1)]
    if len(numbers[-1]) > width:
        raise OverflowError(
            f"VA numbers of organisation {organisation.slug} exceed "
            f"{va_length(organisation)} digits"
        )
    organisation.va_sequence = last
    return numbers


def va_expiry(due_date: dt.date, now: dt.datetime, validity_days: int) -> dt.datetime:
    """Return when a VA expires: `validity_days` after the end of its due date (UTC).

    A VA issued after its due date counts from `now` instead. The result is capped at
    LATEST_EXPIRY, so a due date near the year 9999 cannot overflow.
    """
    due_end = dt.datetime.combine(due_date, dt.time(23, 59, 59), tzinfo=dt.UTC)
    start = max(due_end, now)
    validity = dt.timedelta(days=validity_days)
    if start >= LATEST_EXPIRY - validity:
        return LATEST_EXPIRY
    return start + validity


def open_virtual_accounts(
    session: Session,
    organisation: Organisation,
    invoices: list[Invoice],
    *,
    validity_days: int = 60,
) -> list[VirtualAccount]:
    """Give each invoice its own closed-amount VA, valid `validity_days` past its due date."""
    numbers = reserve_customer_numbers(session, organisation, len(invoices))
    now = utcnow()
    accounts = []
    for invoice, customer_no in zip(invoices, numbers, strict=True):
        accounts.append(
            VirtualAccount(
                organisation_id=organisation.id,
                invoice_id=invoice.id,
                company_code=organisation.company_code,
                customer_no=customer_no,
                number=organisation.company_code + customer_no,
                amount=invoice.total,
                expires_at=va_expiry(invoice.due_date, now, validity_days),
            )
        )
    session.add_all(accounts)
    return accounts


def format_va(number: str) -> str:
    """Group a VA number in fours for reading aloud: 8808 0000 0000 0001."""
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))
