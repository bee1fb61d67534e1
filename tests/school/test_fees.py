"""Recurring monthly fees (SPP) and a parent's open bills per child."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from billing.errors import PermissionDenied, UserError
from billing.school.bills import open_bills_for_parent
from billing.school.fees import (
    add_recurring_fee,
    preview_recurring_run,
    queue_fee_previews,
    run_due_recurring_fees,
    run_recurring_fees,
)
from billing.school.students import add_student, archive_student
from models import Invoice, InvoiceLine, Notice, NoticeKind, RecurringFee, Student, VirtualAccount
from tests.school.conftest import School, organisation_of, write

# 15 January 2027 in Jakarta: every month these tests bill is still ahead of it.
NOW = dt.datetime(2027, 1, 15, 3, 0, tzinfo=dt.UTC)


def _add_fees(school: School) -> None:
    finance = school.actors["finance"]
    with write() as session:
        organisation = organisation_of(session, school)
        add_recurring_fee(
            session,
            organisation,
            finance,
            component="SPP",
            amount=350000,
            day_of_month=10,
            classes=["7A", "7B"],
        )
        add_recurring_fee(
            session,
            organisation,
            finance,
            component="SPP",
            amount=400000,
            day_of_month=10,
            classes=["8A"],
        )
        add_recurring_fee(
            session,
            organisation,
            finance,
            component="Uang Komputer",
            amount=50000,
            day_of_month=31,
        )


def test_preview_writes_nothing(school: School) -> None:
    _add_fees(school)
    with write() as session:
        organisation = organisation_of(session, school)
        preview = preview_recurring_run(session, organisation, "2027-02")
        invoices = session.exec(select(Invoice)).all()
    by_nis = {item.student.nis: item for item in preview.items}
    assert invoices == []
    assert by_nis["1001"].number == "SPP-2027-02-1001"
    assert by_nis["1001"].lines == [
        ("SPP Februari 2027", 350000),
        ("Uang Komputer Februari 2027", 50000),
    ]
    assert by_nis["1001"].due_date == dt.date(2027, 2, 10)
    assert by_nis["1003"].total == 450000
    assert [item.student.nis for item in preview.without_payer] == ["1004"]
    assert preview.total == 400000 + 400000 + 450000


def test_run_creates_invoices_once(school: School) -> None:
    _add_fees(school)
    with write() as session:
        organisation = organisation_of(session, school)
        first = run_recurring_fees(session, organisation, "2027-02", now=NOW)
    with write() as session:
        organisation = organisation_of(session, school)
        second = run_recurring_fees(session, organisation, "2027-02", now=NOW)
        invoices = session.exec(select(Invoice).order_by(Invoice.number)).all()
        lines = session.exec(select(InvoiceLine)).all()
        accounts = session.exec(select(VirtualAccount)).all()
        notices = session.exec(
            select(Notice).where(Notice.kind == NoticeKind.INVOICE_ISSUED)
        ).all()
        fees = session.exec(select(RecurringFee)).all()
    assert len(first.issued) == 3
    assert second.issued == []
    assert len(second.preview.already_billed) == 3
    assert [i.number for i in invoices] == [
        "SPP-2027-02-1001",
        "SPP-2027-02-1002",
        "SPP-2027-02-1003",
    ]
    assert len(lines) == 6
    assert len(accounts) == 3
    assert len(notices) == 3
    assert {fee.last_billed_period for fee in fees} == {"2027-02"}


def test_run_bills_each_sibling_to_payer(school: School) -> None:
    _add_fees(school)
    with write() as session:
        organisation = organisation_of(session, school)
        run_recurring_fees(session, organisation, "2027-02", now=NOW)
        invoices = session.exec(select(Invoice)).all()
    by_student = {i.student_id: i for i in invoices}
    ani, bayu = by_student[school.students["1001"]], by_student[school.students["1002"]]
    assert ani.customer_id == school.parents["Ibu Ani"]
    assert bayu.customer_id == school.parents["Ibu Ani"]
    assert ani.id != bayu.id
    assert ani.total == 400000


def test_run_skips_archived_students(school: School) -> None:
    _add_fees(school)
    with write() as session:
        organisation = organisation_of(session, school)
        archive_student(
            session,
            organisation,
            school.actors["admin"],
            session.get(Student, school.students["1003"]),
        )
        result = run_recurring_fees(session, organisation, "2027-03", now=NOW)
    assert {item.invoice.student_id for item in result.issued} == {
        school.students["1001"],
        school.students["1002"],
    }


def test_day_of_month_clamped(school: School) -> None:
    _add_fees(school)
    with write() as session:
        organisation = organisation_of(session, school)
        add_student(
            session, organisation, school.actors["admin"], nis="1005", name="Eka", class_name="9A"
        )
        preview = preview_recurring_run(session, organisation, "2027-02")
    eka = next(item for item in preview.items if item.student.nis == "1005")
    assert eka.due_date == dt.date(2027, 2, 28)
    assert eka.lines == [("Uang Komputer Februari 2027", 50000)]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"amount": 0}, "school.fee_amount_invalid"),
        ({"amount": 1500.5}, "school.fee_amount_invalid"),
        ({"day_of_month": 32}, "school.fee_day_invalid"),
        ({"component": " "}, "school.fee_component_invalid"),
        ({"classes": ["12Z"]}, "school.class_unknown"),
    ],
)
def test_fee_invalid_input(school: School, changes: dict, code: str) -> None:
    values = {"component": "SPP", "amount": 350000, "day_of_month": 10, "classes": ["7A"]}
    values.update(changes)
    with write() as session, pytest.raises(UserError) as raised:
        add_recurring_fee(
            session, organisation_of(session, school), school.actors["finance"], **values
        )
    assert raised.value.code == code


@pytest.mark.parametrize("period", ["2027-13", "2027-1", "Jan 2027"])
def test_period_invalid(school: School, period: str) -> None:
    with write() as session, pytest.raises(UserError) as raised:
        preview_recurring_run(session, organisation_of(session, school), period)
    assert raised.value.code == "school.period_invalid"


@pytest.mark.parametrize("role", ["admin", "teacher"])
def test_fees_need_finance(school: School, role: str) -> None:
    with write() as session:
        organisation = organisation_of(session, school)
        with pytest.raises(PermissionDenied):
            preview_recurring_run(session, organisation, "2027-02", actor=school.actors[role])
        with pytest.raises(PermissionDenied):
            run_recurring_fees(
                session, organisation, "2027-02", actor=school.actors[role], now=NOW
            )


def test_parent_bills_grouped_by_child(school: School) -> None:
    _add_fees(school)
    with write() as session:
        organisation = organisation_of(session, school)
        run_recurring_fees(session, organisation, "2027-02", now=NOW)
        run_recurring_fees(session, organisation, "2027-03", now=NOW)
        ani_bills = open_bills_for_parent(session, school.parents["Ibu Ani"])
        bayu_father = open_bills_for_parent(session, school.parents["Mr Bayu"])
        paid = session.exec(select(Invoice).where(Invoice.number == "SPP-2027-02-1001")).one()
        paid.status = "paid"
        session.flush()
        after_payment = open_bills_for_parent(session, school.parents["Ibu Ani"])
    assert [child.student.name for child in ani_bills.children] == ["Ani", "Bayu"]
    assert ani_bills.count == 4
    assert ani_bills.total == 4 * 400000
    assert [b.invoice.number for b in ani_bills.children[0].bills] == [
        "SPP-2027-02-1001",
        "SPP-2027-03-1001",
    ]
    assert ani_bills.children[0].bills[0].va_number.startswith("8808")
    assert len(ani_bills.children[0].bills[0].lines) == 2
    assert ani_bills.for_student(school.students["1002"]).total == 800000
    # The other parent sees the shared child's bills, but not the sibling's.
    assert [child.student.name for child in bayu_father.children] == ["Bayu"]
    assert bayu_father.count == 2
    assert after_payment.count == 3


def test_parent_bills_unknown_parent(school: School) -> None:
    with write() as session:
        assert open_bills_for_parent(session, 999999).children == []


def test_scheduled_run_bills_current_month_once(school: School) -> None:
    _add_fees(school)
    preview_time = dt.datetime(2027, 1, 29, 2, 0, tzinfo=dt.UTC)  # 09:00 in Jakarta
    night_utc = dt.datetime(2027, 1, 31, 18, 0, tzinfo=dt.UTC)  # 1 February, 01:00 in Jakarta
    run_time = dt.datetime(2027, 2, 1, 2, 0, tzinfo=dt.UTC)  # 1 February, 09:00 in Jakarta
    with write() as session:
        organisation = organisation_of(session, school)
        before_preview = run_due_recurring_fees(session, organisation, now=run_time)
        previews = queue_fee_previews(session, organisation, now=preview_time)
        at_night = run_due_recurring_fees(session, organisation, now=night_utc)
        first = run_due_recurring_fees(session, organisation, now=run_time)
        second = run_due_recurring_fees(session, organisation, now=run_time)
        numbers = sorted(i.number for i in session.exec(select(Invoice)).all())
    assert before_preview == 0
    assert previews == 2
    assert at_night == 0
    assert first == 3
    assert second == 0
    assert numbers[0] == "SPP-2027-02-1001"
