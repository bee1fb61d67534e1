"""Text pieces that several flows show: invoices, amounts and VA numbers."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from functools import lru_cache

from sqlmodel import Session, col, select

from billing.invoices_void import status_name
from billing.va import format_va
from bot.core.inbound import IncomingDocument
from locales import N_, format_date, format_rupiah, tr
from models import Invoice, InvoiceLine, VAStatus, VirtualAccount

VA_STATUS_NAMES = {
    VAStatus.OPEN: N_("open"),
    VAStatus.PAID: N_("paid"),
    VAStatus.CLOSED: N_("closed"),
    VAStatus.EXPIRED: N_("expired"),
}


@lru_cache(maxsize=4096)
def rupiah(amount: int) -> str:
    """format_rupiah, cached: Babel's number formatting dominates long bill lists."""
    return format_rupiah(amount)


@lru_cache(maxsize=4096)
def long_date(value: dt.date, language: str) -> str:
    """format_date, cached for the same reason as rupiah()."""
    return format_date(value, language)


def invoice_subjects(session: Session, invoices: list[Invoice]) -> dict[int, str]:
    """Return what each invoice is for: its description, else its line descriptions."""
    ids = [invoice.id for invoice in invoices if invoice.id is not None]
    lines: dict[int, list[str]] = defaultdict(list)
    if ids:
        query = (
            select(InvoiceLine.invoice_id, InvoiceLine.description)
            .where(col(InvoiceLine.invoice_id).in_(ids))
            .order_by(col(InvoiceLine.invoice_id), col(InvoiceLine.position))
        )
        for invoice_id, description in session.exec(query):
            lines[invoice_id].append(description)
    return {
        invoice.id or 0: invoice.description or ", ".join(lines[invoice.id or 0])
        for invoice in invoices
    }


def va_status_name(status: str, language: str) -> str:
    """Return a VA status in the reader's language; an unknown status is shown as stored."""
    try:
        name = VA_STATUS_NAMES[VAStatus(status)]
    except ValueError:
        return status
    return tr(language, name)


def virtual_accounts(session: Session, invoices: list[Invoice]) -> dict[int, VirtualAccount]:
    ids = [invoice.id for invoice in invoices if invoice.id is not None]
    if not ids:
        return {}
    query = select(VirtualAccount).where(col(VirtualAccount.invoice_id).in_(ids))
    return {account.invoice_id: account for account in session.exec(query)}


def bill_lines(invoice: Invoice, subject: str, va_number: str | None, language: str) -> str:
    """Describe one open bill in three short lines."""
    first = f"• {invoice.number}" + (f" — {subject}" if subject else "")
    second = tr(
        language,
        "{amount}, due {date}",
        amount=rupiah(invoice.total),
        date=long_date(invoice.due_date, language),
    )
    if invoice.status == "overdue":
        second += f" ({status_name(invoice.status).render(language)})"
    third = tr(language, "VA {number}", number=format_va(va_number)) if va_number else ""
    return "\n".join(
        part for part in (first, "  " + second, "  " + third if third else "") if part
    )


def image_instead_of_sheet(document: IncomingDocument, language: str) -> str | None:
    """Return the error for an image sent where a sheet is expected, or None for other files."""
    if document.photo:
        return tr(
            language,
            "You sent a photo, but this step needs a spreadsheet. Send the .xlsx sheet itself "
            "as a file, not a photo or screenshot of it.",
        )
    if document.is_image:
        return tr(
            language,
            "You sent an image ({name}), but this step needs a spreadsheet. Send the .xlsx "
            "sheet itself as a file, not a photo or screenshot of it.",
            name=document.filename,
        )
    return None
