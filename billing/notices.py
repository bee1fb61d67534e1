"""The notice outbox: rows written in the same transaction as the event that causes them.

The worker claims, renders and sends them after commit (jobs.sender). This module picks
the channels for a recipient, renders a notice for one channel in the recipient's
language, and records the delivery statuses that providers report later.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import importlib
import io
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_format_date
from PIL import Image, UnidentifiedImageError
from sqlalchemy import and_, bindparam, literal, null, or_, union_all
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from billing.errors import UserError
from billing.va import format_va
from bot.replies import Document, OutboundMessage
from locales import format_date, format_datetime, format_rupiah, normalise_language, tr
from models import (
    ChatIdentity,
    Customer,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    NewsPost,
    Notice,
    NoticeAttempt,
    NoticeKind,
    NoticeStatus,
    Organisation,
    Payment,
    StaffRole,
    StaffUser,
    Student,
    VirtualAccount,
)
from models.types import utcnow
from tagih.settings import get_settings

log = logging.getLogger(__name__)

CHAT_CHANNELS = ("whatsapp", "telegram", "console")
DELIVERY_CHANNELS = (*CHAT_CHANNELS, "email", "sms")

# Positional parameters of each approved WhatsApp template, in order.
TEMPLATE_PARAMETERS: dict[str, tuple[str, ...]] = {
    NoticeKind.INVOICE_ISSUED: ("name", "organisation", "number", "amount", "due_date", "va"),
    NoticeKind.REMINDER: ("name", "organisation", "count", "total", "first_due_date"),
    NoticeKind.RECEIPT: ("organisation", "number", "amount"),
    NoticeKind.INVOICE_VOIDED: ("organisation", "number", "va"),
    NoticeKind.STAFF_PAYMENT: ("number", "customer", "amount"),
    NoticeKind.NEWS: ("organisation", "title"),
    NoticeKind.DIGEST: ("organisation", "date", "paid_total", "open_total", "overdue_total"),
    NoticeKind.LINK_CODE: ("code", "minutes"),
    NoticeKind.FEE_PREVIEW: ("organisation", "month", "run_date", "count", "total", "skipped"),
}

# Delivery statuses in the order they happen, so a late webhook never moves a notice back.
_STATUS_RANK = {
    NoticeStatus.SENT: 1,
    NoticeStatus.DELIVERED: 2,
    NoticeStatus.READ: 3,
}


NO_CHANNEL_ERROR = "the recipient has no phone, e-mail address or linked chat"


class NoticeObsolete(Exception):
    """A queued notice is no longer true, so it is cancelled instead of sent.

    The message is the reason, stored as the notice's last_error. It names no person.
    """


# --- Choosing channels ------------------------------------------------------------------


def linked_chats(session: Session, *, phone: str | None, email: str | None) -> list[ChatIdentity]:
    """Return the chat identities verified for a phone number or e-mail address."""
    conditions = []
    if phone:
        conditions.append(ChatIdentity.phone == phone)
    if email:
        conditions.append(ChatIdentity.email == email)
    if not conditions:
        return []
    query = select(ChatIdentity).where(or_(*conditions)).order_by(ChatIdentity.id)
    return list(session.exec(query).all())


def default_channels(
    session: Session | None,
    *,
    phone: str | None,
    email: str | None,
    linked_channels: Iterable[str] | None = None,
) -> list[str]:
    """Order the channels for a person: linked chats, then WhatsApp, e-mail and SMS.

    A person with a linked chat gets that chat first, and a person with only an e-mail
    address gets e-mail. WhatsApp by phone number without a linked chat needs an approved
    template, which the sender uses because the 24-hour window is closed.
    `linked_channels` are the channels of the person's linked chats, oldest first, when the
    caller has loaded them already. When it is None they are queried here.
    """
    if linked_channels is None:
        assert session is not None, "linked_channels or a session is needed"
        identities = linked_chats(session, phone=phone, email=email)
        linked_channels = [identity.channel for identity in identities]
    channels: list[str] = []
    for channel in linked_channels:
        if channel in CHAT_CHANNELS and channel not in channels:
            channels.append(channel)
    if phone and "whatsapp" not in channels:
        channels.append("whatsapp")
    if email:
        channels.append("email")
    if phone:
        channels.append("sms")
    return channels


def organisation_channels(
    organisation: Organisation, kind: NoticeKind, available: list[str]
) -> list[str]:
    """Apply the organisation's channel order for an event kind to a person's channels.

    Preferences look like {"notice_channels": {"reminder": ["email", "whatsapp"],
    "default": [...]}}; channels the person cannot be reached on are dropped.
    """
    configured = organisation.preferences.get("notice_channels") or {}
    order = configured.get(str(kind)) or configured.get("default")
    if not order:
        return available
    return [channel for channel in order if channel in available]


# --- Queueing ---------------------------------------------------------------------------


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
    staff: StaffUser | None = None,
    now: dt.datetime | None = None,
    linked_channels: Iterable[str] | None = None,
    add: bool = True,
    _new_key: bool = False,
) -> Notice:
    """Add an outbox row for a customer or staff member, sent by the worker after commit.

    A notice with a dedupe_key that is already queued is returned instead of a second one.
    With _new_key=True the caller guarantees that no notice carries the key yet (it holds an
    id created in this transaction), so no lookup is made. linked_channels is passed on to
    default_channels. With add=False the new notice is returned without being added to the
    session.
    """
    if dedupe_key is not None and not _new_key:
        existing = session.exec(select(Notice).where(Notice.dedupe_key == dedupe_key)).first()
        if existing is not None:
            return existing
    person: Customer | StaffUser | None = staff if staff is not None else customer
    if channels is None and person is not None and linked_channels is None:
        identities = linked_chats(session, phone=person.phone, email=person.email)
        linked_channels = [identity.channel for identity in identities]
    notice = Notice(
        **notice_row(
            organisation,
            kind=kind,
            person=person,
            customer_id=customer.id if customer else None,
            staff_id=staff.id if staff else None,
            invoice_id=invoice.id if invoice else None,
            payload=payload,
            dedupe_key=dedupe_key,
            channels=channels,
            linked_channels=linked_channels or (),
            now=now or utcnow(),
        )
    )
    if add:
        session.add(notice)
    return notice


class Recipient(Protocol):
    """The contact details of a customer or staff member that a notice is addressed with."""

    name: str
    phone: str | None
    email: str | None
    language: str | None


def notice_row(
    organisation: Organisation,
    *,
    kind: NoticeKind,
    person: Recipient | None,
    customer_id: int | None,
    staff_id: int | None,
    invoice_id: int | None,
    payload: dict[str, Any] | None,
    dedupe_key: str | None,
    channels: list[str] | None,
    linked_channels: Iterable[str],
    now: dt.datetime,
) -> dict[str, Any]:
    """Build every column of a new outbox row except its id, for a model or a bulk insert.

    When channels is None they follow from the person's linked chat channels (oldest first),
    phone and e-mail address and the organisation's channel order. A notice with no channel
    is stored as failed, with the reason in last_error.
    """
    phone = person.phone if person else None
    email = person.email if person else None
    if channels is None:
        available = (
            default_channels(None, phone=phone, email=email, linked_channels=linked_channels)
            if person
            else []
        )
        channels = organisation_channels(organisation, kind, available)
    language = (person.language if person else None) or organisation.language
    stored_payload = payload or {}
    if not channels:
        stored_payload = without_link_code(kind, stored_payload)
    return {
        "organisation_id": organisation.id,
        "kind": kind,
        "dedupe_key": dedupe_key,
        "customer_id": customer_id,
        "staff_id": staff_id,
        "invoice_id": invoice_id,
        "recipient_name": person.name if person else "",
        "recipient_phone": phone,
        "recipient_email": email,
        "language": normalise_language(language),
        "channels": list(channels),
        "channel": channels[0] if channels else None,
        "payload": stored_payload,
        "status": NoticeStatus.PENDING if channels else NoticeStatus.FAILED,
        "attempts": 0,
        "next_attempt_at": now,
        "claimed_by": None,
        "claimed_until": None,
        "provider_message_id": None,
        "last_error": None if channels else NO_CHANNEL_ERROR,
        "created_at": now,
        "sent_at": None,
    }


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
        # The invoice was created in this transaction, so no notice can carry its key yet.
        _new_key=True,
    )


def finance_staff(session: Session, organisation: Organisation) -> list[StaffUser]:
    """Return the active staff who get payment notices and the daily digest."""
    query = (
        select(StaffUser)
        .where(
            StaffUser.organisation_id == organisation.id,
            StaffUser.active == True,  # noqa: E712
            StaffUser.role.in_([StaffRole.FINANCE, StaffRole.SUPER_ADMIN]),
        )
        .order_by(StaffUser.id)
    )
    return list(session.exec(query).all())


@dataclass(frozen=True)
class _Person:
    """A recipient read from a query row rather than a model."""

    name: str
    phone: str | None
    email: str | None
    language: str | None


@functools.cache
def _payment_recipients_query() -> Any:
    """Build once the query for the recipients of payment notices and their chat channels.

    Rows with staff_id NULL are the payer's linked chats. The other rows are the finance
    staff and the super admin, as finance_staff returns them, each with one of its linked
    chats or a NULL channel. Rows come ordered by staff member, then chat age.
    """
    payer_chats = select(
        null().label("staff_id"),
        literal("").label("name"),
        null().label("phone"),
        null().label("email"),
        null().label("language"),
        ChatIdentity.channel,
        ChatIdentity.id.label("chat_id"),
    ).where(
        or_(
            ChatIdentity.phone == bindparam("payer_phone"),
            ChatIdentity.email == bindparam("payer_email"),
        )
    )
    staff_chats = (
        select(
            StaffUser.id,
            StaffUser.name,
            StaffUser.phone,
            StaffUser.email,
            StaffUser.language,
            ChatIdentity.channel,
            ChatIdentity.id,
        )
        .outerjoin(
            ChatIdentity,
            or_(
                and_(StaffUser.phone != "", ChatIdentity.phone == StaffUser.phone),
                and_(StaffUser.email != "", ChatIdentity.email == StaffUser.email),
            ),
        )
        .where(
            StaffUser.organisation_id == bindparam("organisation_id"),
            StaffUser.active == True,  # noqa: E712
            StaffUser.role.in_([StaffRole.FINANCE, StaffRole.SUPER_ADMIN]),
        )
    )
    union = union_all(payer_chats, staff_chats).subquery()
    return sa_select(union).order_by(union.c.staff_id.nullsfirst(), union.c.chat_id)


def payment_notice_rows(
    session: Session,
    organisation: Organisation,
    customer: Customer,
    invoice: Invoice,
    *,
    payment_id: int,
    receipt_number: str,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """Build the outbox rows of a new payment: the payer's receipt and the staff notices.

    One query loads the payer's linked chats together with the finance staff (and the super
    admin) and their linked chats. The dedupe keys hold the id of a payment inserted in this
    transaction, so they are not looked up. The caller inserts the rows.
    """
    parameters = {
        "payer_phone": customer.phone or None,
        "payer_email": customer.email or None,
        "organisation_id": organisation.id,
    }
    payer_channels: list[str] = []
    staff_members: dict[int, _Person] = {}
    chats_of: dict[int, list[str]] = {}
    for row in session.execute(_payment_recipients_query(), parameters):
        if row.staff_id is None:
            payer_channels.append(row.channel)
            continue
        if row.staff_id not in staff_members:
            staff_members[row.staff_id] = _Person(row.name, row.phone, row.email, row.language)
            chats_of[row.staff_id] = []
        if row.channel is not None:
            chats_of[row.staff_id].append(row.channel)

    receipt = notice_row(
        organisation,
        kind=NoticeKind.RECEIPT,
        person=customer,
        customer_id=customer.id,
        staff_id=None,
        invoice_id=invoice.id,
        payload={"payment_id": payment_id, "receipt_number": receipt_number},
        dedupe_key=f"receipt:{payment_id}",
        channels=None,
        linked_channels=payer_channels,
        now=now,
    )
    staff_notices = [
        notice_row(
            organisation,
            kind=NoticeKind.STAFF_PAYMENT,
            person=person,
            customer_id=None,
            staff_id=staff_id,
            invoice_id=invoice.id,
            payload={"payment_id": payment_id},
            dedupe_key=f"staff_payment:{payment_id}:{staff_id}",
            channels=None,
            linked_channels=chats_of[staff_id],
            now=now,
        )
        for staff_id, person in staff_members.items()
    ]
    return [receipt, *staff_notices]


# --- Rendering --------------------------------------------------------------------------


class _Context:
    """The notice being rendered, with its organisation, invoice, channel and language."""

    def __init__(self, session: Session, notice: Notice, channel: str):
        self.session = session
        self.notice = notice
        self.channel = channel
        self.language = normalise_language(notice.language)
        organisation = session.get(Organisation, notice.organisation_id)
        assert organisation is not None
        self.organisation = organisation
        self.invoice = session.get(Invoice, notice.invoice_id) if notice.invoice_id else None

    def date(self, value: dt.date) -> str:
        return format_date(value, self.language)

    def moment(self, value: dt.datetime) -> str:
        return format_datetime(value, self.language, self.organisation.timezone)

    def virtual_account(self, invoice: Invoice) -> str:
        """Return the invoice's VA number grouped in fours, or "" when it has none."""
        preloaded = self.session.info.get(_VA_NUMBERS)
        if preloaded is not None and invoice.id in preloaded:
            return format_va(preloaded[invoice.id])
        account = self.session.exec(
            select(VirtualAccount).where(VirtualAccount.invoice_id == invoice.id)
        ).first()
        return format_va(account.number) if account else ""

    def invoice_title(self, invoice: Invoice) -> str:
        """Describe what a bill is for: its description, else its lines, plus the student."""
        what = invoice.description
        preloaded = self.session.info.get(_LINE_NAMES)
        if not what and preloaded is not None and invoice.id in preloaded:
            what = ", ".join(preloaded[invoice.id])
        elif not what:
            lines = self.session.exec(
                select(InvoiceLine.description)
                .where(InvoiceLine.invoice_id == invoice.id)
                .order_by(InvoiceLine.position)
            ).all()
            what = ", ".join(lines)
        if invoice.student_id:
            student = self.session.get(Student, invoice.student_id)
            if student is not None:
                return tr(self.language, "{what} for {student}", what=what, student=student.name)
        return what

    def invoice_values(self, invoice: Invoice) -> dict[str, str]:
        """Return the placeholders every invoice notice fills: organisation, bill, amount."""
        return {
            "organisation": self.organisation.name,
            "number": invoice.number,
            "what": self.invoice_title(invoice),
            "amount": format_rupiah(invoice.total),
        }

    def pick_text(self, short: str, full: str) -> str:
        """Pick the short text for SMS, the full one elsewhere."""
        return short if self.channel == "sms" else full


