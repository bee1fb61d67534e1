"""Recurring monthly fees (SPP): one invoice per student and month, a line per component."""

from __future__ import annotations

import calendar as stdlib_calendar
import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_format_date
from sqlmodel import Session, col, select

from billing.errors import NotFound, UserError
from billing.invoices import (
    InvoiceDraft,
    IssuedInvoice,
    LineDraft,
    existing_invoice_numbers,
    invoice_number_key,
    issue_invoices,
)
from billing.notices import finance_staff, queue_notice
from billing.permissions import Action
from billing.reminders import is_quiet_hour, reminder_policy
from billing.school.actors import OPERATOR, Actor, class_key, clean_classes, require_school
from billing.school.calendar import shift_month
from billing.school.periods import check_run_period, local_today, run_period_problem
from billing.school.students import check_classes_exist, payer_for
from models import (
    Customer,
    Notice,
    NoticeKind,
    Organisation,
    OrgKind,
    RecurringFee,
    Student,
)

log = logging.getLogger(__name__)

PERIOD_PATTERN = re.compile(r"(\d{4})-(\d{2})")
MAX_COMPONENT = 200

# Days between the preview to finance and the month's run (organisation preference
# "recurring_fee_preview_days"). The maximum keeps a month's run inside that month.
DEFAULT_PREVIEW_LEAD_DAYS = 3
MAX_PREVIEW_LEAD_DAYS = 28
# Maximum number of students without a parent that the preview names. The rest are counted.
MAX_PREVIEW_NAMES = 20


@dataclass
class FeeRunItem:
    """One student's invoice in a run: new, already billed, or skipped for want of a payer."""

    student: Student
    payer: Customer | None
    number: str
    due_date: dt.date
    lines: list[tuple[str, int]] = field(default_factory=list)  # (description, rupiah)
    exists: bool = False

    @property
    def total(self) -> int:
        return sum(amount for _, amount in self.lines)


@dataclass
class FeeRunPreview:
    period: str
    items: list[FeeRunItem]

    @property
    def new(self) -> list[FeeRunItem]:
        return [item for item in self.items if not item.exists and item.payer is not None]

    @property
    def already_billed(self) -> list[FeeRunItem]:
        return [item for item in self.items if item.exists]

    @property
    def without_payer(self) -> list[FeeRunItem]:
        return [item for item in self.items if not item.exists and item.payer is None]

    @property
    def total(self) -> int:
        return sum(item.total for item in self.new)


@dataclass
class FeeRunResult:
    preview: FeeRunPreview
    issued: list[IssuedInvoice]


def parse_period(period: str) -> tuple[int, int]:
    match = PERIOD_PATTERN.fullmatch(period.strip())
    if match is None or not 1 <= int(match[2]) <= 12:
        raise UserError(
            "school.period_invalid",
            "The month {period} is invalid. Write it as YYYY-MM, for example 2027-01.",
            period=period,
        )
    return int(match[1]), int(match[2])


def add_recurring_fee(
    session: Session,
    organisation: Organisation,
    actor: Actor,
    *,
    component: str,
    amount: int,
    day_of_month: int,
    classes: list[str] | None = None,
) -> RecurringFee:
    """Add a monthly fee for the students of some classes (none given: the whole school)."""
    actor.require(Action.RECURRING_FEE_MANAGE)
    require_school(organisation)
    component = " ".join(component.split())
    if not component or len(component) > MAX_COMPONENT:
        raise UserError(
            "school.fee_component_invalid",
            "The fee needs a name of 1 to {max} characters, for example SPP.",
            max=MAX_COMPONENT,
        )
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise UserError(
            "school.fee_amount_invalid",
            "The amount {amount} is invalid: use whole rupiah above zero.",
            amount=str(amount),
        )
    if not 1 <= day_of_month <= 31:
        raise UserError(
            "school.fee_day_invalid",
            "The day of the month {day} is invalid: use 1 to 31.",
            day=day_of_month,
        )
    names = clean_classes(classes)
    check_classes_exist(session, organisation, names)

    fee = RecurringFee(
        organisation_id=organisation.id,
        component=component,
        amount=amount,
        day_of_month=day_of_month,
        classes=names,
    )
    session.add(fee)
    session.flush()
    return fee


