"""Recurring monthly fees (SPP): one invoice per student and month, a line per component."""

from __future__ import annotations

import calendar as stdlib_calendar
import datetime as dt
import re
from dataclasses import dataclass, field

from babel.dates import format_date as babel_format_date
from sqlmodel import Session, select

from billing.errors import NotFound, UserError
from billing.invoices import (
    InvoiceDraft,
    IssuedInvoice,
    LineDraft,
    existing_invoice_numbers,
    invoice_number_key,
    issue_invoices,
)
from billing.permissions import Action
from billing.school.actors import OPERATOR, Actor, class_key, clean_classes, require_school
from billing.school.calendar import this_month
from billing.school.students import check_classes_exist, payer_for
from models import Customer, Organisation, OrgKind, RecurringFee, Student

PERIOD_PATTERN = re.compile(r"(\d{4})-(\d{2})")
MAX_COMPONENT = 200


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
    session: Session, organisation: Organisation, period: str, *, actor: Actor = OPERATOR
) -> FeeRunResult:
    """Issue the month's invoices that do not exist yet, each with its VA and notice.

    Running a month again creates nothing for students already billed. Students without a
    parent are left out and listed in the result's preview.
    """
    # NOTE: a fee added after its month was run is not added to that month's invoices.
    # It starts with the next month, and the preview lists those students as billed.
    preview = preview_recurring_run(session, organisation, period, actor=actor)
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


def run_due_recurring_fees(
    session: Session, organisation: Organisation, *, now: dt.datetime
) -> int:
    """Issue the current month's fees of a school, for the scheduler; return the count issued.

    The month is taken in the school's time zone. Fees already billed for it are skipped
    without a query per student, and a repeated run issues nothing twice.
    """
    if organisation.kind != OrgKind.SCHOOL:
        return 0
    year, month = this_month(organisation, now)
    period = f"{year:04d}-{month:02d}"
    fees = active_fees(session, organisation)
    if not fees or all((fee.last_billed_period or "") >= period for fee in fees):
        return 0
    return len(run_recurring_fees(session, organisation, period).issued)