Renderer = Callable[[_Context], tuple[str, str, dict[str, str], tuple[Document, ...]]]


def _payment_steps(context: _Context, va: str) -> list[str]:
    bank = get_settings().va_bank_name
    steps = [
        tr(context.language, "How to pay:"),
        tr(
            context.language,
            "1. Bank mobile app: choose Payment > Virtual Account, enter {va}, "
            "check the name and amount, and confirm.",
            va=va,
        ),
        tr(
            context.language,
            "2. Internet banking: choose Payment > Virtual Account, enter {va} and confirm.",
            va=va,
        ),
    ]
    if bank:
        steps.append(
            tr(
                context.language,
                "3. Transfer from another bank: choose an online transfer to {bank} "
                "and enter {va} as the account number. Transfer the exact amount.",
                bank=bank,
                va=va,
            )
        )
    else:
        steps.append(
            tr(
                context.language,
                "3. Transfer from another bank: choose an online transfer to the VA's bank "
                "and enter {va} as the account number. Transfer the exact amount.",
                va=va,
            )
        )
    return steps


_VA_NUMBERS = "notices.va_numbers"
_LINE_NAMES = "notices.line_names"


def preload_for_rendering(session: Session, notices: Iterable[Notice]) -> None:
    """Load the invoices, VA numbers and line names of many notices in three queries.

    render_notice then reads them from the session instead of querying per notice.
    """
    invoice_ids = sorted({notice.invoice_id for notice in notices if notice.invoice_id})
    if not invoice_ids:
        return
    session.exec(select(Invoice).where(col(Invoice.id).in_(invoice_ids))).all()
    numbers = session.exec(
        select(VirtualAccount.invoice_id, VirtualAccount.number).where(
            col(VirtualAccount.invoice_id).in_(invoice_ids)
        )
    ).all()
    session.info.setdefault(_VA_NUMBERS, {}).update(dict(numbers))
    names: dict[int, list[str]] = {invoice_id: [] for invoice_id in invoice_ids}
    lines = session.exec(
        select(InvoiceLine.invoice_id, InvoiceLine.description)
        .where(col(InvoiceLine.invoice_id).in_(invoice_ids))
        .order_by(InvoiceLine.invoice_id, InvoiceLine.position)
    ).all()
    for invoice_id, description in lines:
        names[invoice_id].append(description)
    session.info.setdefault(_LINE_NAMES, {}).update(names)


