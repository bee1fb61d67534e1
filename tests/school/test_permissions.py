"""The permission table walked in full, and each school action checked per staff role."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlmodel import Session

from billing.errors import PermissionDenied
from billing.permissions import Action, Role, is_allowed, require
from billing.school.actors import Actor
from billing.school.calendar import EventInput, add_event, month_for_staff
from billing.school.fees import list_recurring_fees, preview_recurring_run
from billing.school.news import NewsContent, list_news, post_news
from billing.school.staff import list_staff
from billing.school.students import add_parent, list_students
from models import Organisation
from tests.school.conftest import School, organisation_of, write

A = Action
FINANCE = {
    A.TEMPLATE_DOWNLOAD,
    A.BILLS_UPLOAD,
    A.INVOICE_LOOKUP,
    A.INVOICE_VOID,
    A.REPORT_DOWNLOAD,
    A.PRODUCT_MANAGE,
    A.RECURRING_FEE_MANAGE,
    A.RECONCILE,
}
ADMIN = {
    A.TEMPLATE_DOWNLOAD,
    A.INVOICE_LOOKUP,
    A.CUSTOMER_MANAGE,
    A.STUDENT_MANAGE,
    A.PARENT_MANAGE,
    A.NEWS_POST,
    A.CALENDAR_EDIT,
    A.CALENDAR_READ_SCHOOL,
}
PAYER = {A.MY_BILLS, A.PAYMENT_HISTORY, A.RECEIPT_DOWNLOAD}
# What each role may do, written out from the product's role descriptions.
EXPECTED: dict[Role, set[Action]] = {
    Role.SUPER_ADMIN: FINANCE | ADMIN | {A.STAFF_MANAGE, A.SETTINGS_MANAGE},
    Role.FINANCE: FINANCE,
    Role.ADMIN: ADMIN,
    Role.TEACHER: {A.NEWS_POST, A.CALENDAR_EDIT, A.CALENDAR_READ_SCHOOL},
    Role.PARENT: PAYER | {A.NEWS_READ, A.CALENDAR_READ},
    Role.CUSTOMER: PAYER,
}
TABLE = [(role, action) for role in Role for action in Action]


@pytest.mark.parametrize(("role", "action"), TABLE, ids=[f"{r}-{a}" for r, a in TABLE])
def test_permission_table(role: Role, action: Action) -> None:
    expected = action in EXPECTED[role]
    assert is_allowed(role, action) is expected
    if expected:
        require(role, action)
    else:
        with pytest.raises(PermissionDenied):
            require(role, action)


@pytest.mark.parametrize("action", [A.NEWS_POST, A.CALENDAR_EDIT])
def test_teacher_class_scope(action: Action) -> None:
    require(Role.TEACHER, action, classes=["7A"], allowed_classes=["7A", "7B"])
    with pytest.raises(PermissionDenied):
        require(Role.TEACHER, action, classes=["7A", "8A"], allowed_classes=["7A"])
    with pytest.raises(PermissionDenied):
        require(Role.TEACHER, action, classes=[], allowed_classes=["7A"])
    require(Role.TEACHER, action, allowed_classes=["7A"])  # the menu entry only
    require(Role.ADMIN, action, classes=[], allowed_classes=[])


SchoolCall = Callable[[Session, Organisation, Actor], object]
CONTENT = NewsContent(title_id="Pengumuman", text_id="Isi pengumuman.")
SCHOOL_CALLS: dict[Action, SchoolCall] = {
    A.STAFF_MANAGE: lambda s, o, a: list_staff(s, o, a),
    A.STUDENT_MANAGE: lambda s, o, a: list_students(s, o, a),
    A.PARENT_MANAGE: lambda s, o, a: add_parent(s, o, a, name="Wali", phone="081399990000"),
    A.NEWS_POST: lambda s, o, a: post_news(s, o, a, content=CONTENT, audience=["7A"]),
    A.CALENDAR_EDIT: lambda s, o, a: add_event(
        s, o, a, EventInput("Rapat", "", dt.date(2027, 1, 5), audience=["7A"])
    ),
    A.CALENDAR_READ_SCHOOL: lambda s, o, a: month_for_staff(s, o, a, 2027, 1),
    A.RECURRING_FEE_MANAGE: lambda s, o, a: preview_recurring_run(s, o, "2027-01", actor=a),
}
STAFF_ROLES = ["super_admin", "finance", "admin", "teacher"]
CASES = [(role, action) for role in STAFF_ROLES for action in SCHOOL_CALLS]


@pytest.mark.parametrize(("role", "action"), CASES, ids=[f"{r}-{a}" for r, a in CASES])
def test_school_action_per_role(sqlite_school: School, role: str, action: Action) -> None:
    actor = sqlite_school.actors[role]
    with write() as session:
        organisation = organisation_of(session, sqlite_school)
        if action in EXPECTED[Role(role)]:
            SCHOOL_CALLS[action](session, organisation, actor)
        else:
            with pytest.raises(PermissionDenied):
                SCHOOL_CALLS[action](session, organisation, actor)


def test_staff_lists_follow_roles(sqlite_school: School) -> None:
    with write() as session:
        organisation = organisation_of(session, sqlite_school)
        list_news(session, organisation, sqlite_school.actors["teacher"])
        list_recurring_fees(session, organisation, sqlite_school.actors["finance"])
        with pytest.raises(PermissionDenied):
            list_news(session, organisation, sqlite_school.actors["finance"])
        with pytest.raises(PermissionDenied):
            list_recurring_fees(session, organisation, sqlite_school.actors["admin"])
