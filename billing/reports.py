"""The invoice report staff download: every invoice with its status, payment and notices."""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlmodel import Session, select

from billing.xlsx import text_row
from locales import N_, normalise_language, tr
from models import (
    Customer,
    Invoice,
    InvoiceStatus,
    Notice,
    NoticeAttempt,
    NoticeKind,
    NoticeStatus,
    Organisation,
    Payment,
    VirtualAccount,
)

CHANNELS = ("whatsapp", "telegram", "email", "sms")
RUPIAH_FORMAT = "#,##0"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"

STATUS_LABELS = {
    "issued": N_("issued"),
    "delivered": N_("delivered"),
    "paid": N_("paid"),
    "overdue": N_("overdue"),
    "void": N_("void"),
    "expired": N_("expired"),
}
# Delivery results, best first: a channel shows the best result any notice reached on it.
DELIVERY_LABELS = {
    "read": N_("read"),
    "delivered": N_("delivered"),
    "sent": N_("sent"),
    "pending": N_("pending"),
    "sending": N_("pending"),
    "failed": N_("failed"),
    "cancelled": N_("cancelled"),
}
_DELIVERY_RANK = {name: rank for rank, name in enumerate(DELIVERY_LABELS)}

INVOICE_HEADERS = (
    N_("Invoice number"),
    N_("Customer"),
    N_("Issued"),
    N_("Due date"),
    N_("Status"),
    N_("Amount (Rp)"),
    N_("Virtual Account"),
    N_("Paid at"),
    N_("Bank reference"),
    N_("Payment channel"),
)
PAYMENT_HEADERS = (
    N_("Paid at"),
    N_("Invoice number"),
    N_("Amount (Rp)"),
    N_("Virtual Account"),
    N_("Bank reference"),
    N_("Payment request id"),
    N_("Payment channel"),
    N_("Recorded from"),
)


def _local(moment: dt.datetime | None, zone: ZoneInfo) -> dt.datetime | None:
    """Return local wall-clock time without a zone, because Excel cells cannot hold one."""
    return moment.astimezone(zone).replace(tzinfo=None) if moment else None


def invoice_status(invoice: Invoice, delivered: bool, today: dt.date) -> str:
    """Return the report status: paid, void, expired, overdue, delivered or issued."""
    if invoice.status in (InvoiceStatus.PAID, InvoiceStatus.VOID, InvoiceStatus.EXPIRED):
        return str(invoice.status)
    if invoice.status == InvoiceStatus.OVERDUE or invoice.due_date < today:
        return "overdue"
    return "delivered" if delivered else "issued"


def _delivery_by_channel(
    session: Session, invoice_ids: list[int]
) -> tuple[dict[int, dict[str, str]], set[int]]:
    """Return the best delivery result per invoice and channel, and the delivered invoices."""
    best: dict[int, dict[str, str]] = defaultdict(dict)
    delivered: set[int] = set()

    def note(invoice_id: int, channel: str | None, status: str) -> None:
        if channel not in CHANNELS or status not in _DELIVERY_RANK:
            return
        current = best[invoice_id].get(channel)
        if current is None or _DELIVERY_RANK[status] < _DELIVERY_RANK[current]:
            best[invoice_id][channel] = status

    for start in range(0, len(invoice_ids), 500):
        chunk = invoice_ids[start : start + 500]
        notices = session.exec(select(Notice).where(Notice.invoice_id.in_(chunk))).all()
        by_id = {notice.id: notice for notice in notices}
        for notice in notices:
            assert notice.invoice_id is not None
            note(notice.invoice_id, notice.channel, str(notice.status))
            issued = notice.kind == NoticeKind.INVOICE_ISSUED
            if issued and notice.status in (NoticeStatus.DELIVERED, NoticeStatus.READ):
                delivered.add(notice.invoice_id)
        if by_id:
            attempts = session.exec(
                select(NoticeAttempt).where(NoticeAttempt.notice_id.in_(list(by_id)))
            ).all()
            for attempt in attempts:
                invoice_id = by_id[attempt.notice_id].invoice_id
                assert invoice_id is not None
                note(invoice_id, attempt.channel, attempt.status)
    return best, delivered