def _render_invoice_issued(context: _Context):  # type: ignore[no-untyped-def]
    invoice = context.invoice
    assert invoice is not None
    values = context.invoice_values(invoice)
    values["name"] = context.notice.recipient_name
    values["due_date"] = context.date(invoice.due_date)
    values["va"] = context.virtual_account(invoice)
    subject = tr(context.language, "{organisation}: bill {number}", **values)
    short = tr(
        context.language,
        "{organisation}: bill {number}, {amount}, due {due_date}. Pay to Virtual Account {va}.",
        **values,
    )
    lines = [
        tr(context.language, "Hello {name},", **values),
        tr(context.language, "{organisation} has sent you a bill.", **values),
        "",
        tr(context.language, "Bill: {number}", **values),
        tr(context.language, "For: {what}", **values),
        tr(context.language, "Amount: {amount}", **values),
        tr(context.language, "Due date: {due_date}", **values),
        tr(context.language, "Virtual Account number: {va}", **values),
        "",
        *_payment_steps(context, values["va"]),
    ]
    return subject, context.pick_text(short, "\n".join(lines)), values, ()


def _receipt_pdf(context: _Context, invoice: Invoice) -> tuple[Document, ...]:
    """Return the receipt PDF as an attachment, or nothing when it cannot be rendered."""
    try:
        receipts = importlib.import_module("billing.receipts")
    except ImportError:
        return ()
    render = getattr(receipts, "render_receipt_pdf", None)
    if render is None:
        return ()
    try:
        content = render(context.session, invoice.id, context.language)
    except UserError as error:
        log.warning("Receipt PDF of invoice %s not rendered: %s", invoice.id, error.code)
        return ()
    filename = tr(context.language, "receipt-{number}.pdf", number=invoice.number)
    return (Document(filename=filename, content=content, mime_type="application/pdf"),)