def active_fees(session: Session, organisation: Organisation) -> list[RecurringFee]:
    return list(
        session.exec(
            select(RecurringFee)
            .where(
                RecurringFee.organisation_id == organisation.id,
                RecurringFee.active == True,  # noqa: E712
            )
            .order_by(RecurringFee.id)
        ).all()
    )


def list_recurring_fees(
    session: Session, organisation: Organisation, actor: Actor
) -> list[RecurringFee]:
    actor.require(Action.RECURRING_FEE_MANAGE)
    return active_fees(session, organisation)


def stop_recurring_fee(
    session: Session, organisation: Organisation, actor: Actor, fee_id: int
) -> RecurringFee:
    """Stop billing a fee from the next run on; invoices already issued stay."""
    actor.require(Action.RECURRING_FEE_MANAGE)
    fee = session.get(RecurringFee, fee_id)
    if fee is None or fee.organisation_id != organisation.id:
        raise NotFound("school.fee_not_found", "Recurring fee {id} was not found.", id=str(fee_id))
    fee.active = False
    session.flush()
    return fee


def fee_invoice_number(year: int, month: int, nis: str) -> str:
    """Return the run's invoice number for a student, e.g. SPP-2027-01-12345.

    The number is the same for every run of a month, so a second run finds it and creates
    nothing (invoice numbers are unique per organisation).
    """
    return f"SPP-{year:04d}-{month:02d}-{nis}"


def _due_date(year: int, month: int, day_of_month: int) -> dt.date:
    last = stdlib_calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(day_of_month, last))


def preview_recurring_run(
    session: Session, organisation: Organisation, period: str, *, actor: Actor = OPERATOR
) -> FeeRunPreview:
    """Work out a month's run without writing anything: who is billed what, and who is not."""
    actor.require(Action.RECURRING_FEE_MANAGE)
    require_school(organisation)
    year, month = parse_period(period)
    label = babel_format_date(
        dt.date(year, month, 1), format="MMMM y", locale=organisation.language
    )
    students = session.exec(
        select(Student)
        .where(Student.organisation_id == organisation.id, Student.active == True)  # noqa: E712
        .order_by(Student.class_name, Student.name)
    ).all()

    items: dict[int, FeeRunItem] = {}
    for fee in active_fees(session, organisation):
        for student in students:
            if fee.classes and class_key(student.class_name) not in fee.classes:
                continue
            due = _due_date(year, month, fee.day_of_month)
            item = items.get(student.id)
            if item is None:
                number = fee_invoice_number(year, month, student.nis)
                item = FeeRunItem(student, payer_for(session, student), number, due)
                items[student.id] = item
            item.due_date = min(item.due_date, due)
            item.lines.append((f"{fee.component} {label}", fee.amount))
    ordered = list(items.values())
    keys = [invoice_number_key(item.number) for item in ordered]
    existing = existing_invoice_numbers(session, organisation, keys)
    for item, key in zip(ordered, keys, strict=True):
        item.exists = key in existing
    return FeeRunPreview(period=f"{year:04d}-{month:02d}", items=ordered)


def run_recurring_fees(
    session: Session,
    organisation: Organisation,
    period: str,
    *,
    actor: Actor = OPERATOR,
    allow_past: bool = False,
    now: dt.datetime | None = None,
) -> FeeRunResult:
    """Issue the month's invoices that do not exist yet, each with its VA and notice.

    Running a month again creates nothing for students already billed. Students without a
    parent are left out and listed in the result's preview. Raises the UserError of
    periods.check_run_period, before anything is written, when a new invoice would be due
    before the school's date of `now` (default: the current time) and allow_past is False,
    or when the month is too far ahead.
    """
    # NOTE: a fee added after its month was run is not added to that month's invoices.
    # It starts with the next month, and the preview lists those students as billed.
    preview = preview_recurring_run(session, organisation, period, actor=actor)
    check_run_period(organisation, preview, allow_past=allow_past, now=now)
    drafts = [
        InvoiceDraft(
            number=item.number,
            customer_name=item.payer.name,
            due_date=item.due_date,
            lines=[LineDraft(name, 1, amount, amount) for name, amount in item.lines],
            description=", ".join(name for name, _ in item.lines),
            customer_id=item.payer.id,
            student_id=item.student.id,
        )
        for item in preview.new
        if item.payer is not None
    ]
    issued = issue_invoices(session, organisation, drafts) if drafts else []
    for fee in active_fees(session, organisation):
        fee.last_billed_period = max(fee.last_billed_period or "", preview.period)
    session.flush()
    return FeeRunResult(preview=preview, issued=issued)


