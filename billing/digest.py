"""The daily digest for finance staff: paid today, outstanding, overdue, failed deliveries."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from billing.notices import finance_staff, queue_notice
from billing.reminders import is_quiet_hour
from locales import format_rupiah, tr
from models import (
    Invoice,
    InvoiceStatus,
    Notice,
    NoticeAttempt,
    NoticeKind,
    NoticeStatus,
    Organisation,
    Payment,
)
from tagih.settings import get_settings


def digest_figures(
    session: Session, organisation: Organisation, *, now: dt.datetime
) -> dict[str, int | str]:
    """Count and sum the organisation's bills for the local day that contains `now`."""
    zone = ZoneInfo(organisation.timezone)
    today = now.astimezone(zone).date()
    day_start = dt.datetime.combine(today, dt.time(0), tzinfo=zone).astimezone(dt.UTC)
    paid_count, paid_total = session.exec(
        select(func.count(Payment.id), func.coalesce(func.sum(Payment.amount), 0)).where(
            Payment.organisation_id == organisation.id,
            Payment.paid_at >= day_start,
            Payment.paid_at <= now,
        )
    ).one()
    figures: dict[str, int | str] = {
        "date": today.isoformat(),
        "paid_count": int(paid_count),
        "paid_total": int(paid_total),
    }
    for name, statuses in (
        ("open", (InvoiceStatus.ISSUED, InvoiceStatus.OVERDUE)),
        ("overdue", (InvoiceStatus.OVERDUE,)),
    ):
        count, total = session.exec(
            select(func.count(Invoice.id), func.coalesce(func.sum(Invoice.total), 0)).where(
                Invoice.organisation_id == organisation.id, col(Invoice.status).in_(statuses)
            )
        ).one()
        figures[f"{name}_count"] = int(count)
        figures[f"{name}_total"] = int(total)
    # A notice counts when it failed today: its last attempts were today, or it could not
    # be sent at all (no channel) and was queued today.
    failed = session.exec(
        select(func.count(func.distinct(Notice.id)))
        .outerjoin(NoticeAttempt, NoticeAttempt.notice_id == Notice.id)
        .where(
            Notice.organisation_id == organisation.id,
            Notice.status == NoticeStatus.FAILED,
            or_(NoticeAttempt.created_at >= day_start, Notice.created_at >= day_start),
        )
    ).one()
    figures["failed_count"] = int(failed)
    return figures


def queue_daily_digests(session: Session, organisation: Organisation, *, now: dt.datetime) -> int:
    """Queue today's digest for each finance staff member once the digest hour has come."""
    settings = get_settings()
    local = now.astimezone(ZoneInfo(organisation.timezone))
    hour = int(organisation.preferences.get("digest_hour", settings.digest_hour))
    if local.hour < hour:
        return 0
    if is_quiet_hour(local.hour, settings.quiet_hours_start, settings.quiet_hours_end):
        return 0
    staff_members = finance_staff(session, organisation)
    if not staff_members:
        return 0
    figures = digest_figures(session, organisation, now=now)
    queued = 0
    for staff in staff_members:
        key = f"digest:{staff.id}:{figures['date']}"
        notice = queue_notice(
            session,
            organisation,
            kind=NoticeKind.DIGEST,
            staff=staff,
            payload=figures,
            dedupe_key=key,
            now=now,
        )
        if notice.id is None:
            queued += 1
    session.flush()
    return queued


def render_digest(context):  # type: ignore[no-untyped-def]
    """Render the digest from the figures stored when it was queued."""
    figures = context.notice.payload
    values = {
        "organisation": context.organisation.name,
        "date": context.date(dt.date.fromisoformat(figures["date"])),
        "paid_count": str(figures["paid_count"]),
        "paid_total": format_rupiah(figures["paid_total"]),
        "open_count": str(figures["open_count"]),
        "open_total": format_rupiah(figures["open_total"]),
        "overdue_count": str(figures["overdue_count"]),
        "overdue_total": format_rupiah(figures["overdue_total"]),
        "failed_count": str(figures["failed_count"]),
    }
    subject = tr(context.language, "{organisation}: daily summary for {date}", **values)
    lines = [
        subject,
        tr(context.language, "Paid today: {paid_count} bills, {paid_total}", **values),
        tr(context.language, "Outstanding: {open_count} bills, {open_total}", **values),
        tr(context.language, "Overdue: {overdue_count} bills, {overdue_total}", **values),
        tr(context.language, "Failed deliveries: {failed_count}", **values),
    ]
    return subject, "\n".join(lines), values, ()