def _paid_at(context: _Context, invoice: Invoice) -> dt.datetime:
    payment_id = context.notice.payload.get("payment_id")
    payment = context.session.get(Payment, payment_id) if payment_id else None
    if payment is not None:
        return payment.paid_at
    return invoice.paid_at or context.notice.created_at


def _render_receipt(context: _Context):  # type: ignore[no-untyped-def]
    invoice = context.invoice
    assert invoice is not None
    values = context.invoice_values(invoice)
    values["paid_at"] = context.moment(_paid_at(context, invoice))
    attachments = () if context.channel == "sms" else _receipt_pdf(context, invoice)
    subject = tr(context.language, "{organisation}: receipt for bill {number}", **values)
    lines = [
        tr(context.language, "{organisation}: payment received, thank you.", **values),
        tr(context.language, "Bill {number} ({what}) is paid: {amount} on {paid_at}.", **values),
    ]
    if attachments:
        lines.append(tr(context.language, "The receipt is attached."))
    return subject, "\n".join(lines), values, attachments


def _render_invoice_voided(context: _Context):  # type: ignore[no-untyped-def]
    invoice = context.invoice
    assert invoice is not None
    values = context.invoice_values(invoice)
    values["va"] = context.virtual_account(invoice)
    subject = tr(context.language, "{organisation}: bill {number} is cancelled", **values)
    lines = [
        tr(
            context.language,
            "{organisation} has cancelled bill {number} ({what}, {amount}). "
            "Do not pay into Virtual Account {va}: it is closed.",
            **values,
        )
    ]
    if invoice.void_reason:
        lines.append(tr(context.language, "Reason: {reason}", reason=invoice.void_reason))
    return subject, "\n".join(lines), values, ()