# --- Scheduled runs and their preview -------------------------------------------------


@dataclass(frozen=True)
class FeeSchedule:
    """When a school's monthly runs and their previews happen, in the school's time zone.

    A month's run starts at `hour` on its 1st, and its preview goes to finance staff
    `lead` earlier. A preview queued late pushes the run back, so that finance always
    has the whole lead time. Neither happens during quiet hours, because a run sends
    bills to parents at once.
    """

    zone: ZoneInfo
    hour: int
    lead: dt.timedelta
    quiet_start: int
    quiet_end: int

    def month_start(self, year: int, month: int) -> dt.datetime:
        """Return the aware UTC moment of the run hour on the 1st of a month."""
        local = dt.datetime(year, month, 1, self.hour, tzinfo=self.zone)
        return local.astimezone(dt.UTC)

    def local_month(self, moment: dt.datetime) -> tuple[int, int]:
        local = moment.astimezone(self.zone)
        return local.year, local.month

    def is_quiet(self, moment: dt.datetime) -> bool:
        hour = moment.astimezone(self.zone).hour
        return is_quiet_hour(hour, self.quiet_start, self.quiet_end)


def fee_schedule(organisation: Organisation) -> FeeSchedule:
    """Read the preview lead time from the organisation's preferences.

    Runs and previews use the reminder hour (preference "reminder_hour", default 09:00),
    so bills reach parents at the hour reminders do.
    """
    days = int(
        organisation.preferences.get("recurring_fee_preview_days", DEFAULT_PREVIEW_LEAD_DAYS)
    )
    days = min(max(days, 0), MAX_PREVIEW_LEAD_DAYS)
    policy = reminder_policy(organisation)
    return FeeSchedule(
        zone=ZoneInfo(organisation.timezone),
        hour=policy.hour,
        lead=dt.timedelta(days=days),
        quiet_start=policy.quiet_start,
        quiet_end=policy.quiet_end,
    )


