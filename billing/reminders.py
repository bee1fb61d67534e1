"""Payment reminders: which payers to remind today, at which step, in one message each.

Steps are days relative to the due date (default -3, 0, +1, +7). Each (invoice, step) is
sent at most once, enforced by the unique key of ReminderSent. After downtime only the
latest step that has come for an invoice is sent, and only while it is at most
`reminder_catchup_days` old; earlier steps are stale and skipped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from billing.notices import CHAT_CHANNELS, OPEN_INVOICE_STATUSES, NoticeObsolete, queue_notice
from billing.va import format_va
from locales import format_rupiah, tr
from models import (
    Customer,
    Invoice,
    Notice,
    NoticeKind,
    Organisation,
    ReminderSent,
    VirtualAccount,
)
from tagih.settings import get_settings

OPEN_STATUSES = OPEN_INVOICE_STATUSES


@dataclass(frozen=True)
class ReminderPolicy:
    steps: tuple[int, ...]
    hour: int
    catchup_days: int
    quiet_start: int
    quiet_end: int
    timezone: str


def reminder_policy(organisation: Organisation) -> ReminderPolicy:
    """Read the organisation's reminder preferences, falling back to the settings."""
    settings = get_settings()
    preferences = organisation.preferences
    steps = preferences.get("reminder_steps") or settings.reminder_steps
    return ReminderPolicy(
        steps=tuple(sorted({int(step) for step in steps})),
        hour=int(preferences.get("reminder_hour", settings.reminder_hour)),
        catchup_days=int(preferences.get("reminder_catchup_days", settings.reminder_catchup_days)),
        quiet_start=settings.quiet_hours_start,
        quiet_end=settings.quiet_hours_end,
        timezone=organisation.timezone,
    )


def is_quiet_hour(hour: int, start: int, end: int) -> bool:
    """Tell whether a local hour falls in the quiet hours, which may wrap past midnight."""
    if start == end:
        return False
    if start > end:
        return hour >= start or hour < end
    return start <= hour < end


def quiet_hours_end(now: dt.datetime, timezone: str) -> dt.datetime | None:
    """Return when the current quiet period ends, or None when it is not quiet now."""
    settings = get_settings()
    start, end = settings.quiet_hours_start, settings.quiet_hours_end
    local = now.astimezone(ZoneInfo(timezone))
    if not is_quiet_hour(local.hour, start, end):
        return None
    day = local.date() if local.hour < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(end), tzinfo=ZoneInfo(timezone)).astimezone(dt.UTC)


@dataclass(frozen=True)
class DueReminder:
    invoice_id: int
    customer_id: int
    step: int


def select_due_reminders(
    session: Session, organisation: Organisation, *, now: dt.datetime
) -> list[DueReminder]:
    """Return the (invoice, step) pairs of an organisation to remind about at `now`.

    Nothing is due before the reminder hour or during quiet hours. Paid, voided and
    expired invoices, and payers who paused reminders, are never selected.
    """
    policy = reminder_policy(organisation)
    local = now.astimezone(ZoneInfo(policy.timezone))
    if not policy.steps or local.hour < policy.hour:
        return []
    if is_quiet_hour(local.hour, policy.quiet_start, policy.quiet_end):
        return []
    today = local.date()
    earliest_due = today - dt.timedelta(days=policy.steps[-1] + policy.catchup_days)
    latest_due = today - dt.timedelta(days=policy.steps[0])
    in_window = (
        (Invoice.organisation_id == organisation.id)
        & col(Invoice.status).in_(OPEN_STATUSES)
        & (Invoice.due_date >= earliest_due)
        & (Invoice.due_date <= latest_due)
    )
    candidates = session.exec(
        select(Invoice.id, Invoice.customer_id, Invoice.due_date, Invoice.created_at)
        .join(Customer, Customer.id == Invoice.customer_id)
        .where(in_window, Customer.reminders_paused == False)  # noqa: E712
    ).all()
    latest_sent = dict(
        session.exec(
            select(ReminderSent.invoice_id, func.max(ReminderSent.step))
            .join(Invoice, Invoice.id == ReminderSent.invoice_id)
            .where(in_window)
            .group_by(ReminderSent.invoice_id)
        ).all()
    )
    zone = ZoneInfo(policy.timezone)
    due: list[DueReminder] = []
    for invoice_id, customer_id, due_date, created_at in candidates:
        step = _useful_step(policy, today, due_date, created_at.astimezone(zone).date())
        if step is None:
            continue
        sent = latest_sent.get(invoice_id)
        if sent is not None and sent >= step:
            continue
        due.append(DueReminder(invoice_id, customer_id, step))
    return due


def _useful_step(
    policy: ReminderPolicy, today: dt.date, due_date: dt.date, issued_on: dt.date
) -> int | None:
    """Return the latest step that has come, unless it is stale or predates the bill."""
    passed = [step for step in policy.steps if due_date + dt.timedelta(days=step) <= today]
    if not passed:
        return None
    step = passed[-1]
    step_date = due_date + dt.timedelta(days=step)
    if step_date < today - dt.timedelta(days=policy.catchup_days):
        return None
    # The bill notice itself covers the day it was issued and any step before it.
    if step_date <= issued_on:
        return None
    return step