def _render_staff_payment(context: _Context):  # type: ignore[no-untyped-def]
    invoice = context.invoice
    assert invoice is not None
    customer = context.session.get(Customer, invoice.customer_id)
    values = {
        "organisation": context.organisation.name,
        "number": invoice.number,
        "customer": customer.name if customer else "",
        "amount": format_rupiah(invoice.total),
        "paid_at": context.moment(_paid_at(context, invoice)),
    }
    subject = tr(context.language, "Payment received: bill {number}", **values)
    text = tr(
        context.language,
        "Payment received: bill {number} from {customer}, {amount}, at {paid_at}.",
        **values,
    )
    return subject, text, values, ()


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_START = b"\xff\xd8\xff"


def photo_file_type(content: bytes) -> tuple[str, str]:
    """Return the file name and MIME type of a news photo, read from its first bytes.

    Posts accept PNG and JPEG only. Anything else is named by what Pillow recognises,
    or sent as an unnamed binary file.
    """
    if content.startswith(_PNG_SIGNATURE):
        return "photo.png", "image/png"
    if content.startswith(_JPEG_START):
        return "photo.jpg", "image/jpeg"
    try:
        with Image.open(io.BytesIO(content)) as image:
            image_format = image.format or ""
    except (UnidentifiedImageError, OSError):
        return "photo", "application/octet-stream"
    mime_type = Image.MIME.get(image_format, "application/octet-stream")
    return f"photo.{image_format.lower()}", mime_type


def _news_post(session: Session, notice: Notice) -> NewsPost | None:
    """Return the post a news notice was queued for, raising NoticeObsolete once withdrawn."""
    post_id = notice.payload.get("post_id")
    post = session.get(NewsPost, post_id) if post_id else None
    if post is not None and post.withdrawn_at is not None:
        raise NoticeObsolete("the news post was withdrawn")
    return post


