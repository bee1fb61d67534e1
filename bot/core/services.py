"""Calls into billing modules that other areas own, in the shape the chat flows need.

Each call imports its module when used, so a billing module that is not installed yet turns
into a clear "not available" reply instead of an import error at start-up.
"""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from sqlmodel import Session, select

from billing.errors import UserError
from models import Customer, Organisation


def _module(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name != name:
            raise
        raise UserError(
            "chat.feature_unavailable",
            "This feature is not available yet. Please try again later.",
        ) from error


@dataclass
class Problem:
    row: int | None
    column: str
    message: str


@dataclass
class PreviewView:
    """The summary of an uploaded sheet that the chat shows before staff decide."""

    batch_id: int | None  # None when the file itself could not be read
    invoice_count: int  # invoices ready to issue
    total: int  # rupiah, of the invoices ready to issue
    new_customers: int
    invalid_rows: int
    problems: list[Problem] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)  # numbers already issued, skipped
    file_error: str | None = None
    annotated: bytes | None = None


def _problem(item: Any, language: str) -> Problem:
    return Problem(row=item.row, column=item.column or "", message=item.message.render(language))


def _new_customers(session: Session, organisation: Organisation, result: Any) -> int:
    """Count the payers in a checked sheet that the organisation does not know yet."""
    known = session.exec(
        select(Customer.phone, Customer.email).where(Customer.organisation_id == organisation.id)
    ).all()
    phones = {phone for phone, _email in known if phone}
    emails = {email.lower() for _phone, email in known if email}
    new: set[tuple[str, str, str]] = set()
    for invoice in result.invoices:
        draft = invoice.draft
        if draft.customer_id is not None or draft.phone in phones:
            continue
        if draft.email and draft.email.lower() in emails:
            continue
        new.add((draft.phone or "", (draft.email or "").lower(), draft.customer_name.casefold()))
    return len(new)


def preview_upload(
    session: Session,
    organisation: Organisation,
    *,
    filename: str,
    content: bytes,
    uploaded_by: str,
    language: str,
) -> PreviewView:
    """Check an uploaded sheet into a waiting batch and describe it, with an annotated copy."""
    imports = _module("billing.imports")
    batch, result = imports.preview_upload(
        session, organisation, filename, content, uploaded_by=uploaded_by
    )
    if result.file_error is not None:
        return PreviewView(
            batch_id=None,
            invoice_count=0,
            total=0,
            new_customers=0,
            invalid_rows=0,
            file_error=result.file_error.message.render(language),
        )
    return PreviewView(
        batch_id=batch.id,
        invoice_count=len(result.invoices),
        total=result.total,
        new_customers=_new_customers(session, organisation, result),
        invalid_rows=len(result.invalid_rows),
        problems=[_problem(item, language) for item in result.errors],
        existing=list(result.existing),
        annotated=_annotated(content, result, language) if result.errors else None,
    )


def _annotated(content: bytes, result: Any, language: str) -> bytes | None:
    try:
        annotate = _module("billing.sheets.annotate")
    except UserError:
        return None  # the summary still lists every problem with its row
    return bytes(annotate.annotate_sheet(content, result, language))


def confirm_batch(
    session: Session, organisation: Organisation, batch_id: int, *, only_valid: bool
) -> int | None:
    """Issue the invoices of a waiting batch; return how many, or None if rows still fail."""
    result = _module("billing.imports").confirm_batch(
        session, batch_id, only_valid=only_valid, organisation_id=organisation.id
    )
    if result.file_error is not None or (result.errors and not only_valid):
        return None
    return int(result.imported or 0)


def cancel_batch(session: Session, organisation: Organisation, batch_id: int) -> None:
    _module("billing.imports").cancel_batch(session, batch_id, organisation_id=organisation.id)


def build_template(session: Session, organisation: Organisation) -> bytes:
    """Return the organisation's bill template as .xlsx bytes."""
    sheet_type = _module("billing.imports").resolve_type(organisation, "bills")
    templates = _module("billing.sheets.templates")
    return bytes(templates.build_template(session, organisation, sheet_type))


def render_receipt_pdf(session: Session, invoice_id: int, language: str) -> bytes:
    return bytes(_module("billing.receipts").render_receipt_pdf(session, invoice_id, language))


def build_invoice_report(
    session: Session, organisation: Organisation, *, start: dt.date, end: dt.date, language: str
) -> bytes:
    reports = _module("billing.reports")
    report = reports.build_invoice_report(
        session, organisation, start=start, end=end, language=language
    )
    return bytes(report)


def set_reminders_paused(session: Session, customer_ids: list[int], paused: bool) -> None:
    _module("billing.reminders").set_reminders_paused(session, customer_ids, paused)


def record_delivery_status(
    session: Session, provider_message_id: str, status: str, error: str | None = None
) -> None:
    _module("billing.notices").record_delivery_status(session, provider_message_id, status, error)
