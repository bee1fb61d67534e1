"""Voiding a wrong invoice: the invoice is archived, its VA closes and the payer is notified."""

from __future__ import annotations

import logging

from sqlmodel import Session, select

from billing.errors import NotFound, UserError
from billing.invoices import invoice_number_key
from billing.notices import queue_notice
from locales import N_, Msg
from models import (
    Customer,
    Invoice,
    InvoiceStatus,
    NoticeKind,
    Organisation,
    VAStatus,
    VirtualAccount,
)
from models.types import utcnow
from tagih.logs import short_hash

log = logging.getLogger(__name__)

VOIDABLE = (InvoiceStatus.ISSUED, InvoiceStatus.OVERDUE)

STATUS_NAMES = {
    InvoiceStatus.ISSUED: N_("issued"),
    InvoiceStatus.PAID: N_("paid"),
    InvoiceStatus.OVERDUE: N_("overdue"),
    InvoiceStatus.VOID: N_("void"),
    InvoiceStatus.EXPIRED: N_("expired"),
}


def voided_key_prefix(number_key: str) -> str:
    """Return the start of the comparison key a voided invoice gets.

    The number is cut to 40 characters because the column is 64 characters wide.
    """
    return f"{number_key[:40]}#void-"


def status_name(status: InvoiceStatus | str) -> Msg:
    """Return the invoice status as a message that renders in the reader's language."""
    return Msg(STATUS_NAMES[InvoiceStatus(status)])


def find_invoice(
    session: Session, organisation: Organisation, number: str, *, lock: bool = False
) -> Invoice:
    """Return the organisation's invoice with this number, or raise NotFound.

    A number in use wins; otherwise the most recently voided invoice with that number is
    returned, so a lookup still shows why a bill disappeared.
    """
    key = invoice_number_key(number)
    query = select(Invoice).where(
        Invoice.organisation_id == organisation.id, Invoice.number_key == key
    )
    if lock:
        query = query.with_for_update()
    invoice = session.exec(query).first()
    if invoice is None:
        voided = (
            select(Invoice)
            .where(
                Invoice.organisation_id == organisation.id,
                Invoice.number_key.startswith(voided_key_prefix(key), autoescape=True),
            )
            .order_by(Invoice.id.desc())
        )
        invoice = session.exec(voided.with_for_update() if lock else voided).first()
    if invoice is None:
        raise NotFound(
            "invoice.not_found",
            "Invoice {number} was not found. Check the number and try again.",
            number=number.strip(),
        )
    return invoice


def void_invoice(
    session: Session, organisation: Organisation, invoice_number: str, *, reason: str, actor: str
) -> Invoice:
    """Void an unpaid invoice, close its VA and queue the INVOICE_VOIDED notice to the payer.

    Raises NotFound for an unknown number and UserError when the invoice is paid or void.
    The caller owns the transaction; a payment racing this call waits on the row locks.
    """
    invoice = find_invoice(session, organisation, invoice_number, lock=True)
    if invoice.status not in VOIDABLE:
        raise UserError(
            "invoice.not_voidable",
            "Invoice {number} is {status} and cannot be voided.",
            number=invoice.number,
            status=status_name(invoice.status),
        )
    account = session.exec(
        select(VirtualAccount).where(VirtualAccount.invoice_id == invoice.id).with_for_update()
    ).first()
    if account is not None and account.status == VAStatus.PAID:
        raise UserError(
            "invoice.not_voidable",
            "Invoice {number} is {status} and cannot be voided.",
            number=invoice.number,
            status=status_name(InvoiceStatus.PAID),
        )
    now = utcnow()
    # Free the number so a corrected invoice can be issued under it; the voided one keeps
    # its number for display and is found by voided_key_prefix.
    invoice.number_key = voided_key_prefix(invoice.number_key) + str(invoice.id)
    invoice.status = InvoiceStatus.VOID
    invoice.voided_at = now
    invoice.void_reason = reason.strip()[:500] or None
    if account is not None:
        account.status = VAStatus.CLOSED
        account.closed_at = now
    customer = session.get(Customer, invoice.customer_id)
    queue_notice(
        session,
        organisation,
        kind=NoticeKind.INVOICE_VOIDED,
        customer=customer,
        invoice=invoice,
        dedupe_key=f"voided:{invoice.id}",
    )
    session.flush()
    log.info("invoice %s voided by %s", invoice.id, short_hash(actor))
    return invoice