def _render_news(context: _Context):  # type: ignore[no-untyped-def]
    """Render a news post from the title and text queued with it (in the parent's language).

    A withdrawn post raises NoticeObsolete, so its unsent notices are dropped.
    """
    payload = context.notice.payload
    post = _news_post(context.session, context.notice)
    values = {"organisation": context.organisation.name, "title": str(payload.get("title", ""))}
    if payload.get("correction"):
        subject = tr(context.language, "{organisation} news (corrected): {title}", **values)
    else:
        subject = tr(context.language, "{organisation} news: {title}", **values)
    attachments: tuple[Document, ...] = ()
    if post is not None and post.photo and context.channel != "sms":
        filename, mime_type = photo_file_type(post.photo)
        attachments = (Document(filename=filename, content=post.photo, mime_type=mime_type),)
    body = str(payload.get("text", ""))
    text = f"{subject}\n\n{body}" if body else subject
    return subject, text, values, attachments


def _render_fee_preview(context: _Context):  # type: ignore[no-untyped-def]
    """Render the preview of a month's fee run from the figures stored when it was queued."""
    payload = context.notice.payload
    language = context.language
    year, month = (int(part) for part in str(payload["period"]).split("-"))
    without_payer = int(payload["without_payer"])
    already_billed = int(payload["already_billed"])
    values = {
        "organisation": context.organisation.name,
        "month": babel_format_date(dt.date(year, month, 1), format="MMMM y", locale=language),
        "run_date": context.date(dt.date.fromisoformat(payload["run_date"])),
        "count": str(payload["count"]),
        "total": format_rupiah(int(payload["total"])),
        "skipped": str(without_payer + already_billed),
    }
    subject = tr(language, "{organisation}: monthly fees for {month}", **values)
    short = tr(
        language,
        "{organisation}: fees for {month} go out on {run_date}. "
        "Students billed: {count}, total {total}, skipped: {skipped}.",
        **values,
    )
    lines = [
        subject,
        tr(language, "Billing date: {run_date}", **values),
        tr(language, "Students billed: {count}", **values),
        tr(language, "Total: {total}", **values),
    ]
    if without_payer:
        lines.append(tr(language, "Skipped, no parent linked: {count}", count=without_payer))
        listed = payload.get("without_payer_students", [])
        for student in listed:
            lines.append(f"- {student['name']} ({student['class']})")
        if without_payer > len(listed):
            lines.append(tr(language, "- and {more} more", more=without_payer - len(listed)))
        lines.append(
            tr(language, "Link a parent before {run_date} to include them in this run.", **values)
        )
    if already_billed:
        lines.append(
            tr(
                language,
                "Skipped, already billed for {month}: {count}",
                month=values["month"],
                count=already_billed,
            )
        )
    if not without_payer and not already_billed:
        lines.append(tr(language, "No student is skipped."))
    return subject, context.pick_text(short, "\n".join(lines)), values, ()


def _render_link_code(context: _Context):  # type: ignore[no-untyped-def]
    payload = context.notice.payload
    values = {"code": str(payload.get("code", "")), "minutes": str(link_code_minutes(payload))}
    subject = tr(context.language, "Your Tagih code")
    text = tr(
        context.language,
        "Your Tagih code is {code}. It expires in {minutes} minutes. "
        "If you did not ask for it, ignore this message.",
        **values,
    )
    return subject, text, values, ()


def _renderers() -> dict[str, Renderer]:
    from billing.digest import render_digest
    from billing.reminders import render_reminder

    return {
        NoticeKind.INVOICE_ISSUED: _render_invoice_issued,
        NoticeKind.REMINDER: render_reminder,
        NoticeKind.RECEIPT: _render_receipt,
        NoticeKind.INVOICE_VOIDED: _render_invoice_voided,
        NoticeKind.STAFF_PAYMENT: _render_staff_payment,
        NoticeKind.NEWS: _render_news,
        NoticeKind.DIGEST: render_digest,
        NoticeKind.LINK_CODE: _render_link_code,
        NoticeKind.FEE_PREVIEW: _render_fee_preview,
    }


def text_to_html(text: str) -> str:
    """Turn a plain-text notice into simple HTML paragraphs for the e-mail's HTML part."""
    paragraphs = [part for part in text.split("\n\n") if part.strip()]
    body = "".join(
        "<p>" + "<br>".join(html.escape(line) for line in part.splitlines()) + "</p>"
        for part in paragraphs
    )
    return f'<!doctype html><html><body style="font-family:sans-serif">{body}</body></html>'