def _period(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def _has_unbilled_fee(fees: list[RecurringFee], period: str) -> bool:
    return any((fee.last_billed_period or "") < period for fee in fees)


def _preview_key_prefix(organisation: Organisation, period: str) -> str:
    """Return the dedupe key prefix of a school's preview notices for one month."""
    return f"fee_preview:{organisation.id}:{period}:"


def preview_queued_at(
    session: Session, organisation: Organisation, period: str
) -> dt.datetime | None:
    """Return when a month's preview was queued for the school, or None if it was not."""
    prefix = _preview_key_prefix(organisation, period)
    return session.exec(
        select(Notice.created_at)
        .where(
            Notice.organisation_id == organisation.id,
            Notice.kind == NoticeKind.FEE_PREVIEW,
            col(Notice.dedupe_key).startswith(prefix, autoescape=True),
        )
        .order_by(col(Notice.created_at))
        .limit(1)
    ).first()


def _lock_school(session: Session, organisation: Organisation) -> None:
    """Serialise scheduled fee work per school (a row lock on PostgreSQL).

    On SQLite the write session already holds the database's write lock.
    """
    session.exec(
        select(Organisation.id).where(Organisation.id == organisation.id).with_for_update()
    ).one()


def fee_preview_payload(preview: FeeRunPreview, run_date: dt.date) -> dict[str, Any]:
    """Return the figures a preview notice shows, stored with the notice when queued."""
    without_payer = preview.without_payer
    return {
        "period": preview.period,
        "run_date": run_date.isoformat(),
        "count": len(preview.new),
        "total": preview.total,
        "already_billed": len(preview.already_billed),
        "without_payer": len(without_payer),
        "without_payer_students": [
            {"name": item.student.name, "class": item.student.class_name}
            for item in without_payer[:MAX_PREVIEW_NAMES]
        ],
    }


def queue_fee_previews(session: Session, organisation: Organisation, *, now: dt.datetime) -> int:
    """Queue the preview of the next runs to finance staff and the super admin.

    A month is previewed once per school, from its lead time before the 1st. The current
    month is previewed late (a fee added mid-month) only while its run, a lead time
    later, still falls within that month. Returns the number of notices queued.
    """
    if organisation.kind != OrgKind.SCHOOL:
        return 0
    fees = active_fees(session, organisation)
    if not fees:
        return 0
    schedule = fee_schedule(organisation)
    if schedule.is_quiet(now):
        return 0
    current = schedule.local_month(now)
    months = [current, shift_month(*current, 1)]
    queued = 0
    for year, month in months:
        period = _period(year, month)
        month_start = schedule.month_start(year, month)
        if now < month_start - schedule.lead or not _has_unbilled_fee(fees, period):
            continue
        run_at = max(month_start, now + schedule.lead)
        if schedule.local_month(run_at) != (year, month):
            continue
        staff_members = finance_staff(session, organisation)
        if not staff_members:
            log.info("School %s has no finance staff to preview %s to", organisation.id, period)
            continue
        _lock_school(session, organisation)
        # NOTE: a fee added after its month's preview was queued is billed in that month
        # without a second preview, because each month is previewed once per school.
        if preview_queued_at(session, organisation, period) is not None:
            continue
        preview = preview_recurring_run(session, organisation, period)
        problem = run_period_problem(
            year,
            month,
            [item.due_date for item in preview.new],
            today=local_today(organisation, run_at),
        )
        if problem is not None:
            # A fee added after its due day this month starts with the next month.
            log.info(
                "School %s: %s is not previewed, because it is past due", organisation.id, period
            )
            continue
        payload = fee_preview_payload(preview, run_at.astimezone(schedule.zone).date())
        prefix = _preview_key_prefix(organisation, period)
        for staff in staff_members:
            queue_notice(
                session,
                organisation,
                kind=NoticeKind.FEE_PREVIEW,
                staff=staff,
                payload=payload,
                dedupe_key=f"{prefix}{staff.id}",
                now=now,
            )
            queued += 1
    session.flush()
    return queued


def run_due_recurring_fees(
    session: Session, organisation: Organisation, *, now: dt.datetime
) -> int:
    """Issue the current month's fees of a school, for the scheduler; return the count issued.

    The month is taken in the school's time zone. Nothing is billed before the run hour
    on the 1st, before the month's preview has been queued for its lead time, or during
    quiet hours. A repeated run issues nothing twice. A month whose new invoices would be
    due before the date of `now` is skipped, because they would be overdue at once. Staff
    can still bill it with `tagih school fees run --allow-past`.
    """
    if organisation.kind != OrgKind.SCHOOL:
        return 0
    schedule = fee_schedule(organisation)
    year, month = schedule.local_month(now)
    period = _period(year, month)
    fees = active_fees(session, organisation)
    if not _has_unbilled_fee(fees, period):
        return 0
    due_at = schedule.month_start(year, month)
    previewed_at = preview_queued_at(session, organisation, period)
    if previewed_at is not None:
        due_at = max(due_at, previewed_at + schedule.lead)
    elif finance_staff(session, organisation):
        return 0
    # NOTE: a school without finance staff or super admin gets no preview, so its run
    # starts on the 1st without one.
    if now < due_at or schedule.is_quiet(now):
        return 0
    _lock_school(session, organisation)
    try:
        result = run_recurring_fees(session, organisation, period, now=now)
    except UserError as problem:
        if problem.code != "school.period_past":
            raise
        _log_skipped_month(organisation, period, problem)
        return 0
    return len(result.issued)


def _log_skipped_month(organisation: Organisation, period: str, problem: UserError) -> None:
    # NOTE: the scheduler tries every 15 minutes, so a skipped month is logged on each
    # run until the month ends.
    log.warning(
        "Scheduled fee run of school %s skips %s: %s",
        organisation.id,
        period,
        problem.render("en"),
    )
