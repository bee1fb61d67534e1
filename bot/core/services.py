"""Calls into billing modules that other areas own, in the shape the chat flows need.

Each call imports its module when used, so a billing module that is not installed yet turns
into a clear "not available" answer instead of an import error at start-up.
"""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from sqlmodel import Session

from billing.errors import UserError
from locales import Msg
from models import Organisation


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
    value: str
    message: str


@dataclass
class PreviewView:
    """What the chat shows of an uploaded sheet before staff decide."""

    batch_id: int
    invoice_count: int
    valid_invoice_count: int
    total: int  # rupiah, every invoice
    valid_total: int  # rupiah, invoices without problems
    new_customers: int
    problems: list[Problem] = field(default_factory=list)
    annotated: bytes | None = None


def _get(source: Any, name: str, default: Any = None) -> Any:
    if isinstance(source, dict):
        return source.get(name, default)
    return getattr(source, name, default)


def _render(value: Any, language: str) -> str:
    if isinstance(value, Msg):
        return value.render(language)
    if isinstance(value, dict) and "message" in value:
        message_id = value["message"]
        return Msg(message_id, value.get("params") or {}).render(language)
    return "" if value is None else str(value)


def _problem(item: Any, language: str) -> Problem:
    row = _get(item, "row")
    if isinstance(row, list | tuple):
        row = row[0] if row else None
    return Problem(
        row=row,
        column=str(_get(item, "column", "") or ""),
        value=str(_get(item, "value", "") or ""),
        message=_render(_get(item, "message"), language),
    )


def _count(value: Any) -> int:
    return len(value) if isinstance(value, list | tuple | set) else int(value or 0)


def preview_upload(
    session: Session,
    organisation: Organisation,
    *,
    filename: str,
    content: bytes,
    uploaded_by: str,
    language: str,
) -> PreviewView:
    """Read an uploaded sheet into a waiting batch and describe it."""
    imports = _module("billing.imports")
    result = imports.preview_upload(
        session, organisation, filename=filename, content=content, uploaded_by=uploaded_by
    )
    # NOTE: the result's field names follow billing.imports as written when this was; a
    # field it does not have reads as empty here.
    batch = _get(result, "batch")
    invoices = _get(result, "invoices", [])
    valid = _get(result, "valid_invoices", None)
    problems = [_problem(item, language) for item in _get(result, "errors", []) or []]
    return PreviewView(
        batch_id=int(_get(result, "batch_id", None) or _get(batch, "id", 0)),
        invoice_count=_count(_get(result, "invoice_count", None) or invoices),
        valid_invoice_count=_count(valid if valid is not None else invoices),
        total=int(_get(result, "total", 0) or 0),
        valid_total=int(_get(result, "valid_total", None) or _get(result, "total", 0) or 0),
        new_customers=_count(_get(result, "new_customers", 0)),
        problems=problems,
        annotated=_get(result, "annotated", None) or _get(result, "annotated_sheet", None),
    )


def confirm_batch(session: Session, batch_id: int, *, only_valid: bool) -> int:
    """Issue the invoices of a waiting batch; return how many were issued."""
    result = _module("billing.imports").confirm_batch(session, batch_id, only_valid=only_valid)
    issued = _get(result, "imported", None)
    if issued is None:
        issued = _get(result, "issued", result)
    return _count(issued)


def cancel_batch(session: Session, batch_id: int) -> None:
    _module("billing.imports").cancel_batch(session, batch_id)


def build_template(session: Session, organisation: Organisation, language: str) -> bytes:
    """Return the organisation's bill template as .xlsx bytes."""
    templates = _module("billing.sheets.templates")
    return bytes(templates.build_template(session, organisation, language=language))


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