def render_notice(session: Session, notice: Notice, channel: str) -> OutboundMessage:
    """Render a notice for one channel in the recipient's language.

    SMS gets the short text. WhatsApp also gets the template name and parameters for
    when the 24-hour window is closed. E-mail gets a subject and an HTML part.
    """
    context = _Context(session, notice, channel)
    renderer = _renderers()[notice.kind]
    subject, text, values, attachments = renderer(context)
    settings = get_settings()
    template = None
    params: tuple[str, ...] = ()
    if channel == "whatsapp":
        template = settings.whatsapp_templates.get(str(notice.kind))
        params = tuple(str(values.get(name, "")) for name in TEMPLATE_PARAMETERS[notice.kind])
    return OutboundMessage(
        text=text,
        subject=subject,
        html=text_to_html(text) if channel == "email" else None,
        attachments=attachments,
        whatsapp_template=template,
        whatsapp_template_params=params,
        whatsapp_template_language=settings.whatsapp_template_languages.get(
            context.language, context.language
        ),
    )


# --- Still true when sent --------------------------------------------------------------

OPEN_INVOICE_STATUSES = (InvoiceStatus.ISSUED, InvoiceStatus.OVERDUE)
# A link code notice without "minutes" in its payload gives the code this lifetime.
LINK_CODE_DEFAULT_MINUTES = 10
# A link code with less than this left is not sent, because the person could not type it in time.
LINK_CODE_MIN_LEFT = dt.timedelta(minutes=1)
# Digests and reminders describe the day they were queued ("due in 3 days"), and the next
# day's scheduled run queues a fresh one, so after a day they are no longer true.
DAILY_NOTICE_LIFETIME = dt.timedelta(days=1)

_EXPIRY_REASONS = {
    NoticeKind.LINK_CODE: "the link code expired before it could be sent",
    NoticeKind.DIGEST: "the daily summary is more than a day old",
    NoticeKind.REMINDER: (
        "the reminder is more than a day old, so its due-date wording is out of date"
    ),
    NoticeKind.FEE_PREVIEW: "the fee run date has passed",
}

_CLOSED_BILL_REASONS = {
    InvoiceStatus.PAID: "the bill was paid before its notice could be sent",
    InvoiceStatus.VOID: "the bill was voided before its notice could be sent",
    InvoiceStatus.EXPIRED: "the bill's Virtual Account expired before its notice could be sent",
}


def link_code_minutes(payload: dict[str, Any]) -> int:
    """Return the lifetime of the code in a link code notice's payload, in minutes."""
    return int(payload.get("minutes", LINK_CODE_DEFAULT_MINUTES))


def without_link_code(kind: NoticeKind, payload: dict[str, Any]) -> dict[str, Any]:
    """Return a link code notice's payload without the plain code; other payloads unchanged."""
    if kind != NoticeKind.LINK_CODE or "code" not in payload:
        return payload
    return {key: value for key, value in payload.items() if key != "code"}


def drop_link_code(notice: Notice) -> None:
    """Remove the plain code from a link code notice that will not be sent again.

    The LinkCode row stores only the code's hash, so afterwards no readable code is left in
    the database, whether the notice was sent, cancelled or failed.
    """
    notice.payload = without_link_code(notice.kind, notice.payload)


def _link_code_expiry(session: Session, notice: Notice) -> dt.datetime:
    lifetime = dt.timedelta(minutes=link_code_minutes(notice.payload))
    return notice.created_at + lifetime - LINK_CODE_MIN_LEFT


def _daily_expiry(session: Session, notice: Notice) -> dt.datetime:
    return notice.created_at + DAILY_NOTICE_LIFETIME


def _fee_preview_expiry(session: Session, notice: Notice) -> dt.datetime:
    """Return the end of the run date, in the school's time zone."""
    organisation = session.get(Organisation, notice.organisation_id)
    zone = ZoneInfo(organisation.timezone if organisation else "Asia/Jakarta")
    next_day = dt.date.fromisoformat(notice.payload["run_date"]) + dt.timedelta(days=1)
    return dt.datetime.combine(next_day, dt.time(0), tzinfo=zone).astimezone(dt.UTC)


_EXPIRIES: dict[NoticeKind, Callable[[Session, Notice], dt.datetime]] = {
    NoticeKind.LINK_CODE: _link_code_expiry,
    NoticeKind.DIGEST: _daily_expiry,
    NoticeKind.REMINDER: _daily_expiry,
    NoticeKind.FEE_PREVIEW: _fee_preview_expiry,
}


def notice_expires_at(session: Session, notice: Notice) -> dt.datetime | None:
    """Return when a notice stops being true by time alone, or None when it never does."""
    expiry = _EXPIRIES.get(notice.kind)
    return expiry(session, notice) if expiry is not None else None