def open_invoices(session: Session, customer_id: int, organisation_id: int) -> list[Invoice]:
    query = (
        select(Invoice)
        .where(
            Invoice.customer_id == customer_id,
            Invoice.organisation_id == organisation_id,
            col(Invoice.status).in_(OPEN_STATUSES),
        )
        .order_by(Invoice.due_date, Invoice.id)
    )
    return list(session.exec(query).all())


def queue_due_reminders(session: Session, organisation: Organisation, *, now: dt.datetime) -> int:
    """Queue one reminder per payer listing all their open bills; returns how many."""
    by_customer: dict[int, list[DueReminder]] = defaultdict(list)
    for reminder in select_due_reminders(session, organisation, now=now):
        by_customer[reminder.customer_id].append(reminder)
    today = now.astimezone(ZoneInfo(organisation.timezone)).date()
    queued = 0
    for customer_id, reminders in sorted(by_customer.items()):
        customer = session.get(Customer, customer_id)
        assert customer is not None
        bills = open_invoices(session, customer_id, organisation.id)
        steps = {str(reminder.invoice_id): reminder.step for reminder in reminders}
        digest = hashlib.sha256(repr(sorted(steps.items())).encode()).hexdigest()[:12]
        notice = queue_notice(
            session,
            organisation,
            kind=NoticeKind.REMINDER,
            customer=customer,
            payload={
                "invoice_ids": [bill.id for bill in bills],
                "steps": steps,
                "date": today.isoformat(),
            },
            dedupe_key=f"reminder:{customer_id}:{today.isoformat()}:{digest}",
            now=now,
        )
        session.flush()
        session.add_all(
            ReminderSent(
                invoice_id=reminder.invoice_id,
                step=reminder.step,
                notice_id=notice.id,
                created_at=now,
            )
            for reminder in reminders
        )
        queued += 1
    session.flush()
    return queued


def set_reminders_paused(session: Session, customer_ids: Iterable[int], paused: bool) -> int:
    """Stop or resume reminders for payers (a reply of "stop" / "berhenti"); returns the count.

    A step that comes while reminders are paused is not sent later on resume, except
    the latest one while it is still within the catch-up window.
    """
    ids = list(customer_ids)
    if not ids:
        return 0
    result = session.execute(
        update(Customer).where(col(Customer.id).in_(ids)).values(reminders_paused=paused)
    )
    for customer in session.identity_map.values():
        if isinstance(customer, Customer) and customer.id in ids:
            customer.reminders_paused = paused
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _when(context, invoice: Invoice, today: dt.date) -> str:  # type: ignore[no-untyped-def]
    days = (invoice.due_date - today).days
    if days > 0:
        return tr(context.language, "due in {days} days", days=days)
    if days == 0:
        return tr(context.language, "due today")
    return tr(context.language, "{days} days overdue", days=-days)


def _open_bills(session: Session, notice: Notice) -> list[Invoice]:
    """Return the bills a reminder lists that are still open, raising NoticeObsolete if none."""
    ids = [int(value) for value in notice.payload.get("invoice_ids", [])]
    bills = [
        bill
        for bill in (session.get(Invoice, invoice_id) for invoice_id in ids)
        if bill is not None and bill.status in OPEN_STATUSES
    ]
    if not bills:
        raise NoticeObsolete("every bill in this reminder is paid, voided or expired")
    return bills


def check_reminder_open(session: Session, notice: Notice) -> None:
    """Raise NoticeObsolete when every bill a reminder lists is paid, voided or expired."""
    _open_bills(session, notice)


def render_reminder(context):  # type: ignore[no-untyped-def]
    """Render one payer's reminder listing every bill still open when it is sent."""
    payload = context.notice.payload
    bills = _open_bills(context.session, context.notice)
    if payload.get("date"):
        today = dt.date.fromisoformat(payload["date"])
    else:
        today = context.notice.created_at.astimezone(
            ZoneInfo(context.organisation.timezone)
        ).date()
    accounts = dict(
        context.session.exec(
            select(VirtualAccount.invoice_id, VirtualAccount.number).where(
                col(VirtualAccount.invoice_id).in_([bill.id for bill in bills])
            )
        ).all()
    )
    total = sum(bill.total for bill in bills)
    values = {
        "name": context.notice.recipient_name,
        "organisation": context.organisation.name,
        "count": str(len(bills)),
        "total": format_rupiah(total),
        "first_due_date": context.date(bills[0].due_date),
    }
    subject = tr(context.language, "{organisation}: payment reminder", **values)
    short = tr(
        context.language,
        "{organisation}: {count} open bills, total {total}. First due date {first_due_date}.",
        **values,
    )
    lines = [
        tr(context.language, "Hello {name},", **values),
        tr(
            context.language,
            "This is a reminder from {organisation}. Your open bills ({count}):",
            **values,
        ),
    ]
    for bill in bills:
        lines.append(
            tr(
                context.language,
                "- {number} {what}: {amount}, {when}. Virtual Account {va}",
                number=bill.number,
                what=context.invoice_title(bill),
                amount=format_rupiah(bill.total),
                when=_when(context, bill, today),
                va=format_va(accounts.get(bill.id, "")),
            )
        )
    lines += [
        tr(context.language, "Total: {total}", **values),
        "",
        tr(context.language, "Pay each bill into its own Virtual Account number."),
    ]
    if context.channel in CHAT_CHANNELS:
        lines.append(tr(context.language, 'Reply "stop" to stop reminders.'))
    return subject, context.pick_text(short, "\n".join(lines)), values, ()
