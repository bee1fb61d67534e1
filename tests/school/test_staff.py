"""Staff management by the super admin, one by one and from a staff sheet."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from billing.errors import PermissionDenied, UserError
from billing.school.sheet import SheetRejected
from billing.school.staff import (
    StaffInput,
    add_staff,
    change_staff,
    find_staff,
    import_staff_sheet,
    list_staff,
    remove_staff,
)
from models import StaffRole, StaffUser
from tests.school.conftest import School, organisation_of, write


def test_add_staff_normalises_phone(school: School) -> None:
    with write() as session:
        organisation = organisation_of(session, school)
        staff = add_staff(
            session,
            organisation,
            school.actors["super_admin"],
            StaffInput("Bu Wati", "0813-1111-2222", "Keuangan", email="wati@example.com"),
        )
    assert staff.phone == "+6281311112222"
    assert staff.role == StaffRole.FINANCE
    assert staff.classes == []


def test_add_staff_rejects_duplicate_phone(school: School) -> None:
    with write() as session, pytest.raises(UserError) as raised:
        add_staff(
            session,
            organisation_of(session, school),
            school.actors["super_admin"],
            StaffInput("Someone", "+62 812-0000-0002", "admin"),
        )
    assert raised.value.code == "school.staff_exists"


@pytest.mark.parametrize(
    ("entry", "code"),
    [
        (StaffInput("X", "12345", "admin"), "school.phone_invalid"),
        (StaffInput("X", None, "admin"), "school.contact_missing"),
        (StaffInput("X", "081311110000", "janitor"), "school.role_invalid"),
        (StaffInput("X", "081311110000", "teacher"), "school.teacher_classes_missing"),
        (StaffInput("X", None, "admin", email="not-an-address"), "contact.email_invalid"),
        (StaffInput(" ", "081311110000", "admin"), "school.staff_name_missing"),
    ],
)
def test_add_staff_invalid_input(school: School, entry: StaffInput, code: str) -> None:
    with write() as session, pytest.raises(UserError) as raised:
        add_staff(session, organisation_of(session, school), school.actors["super_admin"], entry)
    assert raised.value.code == code


@pytest.mark.parametrize("role", ["finance", "admin", "teacher"])
def test_only_super_admin_manages_staff(school: School, role: str) -> None:
    with write() as session, pytest.raises(PermissionDenied):
        add_staff(
            session,
            organisation_of(session, school),
            school.actors[role],
            StaffInput("Bu Wati", "081311112222", "admin"),
        )


def test_change_teacher_classes(school: School) -> None:
    with write() as session:
        organisation = organisation_of(session, school)
        teacher = find_staff(session, organisation, "081200000004")
        change_staff(
            session,
            organisation,
            school.actors["super_admin"],
            teacher,
            StaffInput("Pak Joko", "081200000004", "teacher", classes=["7a", "7B", "7A"]),
        )
    assert teacher.classes == ["7A", "7B"]


def test_last_super_admin_stays(school: School) -> None:
    actor = school.actors["super_admin"]
    with write() as session:
        organisation = organisation_of(session, school)
        boss = session.get(StaffUser, actor.staff_id)
        with pytest.raises(UserError) as removing:
            remove_staff(session, organisation, actor, boss)
        with pytest.raises(UserError) as demoting:
            change_staff(
                session, organisation, actor, boss, StaffInput("Bu Sari", boss.phone, "admin")
            )
    assert removing.value.code == "school.last_super_admin"
    assert demoting.value.code == "school.last_super_admin"


def test_super_admin_removed_when_another_exists(school: School) -> None:
    actor = school.actors["super_admin"]
    with write() as session:
        organisation = organisation_of(session, school)
        add_staff(
            session, organisation, actor, StaffInput("Pak Kepala", "081311113333", "super admin")
        )
        remove_staff(session, organisation, actor, session.get(StaffUser, actor.staff_id))
        remaining = list_staff(session, organisation, actor)
    assert [s.name for s in remaining if s.role == StaffRole.SUPER_ADMIN] == ["Pak Kepala"]


def test_removed_staff_can_come_back(school: School) -> None:
    actor = school.actors["super_admin"]
    with write() as session:
        organisation = organisation_of(session, school)
        finance = find_staff(session, organisation, "081200000002")
        remove_staff(session, organisation, actor, finance)
        names = [s.name for s in list_staff(session, organisation, actor)]
        back = add_staff(
            session, organisation, actor, StaffInput("Pak Budi", "081200000002", "admin")
        )
    assert "Pak Budi" not in names
    assert back.id == finance.id
    assert back.active
    assert back.role == StaffRole.ADMIN


def _staff_sheet(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Daftar Staf SMP Harapan"])
    sheet.append([])
    sheet.append(["Nama", "No HP", "E-mail", "Peran", "Kelas"])
    for row in rows:
        sheet.append(row)
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def test_staff_sheet_adds_and_changes(school: School) -> None:
    content = _staff_sheet(
        [
            ["Bu Wati", 81311112222, "wati@example.com", "Guru", "8A, 8B"],
            ["Pak Budi", "0812-0000-0002", None, "Finance", None],
        ]
    )
    with write() as session:
        organisation = organisation_of(session, school)
        result = import_staff_sheet(session, organisation, school.actors["super_admin"], content)
        wati = find_staff(session, organisation, "081311112222")
    assert (result.created, result.updated) == (1, 1)
    assert wati.classes == ["8A", "8B"]
    assert wati.role == StaffRole.TEACHER


def test_staff_sheet_problem_saves_nothing(school: School) -> None:
    content = _staff_sheet(
        [
            ["Bu Wati", "081311112222", None, "admin", None],
            ["Bu Lina", "12", None, "admin", None],
            ["Pak Ahmad", "081311114444", None, "kepala", None],
        ]
    )
    with pytest.raises(SheetRejected) as raised, write() as session:
        import_staff_sheet(
            session, organisation_of(session, school), school.actors["super_admin"], content
        )
    problems = raised.value.result.problems
    assert [(p.row, p.column) for p in problems] == [(5, "phone"), (6, "role")]
    with write() as session:
        organisation = organisation_of(session, school)
        with pytest.raises(UserError):
            find_staff(session, organisation, "081311112222")


def test_staff_sheet_not_a_workbook(school: School) -> None:
    with write() as session, pytest.raises(UserError) as raised:
        import_staff_sheet(
            session, organisation_of(session, school), school.actors["super_admin"], b"a,b\n1,2\n"
        )
    assert raised.value.code == "sheet.file_format"
    assert "CSV" in raised.value.render("en")