def _check_bill_open(session: Session, notice: Notice) -> None:
    invoice = session.get(Invoice, notice.invoice_id) if notice.invoice_id else None
    if invoice is None:
        raise NoticeObsolete("the bill no longer exists")
    if invoice.status not in OPEN_INVOICE_STATUSES:
        raise NoticeObsolete(_CLOSED_BILL_REASONS.get(invoice.status, "the bill is closed"))


def _check_news_current(session: Session, notice: Notice) -> None:
    _news_post(session, notice)


@functools.cache
def _state_checks() -> dict[NoticeKind, Callable[[Session, Notice], None]]:
    from billing.reminders import check_reminder_open

    return {
        NoticeKind.INVOICE_ISSUED: _check_bill_open,
        NoticeKind.NEWS: _check_news_current,
        NoticeKind.REMINDER: check_reminder_open,
    }


def check_still_true(session: Session, notice: Notice, *, now: dt.datetime) -> None:
    """Raise NoticeObsolete with the reason when a queued notice is no longer true at `now`.

    A bill notice needs its bill still open (issued or overdue). Link codes, digests,
    reminders and fee previews expire (notice_expires_at). A reminder needs one of its
    bills still open, and a news notice a post that was not withdrawn. Receipts, staff
    payment notices and void notices stay true, because they report what happened.
    """
    expires_at = notice_expires_at(session, notice)
    if expires_at is not None and now >= expires_at:
        raise NoticeObsolete(_EXPIRY_REASONS[notice.kind])
    check = _state_checks().get(notice.kind)
    if check is not None:
        check(session, notice)


# --- Delivery status --------------------------------------------------------------------


def next_channel(notice: Notice) -> str | None:
    """Return the channel after the current one in the notice's list, if any."""
    if notice.channel not in notice.channels:
        return notice.channels[0] if notice.channels else None
    position = notice.channels.index(notice.channel)
    later = notice.channels[position + 1 :]
    return later[0] if later else None


def record_delivery_status(
    session: Session,
    provider_message_id: str,
    status: str,
    error: str | None = None,
    *,
    now: dt.datetime | None = None,
) -> Notice | None:
    """Store a provider's delivery status (sent, delivered, read, failed) on its notice.

    Statuses only move forward, so a late "delivered" never replaces "read". A failure
    after sending moves the notice to its next channel when it has one. Returns the
    notice, or None when no notice carries that provider message id.
    """
    notice = session.exec(
        select(Notice).where(Notice.provider_message_id == provider_message_id)
    ).first()
    if notice is None:
        log.info("Delivery status %s for an unknown provider message", status)
        return None
    session.add(
        NoticeAttempt(
            notice_id=notice.id,
            channel=notice.channel or "",
            status=status,
            provider_message_id=provider_message_id,
            error=error,
            created_at=now or utcnow(),
        )
    )
    if status == "failed":
        _fail_after_sending(notice, error or "the provider reported a failure", now)
    elif status in _STATUS_RANK:
        new_status = NoticeStatus(status)
        current = _STATUS_RANK.get(notice.status, 0)
        if _STATUS_RANK[new_status] > current:
            notice.status = new_status
    else:
        log.info("Ignored delivery status %s for notice %s", status, notice.id)
    session.add(notice)
    return notice


def _fail_after_sending(notice: Notice, error: str, now: dt.datetime | None) -> None:
    if notice.status == NoticeStatus.READ:
        return
    following = next_channel(notice)
    notice.last_error = error
    if following is None:
        notice.status = NoticeStatus.FAILED
        drop_link_code(notice)
        return
    log.info("Notice %s failed on %s; trying %s next", notice.id, notice.channel, following)
    notice.channel = following
    notice.status = NoticeStatus.PENDING
    notice.provider_message_id = None
    notice.claimed_by = None
    notice.claimed_until = None
    notice.next_attempt_at = now or utcnow()


def notices_for_invoice(session: Session, invoice_id: int) -> list[Notice]:
    """Return the notices about one invoice, oldest first, for lookups and reports."""
    query = select(Notice).where(Notice.invoice_id == invoice_id).order_by(Notice.id)
    return list(session.exec(query).all())


def cancel_pending(session: Session, notices: Iterable[Notice], reason: str) -> int:
    """Cancel notices that were not sent yet; returns how many were cancelled."""
    cancelled = 0
    for notice in notices:
        if notice.status == NoticeStatus.PENDING:
            notice.status = NoticeStatus.CANCELLED
            notice.last_error = reason
            drop_link_code(notice)
            session.add(notice)
            cancelled += 1
    return cancelled
