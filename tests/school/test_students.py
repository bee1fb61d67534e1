"""Students and parents: linking, promotion at the end of a year, and archiving."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from billing.errors import PermissionDenied, UserError
from billing.invoices import InvoiceDraft, LineDraft, issue_invoices
from billing.school.students import (
    add_parent,
    add_student,
    archive_student,
    children_of,
    get_student,
    link_parent,
    list_students,
    parents_of_classes,
    payer_for,
    promote_classes,
)
from models import Customer, Invoice, InvoiceLine, Student, StudentGuardian
from tests.school.conftest import School, organisation_of, write


def test_sibling_parent_is_one_customer(school: School) -> None:
    with write() as session:
        organisation = organisation_of(session, school)
        again = add_parent(
            session,
            organisation,
            school.actors["admin"],
            name="Ibu Ani",
            phone="+62 813 0000 0001",
            email="ani@example.com",
        )
        children = [child.name for child in children_of(session, again.id)]
    assert again.id == school.parents["Ibu Ani"]
    assert again.email == "ani@example.com"
    assert children == ["Ani", "Bayu"]


def test_student_has_at_most_two_parents(school: School) -> None:
    with write() as session:
        organisation = organisation_of(session, school)
        third = add_parent(
            session, organisation, school.actors["admin"], name="Nenek", phone="081300000009"
        )
        bayu = session.get(Student, school.students["1002"])
        with pytest.raises(UserError) as raised:
            link_parent(session, organisation, school.actors["admin"], student=bayu, parent=third)
    assert raised.value.code == "school.guardians_full"


def test_first_parent_pays_until_changed(school: School) -> None:
    with write() as session:
        organisation = organisation_of(session, school)
        bayu = session.get(Student, school.students["1002"])
        first = payer_for(session, bayu)
        link_parent(
            session,
            organisation,
            school.actors["admin"],
            student=bayu,
            parent=session.get(Customer, school.parents["Mr Bayu"]),
            is_payer=True,
        )
        second = payer_for(session, bayu)
        payers = session.exec(
            select(StudentGuardian).where(
                StudentGuardian.student_id == bayu.id,
                StudentGuardian.is_payer == True,  # noqa: E712
            )
        ).all()
    assert first.name == "Ibu Ani"
    assert second.name == "Mr Bayu"
    assert len(payers) == 1


def test_duplicate_nis_rejected(school: School) -> None:
    with write() as session, pytest.raises(UserError) as raised:
        add_student(
            session,
            organisation_of(session, school),
            school.actors["admin"],
            nis="1001",
            name="Another",
            class_name="9A",
        )
    assert raised.value.code == "school.nis_taken"


def test_teacher_cannot_register_students(school: School) -> None:
    with write() as session, pytest.raises(PermissionDenied):
        add_student(
            session,
            organisation_of(session, school),
            school.actors["teacher"],
            nis="2001",
            name="Eka",
            class_name="7A",
        )


def _bill(session, organisation, student: Student, parent_id: int, number: str) -> Invoice:  # type: ignore[no-untyped-def]
    draft = InvoiceDraft(
        number=number,
        customer_name="",
        due_date=dt.date(2027, 1, 10),
        lines=[LineDraft("Uang Kegiatan", 1, 150000, 150000)],
        customer_id=parent_id,
        student_id=student.id,
    )
    return issue_invoices(session, organisation, [draft])[0].invoice


def test_promotion_moves_classes_without_chaining(school: School) -> None:
    with write() as session:
        organisation = organisation_of(session, school)
        result = promote_classes(
            session,
            organisation,
            school.actors["admin"],
            mapping={"7A": "8A", "7b": "8B"},
            graduating=["8A"],
        )
        classes = {s.nis: (s.class_name, s.active) for s in session.exec(select(Student)).all()}
    assert classes == {
        "1001": ("8A", True),
        "1002": ("8B", True),
        "1003": ("8A", False),
        "1004": ("8A", True),
    }
    assert result.moved == {"8A": 2, "8B": 1}
    assert result.archived == 1


def test_promotion_unknown_class(school: School) -> None:
    with write() as session, pytest.raises(UserError) as raised:
        promote_classes(
            session, organisation_of(session, school), school.actors["admin"], mapping={"6A": "7A"}
        )
    assert raised.value.code == "school.class_unknown"


def test_archiving_keeps_bills_and_links(school: School) -> None:
    with write() as session:
        organisation = organisation_of(session, school)
        citra = session.get(Student, school.students["1003"])
        invoice = _bill(session, organisation, citra, school.parents["Ibu Citra"], "KEG-1003")
        archive_student(session, organisation, school.actors["admin"], citra)
    with write() as session:
        organisation = organisation_of(session, school)
        citra = get_student(session, organisation, "1003")
        kept = session.get(Invoice, invoice.id)
        lines = session.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)).all()
        active = [s.nis for s in list_students(session, organisation, school.actors["admin"])]
        parents = parents_of_classes(session, organisation, ["8A"])
        all_children = children_of(session, school.parents["Ibu Citra"], include_archived=True)
    assert not citra.active
    assert citra.archived_at is not None
    assert kept is not None
    assert kept.student_id == citra.id
    assert len(lines) == 1
    assert "1003" not in active
    assert parents == []
    assert [child.nis for child in all_children] == ["1003"]


def test_sheet_spelled_class_matches(school: School) -> None:
    """Students imported from a sheet keep the class as typed ("7a"); it is the same class."""
    from billing.school.fees import add_recurring_fee, preview_recurring_run
    from billing.school.news import NewsContent, post_news

    with write() as session:
        organisation = organisation_of(session, school)
        eka = Student(organisation_id=organisation.id, nis="2001", name="Eka", class_name="7a")
        session.add(eka)
        session.flush()
        parent = add_parent(
            session, organisation, school.actors["admin"], name="Ibu Eka", phone="081300000005"
        )
        link_parent(session, organisation, school.actors["admin"], student=eka, parent=parent)
        _, notified = post_news(
            session,
            organisation,
            school.actors["teacher"],
            content=NewsContent(title_id="Rapat", text_id="Rapat kelas."),
            audience=["7A"],
        )
        add_recurring_fee(
            session,
            organisation,
            school.actors["finance"],
            component="SPP",
            amount=350000,
            day_of_month=10,
            classes=["7A"],
        )
        billed = [
            i.student.nis for i in preview_recurring_run(session, organisation, "2027-01").items
        ]
        in_class = [
            s.nis
            for s in list_students(session, organisation, school.actors["admin"], class_name="7A")
        ]
        promote_classes(session, organisation, school.actors["admin"], mapping={"7A": "8A"})
    assert notified == 2
    assert "2001" in billed
    assert "2001" in in_class
    assert eka.class_name == "8A"
