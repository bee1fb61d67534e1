"""The notice outbox: rows written in the same transaction as the event that causes them.

The worker renders and sends them after commit (jobs.sender).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from models import Customer, Invoice, Notice, NoticeKind, Organisation


def default_channels(customer: Customer) -> list[str]:
    """Chat first for a person with a phone, e-mail for a person with only an e-mail address."""
    channels: list[str] = []
    if customer.phone:
        channels += ["whatsapp", "telegram"]
    if customer.email:
        channels.append("email")
    if customer.phone:
        channels.append("sms")
    return channels


def queue_notice(
    session: Session,
    organisation: Organisation,
    *,
    kind: NoticeKind,
    customer: Customer | None = None,
    invoice: Invoice | None = None,
    payload: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    channels: list[str] | None = None,
) -> Notice:
    notice = Notice(
        organisation_id=organisation.id,
        kind=kind,
        dedupe_key=dedupe_key,
        customer_id=customer.id if customer else None,
        invoice_id=invoice.id if invoice else None,
        recipient_name=customer.name if customer else "",
        recipient_phone=customer.phone if customer else None,
        recipient_email=customer.email if customer else None,
        language=(customer.language if customer and customer.language else organisation.language),
        channels=channels if channels is not None else (default_channels(customer) if customer else []),
        payload=payload or {},
    )
    session.add(notice)
    return notice


def queue_invoice_issued(
    session: Session, organisation: Organisation, invoice: Invoice, customer: Customer
) -> Notice:
    return queue_notice(
        session,
        organisation,
        kind=NoticeKind.INVOICE_ISSUED,
        customer=customer,
        invoice=invoice,
        dedupe_key=f"issued:{invoice.id}",
    )
