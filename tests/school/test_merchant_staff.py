"""Staff commands on a merchant: the roles both kinds have work, teachers and classes do not."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner, Result
from openpyxl import Workbook
from sqlmodel import select

from billing.errors import UserError
from billing.orgs import create_organisation, get_organisation
from billing.school.actors import OPERATOR
from billing.school.sheet import SheetRejected
from billing.school.staff import StaffInput, add_staff, change_staff, import_staff_sheet
from models import StaffUser
from models.db import session_scope
from tagih.cli.main import cli

ADMIN_PHONE = "0812-0000-0100"


@pytest.fixture
def merchant(database: str) -> None:
    with session_scope(write=True) as session:
        create_organisation(
            session,
            slug="toko-b",
            kind="invoice",
            name="Toko B",
            company_code="7702",
            admin_phone=ADMIN_PHONE,
        )


def _staff(*args: str, lang: str = "en") -> Result:
    return CliRunner().invoke(
        cli, ["--lang", lang, "school", "staff", *args, "--org", "toko-b", "--as", ADMIN_PHONE]
    )


def _staff_names() -> list[str]:
    with session_scope() as session:
        return sorted(s.name for s in session.exec(select(StaffUser)))


def test_merchant_staff_add_finance(merchant: None) -> None:
    result = _staff("add", "--name", "Pak Budi", "--role", "finance", "--phone", "0812-0000-0101")
    assert result.exit_code == 0, result.output
    assert "Pak Budi" in _staff_names()


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "Toko B is not a school"),
        ("id", "Toko B bukan sekolah"),
    ],
)
def test_merchant_staff_add_teacher_rejected(merchant: None, lang: str, expected: str) -> None:
    result = _staff(
        "add", "--name", "Pak Joko", "--role", "teacher", "--class", "7A",
        "--phone", "0812-0000-0102", lang=lang,
    )  # fmt: skip
    assert result.exit_code == 1
    assert expected in result.output
    assert "Pak Joko" not in _staff_names()


def test_merchant_staff_teacher_without_class(merchant: None) -> None:
    result = _staff("add", "--name", "Pak Joko", "--role", "guru", "--phone", "0812-0000-0102")
    assert result.exit_code == 1
    assert "Toko B is not a school" in result.output


def test_merchant_staff_classes_rejected(merchant: None) -> None:
    result = _staff(
        "add", "--name", "Bu Rina", "--role", "admin", "--class", "7A",
        "--phone", "0812-0000-0103",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "Toko B is not a school" in result.output


def test_merchant_staff_change_to_teacher(merchant: None) -> None:
    with session_scope(write=True) as session:
        organisation = get_organisation(session, "toko-b")
        staff = add_staff(
            session, organisation, OPERATOR, StaffInput("Bu Rina", "081200000103", "admin")
        )
        with pytest.raises(UserError) as raised:
            change_staff(
                session,
                organisation,
                OPERATOR,
                staff,
                StaffInput("Bu Rina", "081200000103", "teacher", classes=["7A"]),
            )
    assert raised.value.code == "school.not_a_school"


def test_merchant_staff_sheet_teacher_row(merchant: None) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Nama", "Peran", "No HP", "Kelas"])
    sheet.append(["Bu Rina", "admin", "081200000103", ""])
    sheet.append(["Pak Joko", "guru", "081200000102", "7A"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    with session_scope(write=True) as session, pytest.raises(SheetRejected) as raised:
        import_staff_sheet(
            session, get_organisation(session, "toko-b"), OPERATOR, buffer.getvalue()
        )
    problems = raised.value.result.problems
    assert [(p.row, p.column) for p in problems] == [(3, "role")]
    assert "Bu Rina" not in _staff_names()


def test_merchant_school_only_command_rejected(merchant: None) -> None:
    result = CliRunner().invoke(cli, ["school", "student", "list", "--org", "toko-b"])
    assert result.exit_code == 1
    assert "Toko B is not a school" in result.output


def test_staff_help_names_both_kinds() -> None:
    staff_help = CliRunner().invoke(cli, ["school", "staff", "add", "--help"]).output
    student_help = CliRunner().invoke(cli, ["school", "student", "list", "--help"]).output
    assert "Slug of the school or merchant." in staff_help
    assert "Slug of the school." in student_help