def _write_header(sheet: Worksheet, headers: list[str]) -> None:
    sheet.append(text_row(sheet, headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for index, header in enumerate(headers, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(12, len(header) + 4)


def _format_columns(sheet: Worksheet, formats: dict[int, str]) -> None:
    for column, number_format in formats.items():
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
            cell.number_format = number_format
    if sheet.max_row > 1:
        sheet.auto_filter.ref = sheet.dimensions


def build_invoice_report(
    session: Session,
    organisation: Organisation,
    *,
    start: dt.date | None,
    end: dt.date | None,
    language: str | None,
) -> bytes:
    """Build the .xlsx report of an organisation's invoices issued from `start` to `end`.

    Both dates are inclusive, in the organisation's time zone, and None leaves that side
    open. The first sheet lists invoices with notice delivery per channel, the second the
    payments into them.
    """
    language = normalise_language(language)
    zone = ZoneInfo(organisation.timezone)
    today = dt.datetime.now(zone).date()
    query = (
        select(Invoice, Customer, VirtualAccount)
        .join(Customer, Customer.id == Invoice.customer_id)
        .outerjoin(VirtualAccount, VirtualAccount.invoice_id == Invoice.id)
        .where(Invoice.organisation_id == organisation.id)
        .order_by(Invoice.created_at, Invoice.id)
    )
    if start is not None:
        query = query.where(Invoice.created_at >= dt.datetime.combine(start, dt.time(), zone))
    if end is not None:
        next_day = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), zone)
        query = query.where(Invoice.created_at < next_day)
    rows = session.exec(query).all()
    invoice_ids = [invoice.id for invoice, _customer, _account in rows if invoice.id is not None]
    payments = {
        payment.invoice_id: payment
        for start_index in range(0, len(invoice_ids), 500)
        for payment in session.exec(
            select(Payment).where(
                Payment.invoice_id.in_(invoice_ids[start_index : start_index + 500])
            )
        ).all()
    }
    delivery, delivered = _delivery_by_channel(session, invoice_ids)

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = tr(language, "Invoices")[:31]
    channel_headers = [tr(language, "Notice: {channel}", channel=name) for name in CHANNELS]
    _write_header(sheet, [tr(language, text) for text in INVOICE_HEADERS] + channel_headers)
    for invoice, customer, account in rows:
        payment = payments.get(invoice.id)
        status = invoice_status(invoice, invoice.id in delivered, today)
        channels = delivery.get(invoice.id or 0, {})
        values = [
            invoice.number,
            customer.name,
            _local(invoice.created_at, zone),
            invoice.due_date,
            tr(language, STATUS_LABELS[status]),
            invoice.total,
            account.number if account else "",
            _local(payment.paid_at, zone) if payment else None,
            (payment.reference_no or "") if payment else "",
            (payment.channel_code or "") if payment else "",
            *[
                tr(language, DELIVERY_LABELS[channels[name]]) if name in channels else ""
                for name in CHANNELS
            ],
        ]
        sheet.append(text_row(sheet, values))
    _format_columns(
        sheet, {3: DATETIME_FORMAT, 4: DATE_FORMAT, 6: RUPIAH_FORMAT, 8: DATETIME_FORMAT}
    )

    numbers = {invoice.id: invoice.number for invoice, _customer, _account in rows}
    accounts = {account.id: account.number for _i, _c, account in rows if account}
    payment_sheet = workbook.create_sheet(tr(language, "Payments")[:31])
    _write_header(payment_sheet, [tr(language, text) for text in PAYMENT_HEADERS])
    for payment in sorted(payments.values(), key=lambda item: item.paid_at):
        values = [
            _local(payment.paid_at, zone),
            numbers.get(payment.invoice_id, ""),
            payment.amount,
            accounts.get(payment.virtual_account_id, ""),
            payment.reference_no or "",
            payment.payment_request_id,
            payment.channel_code or "",
            payment.source,
        ]
        payment_sheet.append(text_row(payment_sheet, values))
    _format_columns(payment_sheet, {1: DATETIME_FORMAT, 3: RUPIAH_FORMAT})

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
